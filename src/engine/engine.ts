/**
 * The model engine: everything the worker does with the base model, usable without a worker (the
 * comlink surface in src/worker/engineWorker.ts only forwards; the page calls it through
 * src/worker/engineClient.ts). This class holds the engine's state (the load, a lost device, the
 * session's lock, the warm-up, the adapter run) and its API, each call handed to the module that
 * does it:
 *
 * - src/engine/types.ts: the public types (options, results, stages, views);
 * - src/engine/session.ts: `init`'s model part (device, WebGPU else the honest WASM fallback with a
 *   notice, model + tokenizer with byte progress, the ONNX session, the registry), `release`, and
 *   the lock that runs one thing at a time;
 * - src/engine/generation.ts: `generate` / `generateIds`, streaming decoding with an adapter or the
 *   base model; `cancel` stops it before its next step;
 * - src/engine/adapters.ts: the adapter registry (`listAdapters`, `importAdapter` / `exportAdapter`
 *   as PEFT zips, `renameAdapter`, `removeAdapter`) and inspection (`adapterDetails`: norms of A, B
 *   and dW per layer and module; `adapterMatrices`: pooled A, B, dW of one module for heatmaps;
 *   `compareAdapters`: cosine similarity of two adapters' dW);
 * - src/engine/generator.ts: the parameter generator's load (WGSL, or without WebGPU its ONNX graphs
 *   on WebAssembly), `generatorInfo`, `encodePrompts` (P prompts -> the (P, L, C) condition from the
 *   session's `last_hidden_state`, exactly as trainer/generator/conditions.py), the warm-up after a
 *   WebAssembly load (`idle` waits for it);
 * - src/engine/adapterGeneration.ts: `generateAdapter` (encodePrompts + the generator),
 *   `generateAdapterFromCondition`, `generateAdapterFromExamples` (examples mode: P answered rows,
 *   sized by the validation gate), the sizing by a version-2 gate (an "answer" gate measures the
 *   answers first: the 'gate' stage), Cancel between stages and step-through
 *   (`cancelAdapterGeneration`, `continueAdapterGeneration`), and `measureAnswerFeatures` /
 *   `validationNll` on a registered adapter (for checks).
 */
import * as adapters from './adapters';
import { AdapterGeneration } from './adapterGeneration';
import { generateIds } from './generation';
import { WarmUp, conditionShape, encodeConditions, generatorInfo, loadGenerator } from './generator';
import { SessionLock, loadModelSession, releaseLoaded, type Loaded, type ReportInit } from './session';
import type {
  AdapterComparison, AdapterDetails, AdapterMatrixViews, AdapterSource, AdapterSummary, AnsweredRow, AnswerFeatureResult, AnswerSettings,
  ChatMessage, EncodedPrompts, EngineInfo, EngineInitOptions, GenerateAdapterOptions, GenerateAdapterStage, GeneratedAdapterSummary,
  GenerateOptions, GenerateResult, GeneratorInfo, InitProgress, Pooling, TokenEvent,
} from './types';
import type { ConditionTemplate } from '../model/encoder';
import { BusyError, EngineDeviceLostError, NotInitializedError } from '../model/errors';

export class Engine {
  private loaded?: Loaded;
  private lost?: EngineDeviceLostError;
  private initializing = false;
  /** The device of the current init; a loss of any other (released) device is ignored. */
  private device?: GPUDevice;
  /** One thing at a time on the session; its running call's cancel token. */
  private readonly lock = new SessionLock(() => this.lost);
  /** The warm-up after a WebAssembly load, which calls wait for. */
  private readonly warm = new WarmUp();
  private readonly adapterGeneration = new AdapterGeneration({
    ready: () => this.ready(),
    settled: () => this.warm.settled(),
    lock: this.lock,
    encodeTexts: (prompts, template) => this.encodeTexts(prompts, template),
  });

  /** Loads everything; a second call replaces the first (fresh device, session and registry). */
  async init(options: EngineInitOptions, onProgress?: (p: InitProgress) => void): Promise<EngineInfo> {
    if (this.initializing) throw new BusyError('Loading the model');
    this.initializing = true;
    const t0 = performance.now();
    try {
      await this.release();
      const report: ReportInit = (stage, message, bytes) => onProgress?.(bytes ? { stage, message, bytes } : { stage, message });
      const { model, tokenizer, registry, shape, info: engineInfo, files, device, backend } =
        await loadModelSession(options, report, t0, (d) => this.watchDevice(d));
      const tGenerator = performance.now();
      const generator = await loadGenerator(options, files, device, shape, engineInfo, report);
      engineInfo.loadedFiles = files.summary();
      this.loaded = { model, tokenizer, registry, shape, info: engineInfo, ...(generator ? { generator } : {}) };
      engineInfo.stagesMs.generator = performance.now() - tGenerator;
      if (generator && backend === 'wasm') this.warm.start(this.loaded);
      engineInfo.initMs = performance.now() - t0;
      report('ready', 'Ready');
      return { ...engineInfo };
    } finally {
      this.initializing = false;
    }
  }

  /** Remembers the device of this load and marks the engine lost when that device is. */
  private watchDevice(device: GPUDevice): void {
    this.device = device;
    void device.lost.then((info) => {
      // only the current device counts (release() forgets a device before destroying it)
      if (this.device === device) this.lost = new EngineDeviceLostError(info.message || info.reason || 'unknown reason');
    });
  }

  info(): EngineInfo {
    return { ...this.ready().info };
  }

  private ready(): Loaded {
    if (this.lost) throw this.lost;
    if (!this.loaded) throw new NotInitializedError();
    return this.loaded;
  }

  tokenize(text: string): number[] {
    return this.ready().tokenizer.encode(text);
  }

  detokenize(ids: number[], skipSpecial = false): string {
    return this.ready().tokenizer.decode(ids, skipSpecial);
  }

  chatIds(messages: ChatMessage[]): number[] {
    return this.ready().tokenizer.encodeChat(messages);
  }

  /** Generates from text (or a chat turn with `chat: true`), streaming tokens through `onToken`. */
  async generate(text: string, options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    const { tokenizer } = this.ready();
    const ids = options.chat ? tokenizer.encodeChat([{ role: 'user', content: text }]) : tokenizer.encode(text);
    return this.generateIds(ids, options, onToken);
  }

  /** Generates from prompt token ids (the fixtures' level): src/engine/generation.ts. */
  async generateIds(promptIds: number[], options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    await this.warm.settled();
    return generateIds(this.ready(), this.lock, promptIds, options, onToken);
  }

  /** Stops the running generation before its next step; true when one was running. */
  cancel(): boolean {
    return this.lock.cancel();
  }

  listAdapters(): AdapterSummary[] {
    return this.ready().registry.list();
  }

  /**
   * Imports a PEFT adapter: a zip of adapter_config.json + adapter_model.safetensors. `source`
   * 'generated' keeps the label of an adapter generated here, saved and imported again after a reload.
   */
  importAdapter(zip: Uint8Array, name: string, source: AdapterSource = 'imported'): AdapterSummary {
    return adapters.importAdapter(this.ready(), zip, name, source);
  }

  /** Imports a PEFT adapter from its two files. */
  importAdapterFiles(configJson: string, safetensors: Uint8Array, name: string): AdapterSummary {
    return adapters.importAdapterFiles(this.ready(), configJson, safetensors, name);
  }

  /** The adapter as a PEFT zip (adapter_config.json + adapter_model.safetensors). */
  exportAdapter(id: string): Uint8Array {
    return adapters.exportAdapter(this.ready(), id);
  }

  removeAdapter(id: string): void {
    this.ready().registry.remove(id);
  }

  renameAdapter(id: string, name: string): AdapterSummary {
    return adapters.renameAdapter(this.ready(), id, name);
  }

  /** Frobenius norms of A, B and dW = scale · B·A for every layer and target module of the model. */
  adapterDetails(id: string): AdapterDetails {
    return adapters.adapterDetails(this.ready(), id);
  }

  /** A, B and dW of one layer and module pooled to at most 64 x 64 cells ('max-abs' or 'mean'). */
  adapterMatrices(id: string, layer: number, module: string, pooling: Pooling = 'max-abs'): AdapterMatrixViews {
    return adapters.adapterMatrices(this.ready(), id, layer, module, pooling);
  }

  /** Cosine similarity of two adapters' dW per layer and module, per layer and overall (ranks may differ). */
  compareAdapters(firstId: string, secondId: string): AdapterComparison {
    return adapters.compareAdapters(this.ready(), firstId, secondId);
  }

  /** The loaded generator's prompt count and decoder blocks (for explaining the stages); null without one. */
  generatorInfo(): GeneratorInfo | null {
    return generatorInfo(this.ready());
  }

  /**
   * Prompts -> the generator's (P, L, C) float32 condition, exactly as trainer/generator/conditions.py makes it
   * for training: each prompt's text alone (or in the manifest's "chat" template), tokenized without special tokens, the first L ids
   * (window "head") or the last W (window "tail", version 2), the final-norm hidden states of the base model (the session's
   * last_hidden_state) of its last min(n, L) ids, zero rows after them.
   * Exactly P prompts are used: with more, the first P in the given order (sample first for a random
   * subset: the UI uses src/prompts samplePrompts); with fewer, a `bad-request` saying how many.
   */
  async encodePrompts(prompts: string[]): Promise<EncodedPrompts> {
    return this.encodeTexts(prompts);
  }

  /** `encodePrompts` of texts already rendered by a template (examples mode's "chat-answer" rows: template "plain"). */
  private async encodeTexts(prompts: string[], template?: ConditionTemplate): Promise<EncodedPrompts> {
    await this.warm.settled();
    const loaded = this.ready();
    const shape = conditionShape(loaded, template);
    return this.lock.whileBusy(null, () => encodeConditions(loaded, prompts, shape));
  }

  /**
   * Resolves once the engine has no background work left (the warm-up after a WebAssembly load),
   * without cutting that work short as a waiting call does.
   */
  async idle(): Promise<void> {
    await this.warm.idle();
  }

  /**
   * A LoRA generated from P prompts (name default 'generated'): `encodePrompts` + the generator.
   * Cancelling while the prompts are encoded takes effect when the encoder returns (one ORT run).
   */
  async generateAdapter(
    prompts: string[], name?: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return this.adapterGeneration.generateAdapter(prompts, name, onStage, options);
  }

  /**
   * Examples mode: a LoRA generated from P answered rows (`condition`: the first P are used), sized
   * by the validation gate on `validation` (rows not in the condition; empty: the condition's own
   * rows, an optimistic choice the result says it made). Needs a generator whose manifest has `examples`.
   */
  async generateAdapterFromExamples(
    condition: AnsweredRow[], validation: AnsweredRow[], name?: string, onStage?: (s: GenerateAdapterStage) => void,
    options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return this.adapterGeneration.generateAdapterFromExamples(condition, validation, name, onStage, options);
  }

  /**
   * A LoRA generated from a condition (B = 1, the manifest's (P, L, C) as float32), registered as
   * an adapter whose inputs stay on the GPU; stages stream back through `onStage`.
   */
  async generateAdapterFromCondition(
    condition: Float32Array, name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<GeneratedAdapterSummary> {
    return this.adapterGeneration.generateAdapterFromCondition(condition, name, onStage, options);
  }

  /** Stops the running adapter generation before its next stage; true when one was running. Nothing is registered. */
  cancelAdapterGeneration(): boolean {
    return this.adapterGeneration.cancelAdapterGeneration();
  }

  /**
   * Step-through: lets a run paused after a decoder block go on, to the next block's pause ('next')
   * or without further pauses ('to-end'). False when no run is paused.
   */
  continueAdapterGeneration(mode: 'next' | 'to-end' = 'next'): boolean {
    return this.adapterGeneration.continueAdapterGeneration(mode);
  }

  /** The "answer" gate feature of a registered adapter (null: the base model) on `prompts`. */
  async measureAnswerFeatures(prompts: string[], adapter: string | null, settings?: AnswerSettings): Promise<AnswerFeatureResult> {
    return this.adapterGeneration.measureAnswerFeatures(prompts, adapter, settings);
  }

  /** The validation gate's mean response NLL of a registered adapter at each scale of `grid`. */
  async validationNll(rows: AnsweredRow[], adapter: string, grid: number[]): Promise<{ nll: number[]; tokens: number }> {
    return this.adapterGeneration.validationNll(rows, adapter, grid);
  }

  /** Test hook: destroys the GPU device as a driver reset would lose it. */
  debugLoseDevice(): boolean {
    const device = this.loaded?.model.device;
    if (!device) return false;
    device.destroy();
    return true;
  }

  get deviceLost(): boolean {
    return this.lost !== undefined;
  }

  async release(): Promise<void> {
    await this.warm.settled();
    const loaded = this.loaded;
    this.loaded = undefined;
    const device = this.device;
    this.device = undefined;
    this.lost = undefined;
    if (!loaded) {
      device?.destroy();
      return;
    }
    await releaseLoaded(loaded);
  }
}
