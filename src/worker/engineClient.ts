/**
 * Page side of the model engine worker: the one typed API the UI calls. Failures come back as
 * {@link EngineError}s with the worker's code and message. Progress and tokens stream through
 * `Comlink.proxy` callbacks.
 *
 * Device loss and crashes: when the GPU device was lost (or the worker died), the next `init`
 * starts a fresh worker, so onnxruntime-web and the WGSL kernels start over on a new device; the
 * adapter registry is per worker and starts empty again. A crash (an uncaught error in the worker)
 * ends the worker at once, fails every pending and later call with `worker-crashed`, and is told to
 * `onCrash` listeners, so the page can say so instead of waiting forever.
 */
import * as Comlink from 'comlink';
import type { ResourceSize } from '../model/downloadTally';
import { EngineError, EngineWorkerCrashedError } from '../model/errors';
import type {
  AdapterComparison, AdapterDetails, AdapterMatrixViews, AdapterSource, AdapterSummary, AnsweredRow, AnswerFeatureResult, AnswerSettings,
  EncodedPrompts, EngineInfo, EngineInitOptions, GenerateAdapterOptions, GenerateAdapterStage, GeneratedAdapterSummary, GenerateOptions,
  GenerateResult, GeneratorInfo, InitProgress, Pooling, TokenEvent,
} from '../engine/types';
import type { EngineWorkerApi, Outcome } from './engineWorker';

export type {
  AdapterComparison, AdapterDetails, AdapterMatrixViews, LayerSimilarity, ModuleNorms, ModuleSimilarity, PooledMatrix, Pooling, Similarity,
} from '../engine/types';

export type {
  AdapterSource, AdapterSummary, AnsweredRow, AnswerFeatureResult, AnswerSettings, Backend, BackendChoice, ConditionMode, EncodedPrompts, ValidationGateResult, GateResult, GenerateAdapterOptions, GenerateAdapterStage, GeneratedAdapterSummary,
  GeneratorBlock, GeneratorInfo, EngineInfo, EngineInitOptions, GenerateOptions, GenerateResult, InitProgress, TokenEvent, LoadedFile,
  LoadSummary, ModelManifest,
} from '../engine/types';
export { EngineError } from '../model/errors';

export function createEngineWorker(): Worker {
  return new Worker(new URL('./engineWorker.ts', import.meta.url), { type: 'module', name: 'model-engine' });
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new EngineError(outcome.error.code, outcome.error.message);
}

/** Every call on the remote also fails once the worker crashed (comlink alone would wait forever). */
function failOnCrash<T extends object>(remote: T, crashed: Promise<never>): T {
  return new Proxy(remote, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => Promise.race([(member as (...a: unknown[]) => Promise<unknown>)(...args), crashed]);
    },
  });
}

export class EngineClient {
  private worker!: Worker;
  private remote!: Comlink.Remote<EngineWorkerApi>;
  private crashed = false;
  private started = false;

  constructor(private readonly createWorker: () => Worker = createEngineWorker) {
    this.start();
  }

  private readonly crashListeners = new Set<(error: EngineWorkerCrashedError) => void>();

  private start(): void {
    this.worker = this.createWorker();
    this.crashed = false;
    this.started = false;
    const current = this.worker;
    let crash: (error: EngineWorkerCrashedError) => void = () => undefined;
    const crashedCall = new Promise<never>((_, reject) => {
      crash = reject;
    });
    crashedCall.catch(() => undefined); // seen through the calls only
    this.remote = failOnCrash(Comlink.wrap<EngineWorkerApi>(current), crashedCall);
    current.addEventListener('error', (event) => {
      event.preventDefault();
      if (current !== this.worker || this.crashed) return;
      this.crashed = true;
      // After an uncaught error the worker's state is unknown: end it, so nothing half-done goes on.
      current.terminate();
      const error = new EngineWorkerCrashedError(event.message || 'an uncaught error in the model worker');
      crash(error);
      for (const listener of this.crashListeners) listener(error);
    });
  }

  /** Told when the worker crashed (it is already ended; the next `init` starts a fresh one). */
  onCrash(listener: (error: EngineWorkerCrashedError) => void): () => void {
    this.crashListeners.add(listener);
    return () => {
      this.crashListeners.delete(listener);
    };
  }

  /** Ends the worker and starts a fresh one (pending calls never settle; used after a crash). */
  restart(): void {
    this.worker.terminate();
    this.start();
  }

  async init(options: EngineInitOptions, onProgress?: (p: InitProgress) => void): Promise<EngineInfo> {
    // A worker whose device was lost, that crashed, or that was initialised before starts over.
    if (this.crashed || (this.started && (await this.remote.deviceLost()))) this.restart();
    this.started = true;
    return unwrap(await this.remote.init(options, onProgress ? Comlink.proxy(onProgress) : undefined));
  }

  async info(): Promise<EngineInfo> {
    return unwrap(await this.remote.info());
  }

  /** The worker's downloads so far (sizes per response), to add to the page's own. */
  downloads(): Promise<ResourceSize[]> {
    return this.remote.downloads();
  }

  /** Resolves once the engine has no background work left (the warm-up after a WebAssembly load). */
  async idle(): Promise<void> {
    unwrap(await this.remote.idle());
  }

  async tokenize(text: string): Promise<number[]> {
    return unwrap(await this.remote.tokenize(text));
  }

  async detokenize(ids: number[], skipSpecial = false): Promise<string> {
    return unwrap(await this.remote.detokenize(ids, skipSpecial));
  }

  async generate(text: string, options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    return unwrap(await this.remote.generate(text, options, onToken ? Comlink.proxy(onToken) : undefined));
  }

  async generateIds(ids: number[], options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    return unwrap(await this.remote.generateIds(ids, options, onToken ? Comlink.proxy(onToken) : undefined));
  }

  /** Stops the running generation before its next step. */
  cancel(): Promise<boolean> {
    return this.remote.cancel().catch(() => false);
  }

  async listAdapters(): Promise<AdapterSummary[]> {
    return unwrap(await this.remote.listAdapters());
  }

  /** Imports a PEFT adapter zip (adapter_config.json + adapter_model.safetensors); `source` labels it (default 'imported'). */
  async importAdapter(zip: Uint8Array, name: string, source?: AdapterSource): Promise<AdapterSummary> {
    return unwrap(await this.remote.importAdapter(zip, name, source));
  }

  async importAdapterFiles(configJson: string, safetensors: Uint8Array, name: string): Promise<AdapterSummary> {
    return unwrap(await this.remote.importAdapterFiles(configJson, safetensors, name));
  }

  /** The adapter as a PEFT zip. */
  async exportAdapter(id: string): Promise<Uint8Array> {
    return unwrap(await this.remote.exportAdapter(id));
  }

  async removeAdapter(id: string): Promise<void> {
    unwrap(await this.remote.removeAdapter(id));
  }

  async renameAdapter(id: string, name: string): Promise<AdapterSummary> {
    return unwrap(await this.remote.renameAdapter(id, name));
  }

  /** The loaded generator's P and decoder blocks; null when none is loaded. */
  async generatorInfo(): Promise<GeneratorInfo | null> {
    return unwrap(await this.remote.generatorInfo());
  }

  /** Norms of A, B and dW = scale · B·A per layer and module (Engine.adapterDetails). */
  async adapterDetails(id: string): Promise<AdapterDetails> {
    return unwrap(await this.remote.adapterDetails(id));
  }

  /** A, B and dW of one layer and module pooled to at most 64 x 64 cells, for heatmaps. */
  async adapterMatrices(id: string, layer: number, module: string, pooling: Pooling = 'max-abs'): Promise<AdapterMatrixViews> {
    return unwrap(await this.remote.adapterMatrices(id, layer, module, pooling));
  }

  /** Cosine similarity of two adapters' dW per layer and module, per layer and overall. */
  async compareAdapters(firstId: string, secondId: string): Promise<AdapterComparison> {
    return unwrap(await this.remote.compareAdapters(firstId, secondId));
  }

  /** P prompts -> the generator's (P, L, C) condition and the token ids used (Engine.encodePrompts). */
  async encodePrompts(prompts: string[]): Promise<EncodedPrompts> {
    return unwrap(await this.remote.encodePrompts(prompts));
  }

  /**
   * A LoRA generated from P prompts (encode + generator); stages stream through `onStage`. A
   * cancelled run fails with code 'cancelled' and registers nothing.
   */
  async generateAdapter(
    prompts: string[], name = 'generated', onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return unwrap(await this.remote.generateAdapter(prompts, name, onStage ? Comlink.proxy(onStage) : undefined, options));
  }

  /** Generates an adapter from a precomputed condition; stages stream through `onStage`. */
  async generateAdapterFromCondition(
    condition: Float32Array, name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return unwrap(await this.remote.generateAdapterFromCondition(condition, name, onStage ? Comlink.proxy(onStage) : undefined, options));
  }

  /**
   * Examples mode: a LoRA generated from P answered rows, sized by the validation gate on `validation`
   * (answered rows not in the condition; empty: the condition's own rows, optimistic).
   */
  async generateAdapterFromExamples(
    condition: AnsweredRow[], validation: AnsweredRow[], name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return unwrap(await this.remote.generateAdapterFromExamples(condition, validation, name, onStage ? Comlink.proxy(onStage) : undefined, options));
  }

  /** The answer gate's feature of a registered adapter (null: the base model) on `prompts`. */
  async measureAnswerFeatures(prompts: string[], adapter: string | null, settings?: AnswerSettings): Promise<AnswerFeatureResult> {
    return unwrap(await this.remote.measureAnswerFeatures(prompts, adapter, settings));
  }

  /** The validation gate's mean response NLL of a registered adapter at each scale of `grid`. */
  async validationNll(rows: AnsweredRow[], adapter: string, grid: number[]): Promise<{ nll: number[]; tokens: number }> {
    return unwrap(await this.remote.validationNll(rows, adapter, grid));
  }

  /** Stops the running adapter generation before its next stage (nothing is registered). */
  cancelAdapterGeneration(): Promise<boolean> {
    return this.remote.cancelAdapterGeneration();
  }

  /** Step-through: goes on after a paused block, to the next pause or to the end. */
  continueAdapterGeneration(mode: 'next' | 'to-end' = 'next'): Promise<boolean> {
    return this.remote.continueAdapterGeneration(mode);
  }

  /** Test hook: destroys the worker's GPU device. */
  debugLoseDevice(): Promise<boolean> {
    return this.remote.debugLoseDevice();
  }

  /** Test hook: the worker throws an uncaught error, as a crash would. */
  debugCrash(): Promise<boolean> {
    return this.remote.debugCrash();
  }

  dispose(): void {
    this.worker.terminate();
  }
}
