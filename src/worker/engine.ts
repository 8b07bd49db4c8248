/**
 * The model engine: everything the worker does with the base model, usable without a worker (the
 * comlink surface in engineWorker.ts only forwards). One typed API for the UI:
 *
 * - `init`: device (WebGPU, else the honest WASM fallback with a notice), model + tokenizer with
 *   byte progress, the ONNX session; a generator when one is configured;
 * - `generate` / `generateIds`: streaming decoding with an adapter or the base model;
 * - `cancel`: the running generation stops before its next step;
 * - the adapter registry: `listAdapters`, `importAdapter` (PEFT zip), `exportAdapter` (PEFT zip),
 *   `removeAdapter`;
 * - inspection (src/model/adapterStats.ts): `adapterDetails` (norms of A, B and dW per layer and
 *   module), `adapterMatrices` (pooled A, B, dW of one module for heatmaps), `compareAdapters`
 *   (cosine similarity of two adapters' dW per module, per layer and overall).
 * - `encodePrompts`: P prompts -> the generator's (P, L, C) condition from the model session's
 *   `last_hidden_state` output, exactly as trainer/generator/conditions.py (src/model/encoder.ts);
 * - `generateAdapter`: encodePrompts + `generateAdapterFromCondition`; needs a configured generator.
 *   With a version-2 generator's gate (src/generator/gate.ts) the adapter is applied at the gate's
 *   strength g, reported with the result and the 'apply' stage event; an "answer" gate first measures
 *   how the base model and the adapter answer the prompts (the 'gate' stage, src/model/answerFeatures.ts).
 *   A run can be cancelled between stages (`cancelAdapterGeneration`: nothing is registered) and,
 *   in step-through mode, pauses after each decoder block until `continueAdapterGeneration`.
 * - `generateAdapterFromExamples` (examples mode, a generator whose manifest has `examples`): the
 *   condition is P answered rows in the "chat-answer" template, and the adapter is sized by the
 *   validation gate on other answered rows (the 'gate' stage, src/model/validationGate.ts).
 * - `measureAnswerFeatures`, `validationNll`: those two measurements on a registered adapter (for checks).
 */
import {
  AdapterRegistry, loraShapeOf, parsePeftAdapter, parsePeftZip, zipPeftAdapter,
  type AdapterSource, type AdapterSummary, type LoraShape,
} from '../model/adapters';
import {
  BadRequestError, BusyError, CancelledError, EncoderMissingError, EngineDeviceLostError, GeneratorMissingError, NotInitializedError, describeError,
} from '../model/errors';
import {
  DEFAULT_MAX_TOKENS, DEFAULT_PROMPT_COUNT, EMPTY_PROMPT_TOKEN, encodeIds, encodePrompts as encodeWith, idWindow,
  type ConditionShape, type ConditionTemplate, type EncodedPrompts,
} from '../model/encoder';
import {
  HEATMAP_SIDE, adapterNorms, compareDeltas, loraPair, poolDelta, poolMatrix,
  type DeltaComparison, type ModuleNorms, type PooledMatrix, type Pooling,
} from '../model/adapterStats';
import { decideBackend, wasmNotice, type BackendChoice } from '../model/backendChoice';
import { applyGate, attachCpuRuntime, createGenerator, generateOnCpu, generateOnGpu, type GeneratorHandle } from '../model/generatedAdapter';
import { wasmGraphSession } from '../model/generatorSessions';
import type { GateResult } from '../generator/gate';
import { sizeAdapter, sizingRunsModel, type SizingRequest } from '../model/adapterSizing';
import { measureAnswerFeatures as measureAnswers, type AnswerFeatureResult, type AnswerSettings } from '../model/answerFeatures';
import { MAX_PROMPT_TOKENS } from '../evaluate/scoring';
import { scoringRow, validationNll as scoreValidation, type AnsweredRow, type ValidationGateResult } from '../model/validationGate';
import { chatAnswerText } from '../prompts/answered';
import type { Heatmap } from '../generator/runtime';
import { decode, nextMacrotask, type CancelToken, type StopReason } from '../model/generate';
import type { SamplingOptions } from '../model/sampling';
import { FileLoader, type LoadSummary } from '../model/fileLoader';
import { chooseGraph, type GraphName, type GraphsInfo } from '../model/graphs';
import { hiddenStatesRun } from '../model/hiddenStates';
import type { ByteProgress } from '../model/modelCache';
import type { ModelManifest } from '../model/modelFiles';
import { configureOrt, createModelSession, type Backend, type ModelSession } from '../model/session';
import { tokenizerFromFiles, type ChatMessage, type Tokenizer } from '../model/tokenizer';

export type { AdapterSource, AdapterSummary } from '../model/adapters';
export type { EncodedPrompts } from '../model/encoder';
export type { GateResult } from '../generator/gate';
export type { AnswerFeatureResult, AnswerSettings } from '../model/answerFeatures';
export type { AnsweredRow, ValidationGateResult } from '../model/validationGate';
export type { ChatMessage } from '../model/tokenizer';
export type {
  DeltaComparison, LayerSimilarity, ModuleNorms, ModuleSimilarity, PooledMatrix, Pooling, Similarity,
} from '../model/adapterStats';
export type { SamplingOptions } from '../model/sampling';
export type { StopReason } from '../model/generate';
export type { Backend } from '../model/session';
export type { BackendChoice } from '../model/backendChoice';
export type { ByteProgress } from '../model/modelCache';
export type { LoadedFile, LoadSummary } from '../model/fileLoader';
export type { ModelManifest } from '../model/modelFiles';
export type { GraphName } from '../model/graphs';

export interface EngineInitOptions {
  /** URL of the folder that holds the model folder, e.g. `new URL('models/', document.baseURI).href`. */
  modelsUrl: string;
  /** The model folder (default `base`): graphs.json, the web graphs, model.safetensors, tokenizer files. */
  modelId?: string;
  /**
   * `auto` (default): WebGPU when the browser has a hardware adapter, else WASM (a software adapter
   * such as SwiftShader counts as none: src/model/backendChoice.ts). `webgpu` fails without an adapter.
   */
  backend?: BackendChoice;
  /**
   * `lora` (default): decoder_lora*.onnx, one session for the base model (zero LoRA inputs), every
   * adapter and the prompt encoder. `base`: decoder*.onnx without LoRA inputs (base model only; the
   * decode benchmark measures the LoRA inputs' own cost with it).
   */
  graph?: 'lora' | 'base';
  /** false: the fp32-compute graph even where the WebGPU device has shader-f16 (default true). */
  f16?: boolean;
  /** The model files' sizes and hashes (src/model/modelFiles.ts): those files are kept in Cache Storage. */
  manifest?: ModelManifest;
  /** false: download every file, never read or fill the cache (default true). */
  cache?: boolean;
  /** onnxruntime-web WASM threads (default: the cores up to 4 when cross-origin isolated, else 1). */
  wasmThreads?: number;
  /** A trained parameter generator (generator.json + generator.safetensors); none by default. */
  generator?: { manifestUrl: string; weightsUrl: string } | null;
  /**
   * true: a generator that cannot be fetched or used leaves the base model working, with
   * `generator: 'unavailable'` and the reason in `generatorError` (the app's choice). false
   * (default): the failure fails `init`.
   */
  generatorOptional?: boolean;
  /**
   * Without WebGPU, how the generator runs: 'wasm' (default) its layers as ONNX graphs made from the
   * manifest on onnxruntime-web's WebAssembly backend (src/generator/onnx/); 'reference' the
   * TypeScript reference (src/generator/referenceRuntime.ts; the benchmark's baseline).
   */
  cpuGenerator?: 'wasm' | 'reference';
}

export interface GenerateAdapterStage {
  /**
   * 'encode', 'layer {i}', 'detokenize', 'gate' (only when sizing runs the model: an "answer" gate, or
   * examples mode's validation), then 'apply' (the LoRA handed to the base model and registered).
   */
  stage: string;
  ms: number;
  layer: number | null;
  /** A down-sampled view of that layer's output (batch element 0), for the live visualisation. */
  snapshot?: Heatmap;
  /** Step-through: the run now waits after this block for `continueAdapterGeneration`. */
  paused?: boolean;
  /** On 'apply', with a gated (version 2) generator: the strength the adapter was applied at. */
  gate?: GateResult;
  /** On 'apply' in examples mode: the validation gate. */
  validation?: ValidationGateResult;
}

/** What a generated adapter was conditioned on. */
export type ConditionMode = 'prompts' | 'examples';

/** A generated adapter as `generateAdapter` returns it: its summary and, with a gate, its strength. */
export interface GeneratedAdapterSummary extends AdapterSummary {
  /**
   * The gate's value g and the training tasks nearest to the prompts; null for a generator without
   * a gate (applied in full). The adapter's matrices are already the applied ones (B·g).
   */
  gate: GateResult | null;
  /** 'prompts' (the prompts alone) or 'examples' (answered rows, `generateAdapterFromExamples`). */
  mode: ConditionMode;
  /** Examples mode: the validation gate that sized the adapter; null otherwise. */
  validation: ValidationGateResult | null;
  /** An "answer" gate: the five features it measured (ANSWER_FEATURE_NAMES order); null otherwise. */
  answerFeatures: number[] | null;
}

export interface GenerateAdapterOptions {
  /** Pause after each decoder block until `continueAdapterGeneration` (for teaching). */
  stepThrough?: boolean;
  /**
   * `generateAdapterFromCondition` only: the prompts the condition was made from, which a gate that
   * measures answers (feature "answer") needs.
   */
  prompts?: string[];
}

/** One decoder block of the loaded generator, as the manifest describes it. */
export interface GeneratorBlock {
  index: number;
  /** (N, H, W) in and out. */
  input: [number, number, number];
  output: [number, number, number];
  kernel: number;
  /** Same shape in and out: the block adds its result to its input. */
  residual: boolean;
}

export interface GeneratorInfo {
  /** Prompts per condition (P) and tokens kept per prompt (L). */
  promptCount: number;
  maxTokens: number;
  /** Which ids of a prompt the encoder reads: the first L ("head") or the last `maxInputTokens` ("tail"). */
  window: 'head' | 'tail';
  maxInputTokens: number;
  /** A version-2 gate sizes each adapter (`GeneratedAdapterSummary.gate`). */
  gated: boolean;
  /** What the gate reads: the condition, the decoder output, or the answers (a model stage of its own); null without a gate. */
  gateFeature: 'condition' | 'output' | 'answer' | null;
  /**
   * The generator also reads prompts with their answers (manifest `examples`): examples mode, sized by
   * the validation gate on up to `validationRows` other answered rows at the `grid` scales; null: prompts only.
   */
  examples: { validationRows: number; grid: number[] } | null;
  blocks: GeneratorBlock[];
  rank: number;
  targetModules: string[];
}

/** A running adapter generation: its cancel signal and, in step-through mode, the pause gate. */
interface AdapterRun {
  abort: AbortController;
  stepping: boolean;
  release?: () => void;
}

export type InitStage = 'device' | 'model' | 'tokenizer' | 'session' | 'ready';

export interface InitProgress {
  stage: InitStage;
  message: string;
  /** Byte progress while files download. */
  bytes?: ByteProgress;
}

export interface EngineInfo {
  backend: Backend;
  /** What was asked for (`EngineInitOptions.backend`); `backend` is what Auto made of it. */
  backendChoice: BackendChoice;
  /** For people: why the page runs without WebGPU and what that means; null on WebGPU. */
  notice: string | null;
  /** The adapter / backend in words. */
  device: string;
  baseSha256: string;
  vocabSize: number;
  layers: number;
  loraRank: number;
  loraTargets: string[];
  /** Token ids that end a generation by default (generation_config.json eos). */
  stopIds: number[];
  /** Whether `generateAdapter` can run. */
  generator: 'ready' | 'not-configured' | 'unavailable';
  /** Why a configured optional generator is unavailable (readable); null otherwise. */
  generatorError: string | null;
  /**
   * Where the generator runs: 'webgpu' (the WGSL runtime); without WebGPU 'wasm' (its ONNX graphs on
   * onnxruntime-web's WebAssembly backend) or 'reference' (the TypeScript reference, much slower:
   * asked for, or the graphs did not start, which `notice` then says).
   */
  generatorBackend: 'webgpu' | 'wasm' | 'reference' | null;
  /** Bytes of the weights file (fp16). */
  modelBytes: number;
  /** The web graph the session runs (graphs.json). */
  graph: GraphName;
  /** Compute precision of that graph: float16 only on WebGPU with shader-f16. */
  compute: 'float32' | 'float16';
  /** onnxruntime-web WASM threads (null on WebGPU). */
  wasmThreads: number | null;
  /** Whether the page is cross-origin isolated (needed for WASM threads; docs/hosting.md). */
  crossOriginIsolated: boolean;
  /** Every file of this load: from the cache or the network, and the bytes downloaded. */
  loadedFiles: LoadSummary;
  initMs: number;
  /** Where the load's time went: device + model files + tokenizer, the ORT session, the generator. */
  stagesMs: { files: number; session: number; generator: number };
}

export interface GenerateOptions {
  /** An adapter id from the registry, or null for the base model. */
  adapter: string | null;
  sampling?: SamplingOptions;
  maxTokens: number;
  /** Stop strings; the generation also stops on the model's eos tokens unless `stopIds` is given. */
  stop?: string[];
  /** Token ids that stop the generation (default: the model's eos ids; [] for none). */
  stopIds?: number[];
  /** Wrap `text` in the chat template as one user message (default false: plain continuation). */
  chat?: boolean;
}

export interface TokenEvent {
  id: number;
  index: number;
  /** Text added by this token (may be empty while a multi-byte character is incomplete). */
  text: string;
}

export interface GenerateResult {
  ids: number[];
  text: string;
  stopReason: StopReason;
  promptTokens: number;
  /** Decode speed: tokens after the first over the time of their steps. */
  tokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
  decodeSteps: number;
  adapter: string | null;
  backend: Backend;
  /** Where the KV cache lived ('gpu-buffer' on WebGPU). */
  kvLocation: string;
}

/** An adapter's norms per layer and module (`Engine.adapterDetails`). */
export interface AdapterDetails extends AdapterSummary {
  /** The model's layers and LoRA target modules: `norms` has layers x modules entries. */
  layers: number;
  modules: string[];
  /** Layer-major: layer 0's modules in `modules` order, then layer 1, ... */
  norms: ModuleNorms[];
}

/** Pooled views of one module's A, B and dW = scale · B·A, for heatmaps (`Engine.adapterMatrices`). */
export interface AdapterMatrixViews {
  id: string;
  layer: number;
  module: string;
  rank: number;
  scale: number;
  a: PooledMatrix;
  b: PooledMatrix;
  delta: PooledMatrix;
}

/** Cosine similarities of two adapters' weight deltas (`Engine.compareAdapters`). */
export interface AdapterComparison extends DeltaComparison {
  first: { id: string; name: string };
  second: { id: string; name: string };
  /** The model's LoRA target modules, in order. */
  targets: string[];
  layerCount: number;
}

interface GenerationConfig {
  eos_token_id?: number | number[];
}

/** Requests a device with the adapter's larger buffer and workgroup limits (ORT's kernels use them). */
async function requestDevice(): Promise<{ device: GPUDevice; description: string } | { reason: string }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { reason: 'navigator.gpu is missing' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { reason: `requestAdapter failed: ${describeError(e)}` };
  }
  if (!adapter) return { reason: 'no WebGPU adapter' };
  const features: GPUFeatureName[] = [];
  if (adapter.features.has('shader-f16')) features.push('shader-f16');
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  const l = adapter.limits;
  try {
    const device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      },
    });
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'WebGPU adapter';
    return { device, description };
  } catch (e) {
    return { reason: `requestDevice failed: ${describeError(e)}` };
  }
}

interface Loaded {
  generator?: GeneratorHandle;
  model: ModelSession;
  tokenizer: Tokenizer;
  registry: AdapterRegistry;
  shape: LoraShape;
  info: EngineInfo;
}

export class Engine {
  private loaded?: Loaded;
  private lost?: EngineDeviceLostError;
  private current?: CancelToken;
  private adapterRun?: AdapterRun;
  private initializing = false;
  /** The warm-up after a WebAssembly load (`warmUp`), while it runs. */
  private warming?: Promise<void>;
  /** Calls waiting for that warm-up: it stops at its next step when one does. */
  private waiting = 0;
  /** The device of the current init; a loss of any other (released) device is ignored. */
  private device?: GPUDevice;

  /** Loads everything; a second call replaces the first (fresh device, session and registry). */
  async init(options: EngineInitOptions, onProgress?: (p: InitProgress) => void): Promise<EngineInfo> {
    if (this.initializing) throw new BusyError('Loading the model');
    this.initializing = true;
    const t0 = performance.now();
    try {
      await this.release();
      const modelId = options.modelId ?? 'base';
      const base = new URL(`${modelId}/`, options.modelsUrl).href;
      const report = (stage: InitStage, message: string, bytes?: ByteProgress) => onProgress?.(bytes ? { stage, message, bytes } : { stage, message });

      report('device', 'Looking for WebGPU');
      const choice = options.backend ?? 'auto';
      // src/model/backendChoice.ts: Auto prefers WebAssembly when the only adapter is a software one.
      const decision = await decideBackend(choice, (globalThis.navigator as Navigator | undefined)?.gpu);
      let backend: Backend = 'wasm';
      let device: GPUDevice | undefined;
      let deviceDescription = 'CPU (WebAssembly)';
      let notice: string | null = wasmNotice(decision.reason ?? '');
      if (decision.backend === 'webgpu') {
        const got = await requestDevice();
        if ('device' in got) {
          backend = 'webgpu';
          device = got.device;
          deviceDescription = got.description;
          notice = null;
          this.device = got.device;
          void got.device.lost.then((info) => {
            // only the current device counts (release() forgets a device before destroying it)
            if (this.device === got.device) this.lost = new EngineDeviceLostError(info.message || info.reason || 'unknown reason');
          });
        } else if (choice === 'webgpu') {
          throw new SessionCreateErrorLike(got.reason);
        } else {
          notice = wasmNotice(`WebGPU is not available in this browser (${got.reason}).`);
        }
      }
      this.lost = undefined;

      const files = new FileLoader(options.modelsUrl, options.manifest, options.cache !== false);
      const info = await files.json<GraphsInfo>(`${base}graphs.json`);
      const generation = await files.json<GenerationConfig>(`${base}generation_config.json`).catch(() => ({} as GenerationConfig));
      const f16 = backend === 'webgpu' && options.f16 !== false && device?.features.has('shader-f16') === true;
      let graph = chooseGraph(info, { lora: options.graph !== 'base', f16 });
      report('model', 'Loading the base model');
      let graphBytes = await files.bytes(`${base}${graph}`);
      const weights = await files.bytes(`${base}${info.weights.file}`, (p) => report('model', 'Loading the base model', p));
      report('tokenizer', 'Loading the tokenizer');
      const tokenizer = tokenizerFromFiles(
        await files.bytes(`${base}tokenizer.json`, (p) => report('tokenizer', 'Loading the tokenizer', p)),
        await files.bytes(`${base}tokenizer_config.json`),
      );
      report('session', backend === 'webgpu' ? 'Starting the model on WebGPU' : 'Starting the model on the CPU');
      const tSession = performance.now();
      const filesMs = tSession - t0;
      const wasmThreads = configureOrt(options.wasmThreads);
      const sessionOptions = { backend, ...(device ? { device } : {}), wasmThreads };
      let model: ModelSession;
      let fallback: string | null = null;
      try {
        model = await createModelSession(graphBytes, weights, info, graph, sessionOptions);
      } catch (e) {
        if (!f16) throw e;
        // the fp16-compute graph is not run on a real GPU by this project's tests (no shader-f16
        // on SwiftShader): if it does not start, the fp32-compute graph on the same weights will
        fallback = `The fp16 model graph did not start on this GPU (${describeError(e)}), so the model computes in fp32.`;
        graph = chooseGraph(info, { lora: options.graph !== 'base', f16: false });
        graphBytes = await files.bytes(`${base}${graph}`);
        model = await createModelSession(graphBytes, weights, info, graph, sessionOptions);
      }
      const shape = loraShapeOf(info);
      const registry = new AdapterRegistry(shape, backend === 'webgpu' ? device : undefined, model.hasLora);
      const eos = generation.eos_token_id;
      const stopIds = eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
      const engineInfo: EngineInfo = {
        backend, backendChoice: choice, notice: fallback ?? notice, device: deviceDescription, baseSha256: info.weights.sha256,
        vocabSize: info.config.vocab_size, layers: info.config.num_hidden_layers, loraRank: info.lora.rank,
        loraTargets: [...shape.targets], stopIds, generator: 'not-configured', generatorError: null, generatorBackend: null,
        modelBytes: weights.byteLength, graph, compute: model.kvType, wasmThreads: backend === 'wasm' ? wasmThreads : null,
        crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
        loadedFiles: files.summary(), initMs: 0,
        stagesMs: { files: filesMs, session: performance.now() - tSession, generator: 0 },
      };
      const tGenerator = performance.now();
      let generator: GeneratorHandle | undefined;
      if (options.generator) {
        report('session', 'Loading the parameter generator');
        try {
          const manifest = new TextDecoder().decode(await files.bytes(options.generator.manifestUrl));
          const genWeights = await files.bytes(options.generator.weightsUrl, (p) => report('model', 'Loading the parameter generator', p));
          generator = createGenerator(device, manifest, genWeights, shape);
          engineInfo.generator = 'ready';
          engineInfo.generatorBackend = generator.runtime ? 'webgpu' : 'reference';
          if (!generator.runtime && options.cpuGenerator === 'reference') {
            const asked = 'As asked, the parameter generator runs on its TypeScript reference: the same adapters, about 40 times slower.';
            engineInfo.notice = engineInfo.notice ? `${engineInfo.notice} ${asked}` : asked;
          } else if (!generator.runtime) {
            report('session', 'Starting the parameter generator on the CPU');
            try {
              await attachCpuRuntime(generator, wasmGraphSession);
              engineInfo.generatorBackend = 'wasm';
            } catch (e) {
              // the reference gives the same adapter, only slower: say so and go on
              const why = `The parameter generator's WebAssembly graphs did not start (${describeError(e)}), so it runs on its TypeScript reference: the same adapters, about 40 times slower.`;
              engineInfo.notice = engineInfo.notice ? `${engineInfo.notice} ${why}` : why;
            }
          }
        } catch (e) {
          if (!options.generatorOptional) throw e;
          engineInfo.generator = 'unavailable';
          engineInfo.generatorError = describeError(e);
        }
      }
      engineInfo.loadedFiles = files.summary();
      this.loaded = { model, tokenizer, registry, shape, info: engineInfo, ...(generator ? { generator } : {}) };
      engineInfo.stagesMs.generator = performance.now() - tGenerator;
      if (generator && backend === 'wasm') this.warmUp(this.loaded);
      engineInfo.initMs = performance.now() - t0;
      report('ready', 'Ready');
      return { ...engineInfo };
    } finally {
      this.initializing = false;
    }
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

  /** Generates from prompt token ids (the fixtures' level). */
  async generateIds(promptIds: number[], options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    await this.settled();
    const { model, tokenizer, registry, info } = this.ready();
    if (this.current) throw new BusyError('A generation');
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new BadRequestError(`maxTokens must be a positive integer, got ${options.maxTokens}`);
    if (promptIds.length === 0) throw new BadRequestError('The prompt is empty: there is nothing to continue.');
    for (const id of promptIds) {
      if (!Number.isInteger(id) || id < 0 || id >= info.vocabSize) throw new BadRequestError(`Token id ${id} is outside the vocabulary (0-${info.vocabSize - 1}).`);
    }
    const loraFeeds = registry.feeds(options.adapter);
    const cancel: CancelToken = { cancelled: false };
    this.current = cancel;
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const ids: number[] = [];
    let text = '';
    let settled = 0;
    let stopAt = -1;
    try {
      const result = await decode(model, promptIds, {
        loraFeeds,
        maxTokens: options.maxTokens,
        stopIds: new Set(options.stopIds ?? info.stopIds),
        ...(options.sampling ? { sampling: options.sampling } : {}),
        cancel,
        onToken: (id, index) => {
          ids.push(id);
          // Decode only the ids since the last complete character (byte-level BPE: the text of a
          // sequence is the concatenation of its pieces), so a step costs the same at token 500 as
          // at token 5. A piece ending in an incomplete UTF-8 sequence (U+FFFD) waits for the next id.
          const piece = tokenizer.decode(ids.slice(settled), true);
          let delta = '';
          if (!piece.endsWith('\uFFFD')) {
            delta = piece;
            text += piece;
            settled = ids.length;
          }
          let stopped = false;
          for (const s of stops) {
            const at = text.indexOf(s);
            if (at >= 0) {
              stopAt = stopAt < 0 ? at : Math.min(stopAt, at);
              stopped = true;
            }
          }
          if (stopped) {
            const before = text.length - delta.length;
            delta = delta.slice(0, Math.max(0, stopAt - before));
          }
          onToken?.({ id, index, text: delta });
          return stopped;
        },
      });
      if (this.lost) throw this.lost;
      const finalText = stopAt >= 0 ? tokenizer.decode(result.ids, true).slice(0, stopAt) : tokenizer.decode(result.ids, true);
      const tokensPerSecond = result.decodeSteps > 0 ? result.decodeSteps / (result.decodeMs / 1000) : 0;
      return {
        ids: result.ids, text: finalText, stopReason: result.stopReason, promptTokens: result.promptTokens, tokensPerSecond,
        prefillMs: result.prefillMs, decodeMs: result.decodeMs, decodeSteps: result.decodeSteps, adapter: options.adapter,
        backend: model.backend, kvLocation: result.kvLocation,
      };
    } catch (e) {
      if (this.lost) throw this.lost;
      throw e;
    } finally {
      this.current = undefined;
    }
  }

  /** Stops the running generation before its next step; true when one was running. */
  cancel(): boolean {
    if (!this.current) return false;
    this.current.cancelled = true;
    return true;
  }

  listAdapters(): AdapterSummary[] {
    return this.ready().registry.list();
  }

  /**
   * Imports a PEFT adapter: a zip of adapter_config.json + adapter_model.safetensors. `source`
   * 'generated' keeps the label of an adapter generated here, saved and imported again after a reload.
   */
  importAdapter(zip: Uint8Array, name: string, source: AdapterSource = 'imported'): AdapterSummary {
    const { registry, shape } = this.ready();
    return registry.add({ ...parsePeftZip(zip, shape, name), source });
  }

  /** Imports a PEFT adapter from its two files. */
  importAdapterFiles(configJson: string, safetensors: Uint8Array, name: string): AdapterSummary {
    const { registry, shape } = this.ready();
    return registry.add(parsePeftAdapter(configJson, safetensors, shape, name));
  }

  /** The adapter as a PEFT zip (adapter_config.json + adapter_model.safetensors). */
  exportAdapter(id: string): Uint8Array {
    const { registry, shape } = this.ready();
    return zipPeftAdapter(registry.get(id), shape);
  }

  removeAdapter(id: string): void {
    this.ready().registry.remove(id);
  }

  renameAdapter(id: string, name: string): AdapterSummary {
    const trimmed = name.trim();
    if (trimmed === '') throw new BadRequestError('An adapter needs a name.');
    return this.ready().registry.rename(id, trimmed);
  }

  /** The loaded generator's prompt count and decoder blocks (for explaining the stages); null without one. */
  generatorInfo(): GeneratorInfo | null {
    const { generator } = this.ready();
    if (!generator) return null;
    const { manifest } = generator.loaded;
    const { features, kernel_sizes: kernels } = manifest.decoder;
    const blocks = kernels.map((kernel, index): GeneratorBlock => {
      const input = [...(features[index] as readonly number[])] as [number, number, number];
      const output = [...(features[index + 1] as readonly number[])] as [number, number, number];
      return { index, input, output, kernel, residual: input.every((v, i) => v === output[i]) };
    });
    const shape = this.conditionShape(this.ready());
    return {
      promptCount: shape.promptCount, maxTokens: shape.maxTokens, window: manifest.encoder.window, maxInputTokens: manifest.encoder.max_input_tokens,
      gated: generator.loaded.gate !== null, gateFeature: generator.loaded.gate?.feature ?? null,
      examples: manifest.examples ? { validationRows: manifest.examples.validation_rows, grid: [...manifest.examples.grid] } : null,
      blocks, rank: manifest.lora.rank, targetModules: [...manifest.lora.target_modules],
    };
  }

  /** Stops the running adapter generation before its next stage; true when one was running. Nothing is registered. */
  cancelAdapterGeneration(): boolean {
    const run = this.adapterRun;
    if (!run) return false;
    if (!run.abort.signal.aborted) run.abort.abort(new CancelledError('Generating the adapter'));
    run.release?.();
    return true;
  }

  /**
   * Step-through: lets a run paused after a decoder block go on, to the next block's pause ('next')
   * or without further pauses ('to-end'). False when no run is paused.
   */
  continueAdapterGeneration(mode: 'next' | 'to-end' = 'next'): boolean {
    const run = this.adapterRun;
    if (!run?.release) return false;
    if (mode === 'to-end') run.stepping = false;
    run.release();
    return true;
  }

  private beginAdapterRun(options: GenerateAdapterOptions): AdapterRun {
    if (this.adapterRun) throw new BusyError('Generating an adapter');
    const run: AdapterRun = { abort: new AbortController(), stepping: options.stepThrough === true };
    this.adapterRun = run;
    return run;
  }

  private endAdapterRun(run: AdapterRun): void {
    if (this.adapterRun === run) this.adapterRun = undefined;
  }


  /** Frobenius norms of A, B and dW = scale · B·A for every layer and target module of the model. */
  adapterDetails(id: string): AdapterDetails {
    const { registry, shape } = this.ready();
    const adapter = registry.get(id);
    return { ...registry.summary(id), layers: shape.layers, modules: [...shape.targets], norms: adapterNorms(adapter, shape.layers, shape.targets) };
  }

  /**
   * A, B and dW of one layer and module pooled to at most 64 x 64 cells ('max-abs' keeps the
   * signed value of largest magnitude per block, 'mean' averages). A selection the model or the
   * adapter does not have is a `bad-request` that says so.
   */
  adapterMatrices(id: string, layer: number, module: string, pooling: Pooling = 'max-abs'): AdapterMatrixViews {
    const { registry, shape } = this.ready();
    const adapter = registry.get(id);
    if (!Number.isInteger(layer) || layer < 0 || layer >= shape.layers) {
      throw new BadRequestError(`Layer ${layer} does not exist: the base model has layers 0-${shape.layers - 1}.`);
    }
    if (!shape.targets.includes(module)) {
      throw new BadRequestError(`"${module}" is not one of this model's LoRA modules (${shape.targets.join(', ')}).`);
    }
    if (pooling !== 'mean' && pooling !== 'max-abs') throw new BadRequestError(`Pooling must be "mean" or "max-abs", got "${String(pooling)}".`);
    const pair = loraPair(adapter, layer, module);
    if (!pair) throw new BadRequestError(`Adapter "${adapter.name}" does not change layer ${layer} ${module} (it has no LoRA matrices there), so there is nothing to draw.`);
    return {
      id, layer, module, rank: pair.a.rows, scale: pair.scale,
      a: poolMatrix(pair.a, pooling, HEATMAP_SIDE), b: poolMatrix(pair.b, pooling, HEATMAP_SIDE), delta: poolDelta(pair, pooling, HEATMAP_SIDE),
    };
  }

  /** Cosine similarity of two adapters' dW per layer and module, per layer and overall (ranks may differ). */
  compareAdapters(firstId: string, secondId: string): AdapterComparison {
    const { registry, shape } = this.ready();
    const first = registry.get(firstId);
    const second = registry.get(secondId);
    const names: [string, string] = [`"${first.name}"`, `"${second.name}"`];
    return {
      ...compareDeltas(first, second, shape.layers, shape.targets, names),
      first: { id: firstId, name: first.name }, second: { id: secondId, name: second.name },
      targets: [...shape.targets], layerCount: shape.layers,
    };
  }

  /**
   * The condition shape: the generator manifest's `encoder` (P, L, C, template) when a generator is
   * loaded, else trainer/configs/generator.json's P = 8, L = 32, "plain" and the model's hidden size.
   */
  private conditionShape(loaded: Loaded, template?: ConditionTemplate): ConditionShape {
    const hidden = loaded.model.info.config.hidden_size;
    const enc = loaded.generator?.loaded.manifest.encoder;
    if (!enc) return { promptCount: DEFAULT_PROMPT_COUNT, maxTokens: DEFAULT_MAX_TOKENS, channels: hidden };
    if (enc.layer !== -1 || enc.pooling !== 'none' || (enc.template !== 'plain' && enc.template !== 'chat') || enc.channels !== hidden) {
      throw new EncoderMissingError(
        `the generator expects an encoder with layer ${enc.layer}, pooling "${enc.pooling}", template "${enc.template}", ` +
        `${enc.channels} channels; the model's last_hidden_state gives layer -1, pooling "none", template "plain" or "chat", ${hidden} channels`);
    }
    return {
      promptCount: enc.prompt_count, maxTokens: enc.max_tokens, channels: enc.channels, template: template ?? enc.template,
      window: enc.window, maxInputTokens: enc.max_input_tokens,
    };
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
    await this.settled();
    const loaded = this.ready();
    const shape = this.conditionShape(loaded, template);
    return this.whileBusy(null, () => {
      const { tokenizer } = loaded;
      const emptyId = tokenizer.raw.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
      const run = hiddenStatesRun(loaded.model, () => loaded.registry.feeds(null));
      return encodeWith(run, (text) => tokenizer.encode(text), emptyId, prompts, shape);
    });
  }

  /**
   * On WebAssembly, right after the load (not awaited by it), results dropped: one generator run, a
   * few short encoder runs (P prompts of 16 ids), then one of P prompts as long as the window
   * allows. The first runs of a fresh WebAssembly module are several times slower than later ones:
   * the browser compiles the hot kernels with its optimising compiler only once they have run a
   * while (measured: docs/runtime.md, "CPU generation"). Paid here, that cost falls in the time a
   * person takes to choose prompts. A call that needs the session meanwhile waits (`settled`), and
   * the warm-up stops at its next step, so it waits for one step at most.
   */
  private warmUp(loaded: Loaded): void {
    const work = async () => {
      // each step ends with a macrotask hop, so a call's message is handled (and counted in
      // `waiting`) between steps: ORT's runs resolve in microtasks, which would starve it
      await loaded.generator?.cpu?.warmUp();
      await nextMacrotask();
      const shape = this.conditionShape(loaded);
      const { length } = idWindow(shape);
      const id = loaded.tokenizer.raw.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
      const run = hiddenStatesRun(loaded.model, () => loaded.registry.feeds(null));
      const encode = async (n: number) => {
        await encodeIds(run, Array.from({ length: shape.promptCount }, () => new Array<number>(n).fill(id)), shape.maxTokens, shape.channels, length);
        await nextMacrotask();
      };
      // short runs first, each ended early by a call that waits; then one of the longest prompts
      for (let i = 0; i < WARM_UP_SHORT_RUNS && this.waiting === 0; i++) await encode(Math.min(WARM_UP_SHORT_TOKENS, length));
      if (this.waiting === 0) await encode(length);
    };
    // a failed warm-up only leaves that cost to the first real run, which reports its own errors
    const warming: Promise<void> = work().catch(() => undefined).finally(() => {
      if (this.warming === warming) this.warming = undefined;
    });
    this.warming = warming;
  }

  /** Waits for the warm-up after a load, if one is running (the session runs one thing at a time). */
  private async settled(): Promise<void> {
    if (!this.warming) return;
    this.waiting += 1;
    try {
      await this.warming;
    } finally {
      this.waiting -= 1;
    }
  }

  /**
   * Resolves once the engine has no background work left (the warm-up after a WebAssembly load),
   * without cutting that work short as a waiting call does.
   */
  async idle(): Promise<void> {
    if (this.warming) await this.warming;
  }

  /**
   * A LoRA generated from P prompts: `encodePrompts` + `generateAdapterFromCondition`. Cancelling
   * while the prompts are encoded takes effect when the encoder returns (one ORT run).
   */
  async generateAdapter(
    prompts: string[], name = 'generated', onStage?: (s: GenerateAdapterStage) => void, options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.ready();
    if (!generator) throw new GeneratorMissingError();
    const run = this.beginAdapterRun(options);
    try {
      const t0 = performance.now();
      const encoded = await this.encodePrompts(prompts);
      throwIfCancelled(run);
      await onStage?.({ stage: 'encode', ms: performance.now() - t0, layer: null });
      return await this.generateWith(run, encoded.condition, name, onStage, { mode: 'prompts', prompts: [...prompts] });
    } finally {
      this.endAdapterRun(run);
    }
  }

  /**
   * Examples mode: a LoRA generated from P answered rows (`condition`: the first P are used), each
   * rendered in the manifest's `examples.template` ("chat-answer": the user turn and the assistant's
   * answer, both closed) and encoded through the same window as prompts; the adapter is then sized by
   * the validation gate on up to `examples.validation_rows` of `validation` (rows not in the
   * condition), or on the condition's own rows when `validation` is empty (an optimistic choice the
   * result says it made). Needs a generator whose manifest has `examples`.
   */
  async generateAdapterFromExamples(
    condition: AnsweredRow[], validation: AnsweredRow[], name = 'generated', onStage?: (s: GenerateAdapterStage) => void,
    options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.ready();
    if (!generator) throw new GeneratorMissingError();
    const spec = generator.loaded.manifest.examples;
    if (!spec) throw new BadRequestError('This generator reads prompts only (its manifest has no examples section), so it cannot use the answers.');
    const p = generator.loaded.manifest.encoder.prompt_count;
    const rows = condition.slice(0, p);
    if (rows.length < p) throw new BadRequestError(`Examples mode needs ${p} answered rows for the condition; got ${rows.length}.`);
    for (const r of [...rows, ...validation]) {
      if (typeof r?.prompt !== 'string' || typeof r.response !== 'string' || r.response.trim() === '') {
        throw new BadRequestError('Every row of examples mode needs a prompt and a non-empty response.');
      }
    }
    const run = this.beginAdapterRun(options);
    try {
      const t0 = performance.now();
      const encoded = await this.encodeTexts(rows.map((r) => chatAnswerText(r)), 'plain');
      throwIfCancelled(run);
      await onStage?.({ stage: 'encode', ms: performance.now() - t0, layer: null });
      return await this.generateWith(run, encoded.condition, name, onStage, {
        mode: 'examples', condition: rows, validation: validation.slice(0, spec.validation_rows),
      });
    } finally {
      this.endAdapterRun(run);
    }
  }

  /**
   * A LoRA generated from a condition (B = 1, the manifest's (P, L, C) as float32), registered as
   * an adapter whose inputs stay on the GPU; stages stream back through `onStage`.
   */
  async generateAdapterFromCondition(
    condition: Float32Array, name: string, onStage?: (s: GenerateAdapterStage) => void, options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.ready();
    if (!generator) throw new GeneratorMissingError();
    const run = this.beginAdapterRun(options);
    try {
      return await this.generateWith(run, condition, name, onStage, { mode: 'prompts', prompts: options.prompts ? [...options.prompts] : null });
    } finally {
      this.endAdapterRun(run);
    }
  }

  private async generateWith(
    run: AdapterRun, condition: Float32Array, name: string, onStage: ((s: GenerateAdapterStage) => void) | undefined, request: SizingRequest,
  ): Promise<GeneratedAdapterSummary> {
    await this.settled();
    const { generator, model, registry, shape, tokenizer } = this.ready();
    if (!generator) throw new GeneratorMissingError();
    const stage = async (t: { stage: string; ms: number }, layer: number | null, snapshot?: Heatmap) => {
      const pause = layer !== null && run.stepping && !run.abort.signal.aborted;
      await onStage?.({ stage: t.stage, ms: t.ms, layer, ...(snapshot ? { snapshot } : {}), ...(pause ? { paused: true } : {}) });
      if (pause) {
        // The worker stays responsive while waiting: continue/cancel messages resolve the gate.
        await new Promise<void>((resolve) => {
          run.release = resolve;
        });
        run.release = undefined;
      }
      throwIfCancelled(run);
    };
    const { signal } = run.abort;
    const onGpu = model.device !== undefined && generator.runtime !== undefined;
    const raw = onGpu
      ? await generateOnGpu(generator, condition, shape, name, stage, signal)
      : await generateOnCpu(generator, condition, shape, name, stage, signal);
    // cancelled while the LoRA was read back: register nothing
    throwIfCancelled(run);
    const tSize = performance.now();
    const sizing = await this.whileBusy(run, (cancel) => sizeAdapter({
      handle: generator, model, registry, cancel, encode: (text) => tokenizer.encode(text),
      imEnd: tokenizer.raw.convert_tokens_to_ids(IM_END_TOKEN),
    }, raw, condition, request));
    throwIfCancelled(run);
    let applyStart = tSize;
    if (sizingRunsModel(generator, request)) {
      await onStage?.({ stage: 'gate', ms: performance.now() - tSize, layer: null });
      throwIfCancelled(run);
      applyStart = performance.now();
    }
    applyGate(raw.data.matrices, sizing.strength);
    const summary = registry.add(raw.data);
    await onStage?.({
      stage: 'apply', ms: raw.readMs + performance.now() - applyStart, layer: null,
      ...(sizing.gate ? { gate: sizing.gate } : {}), ...(sizing.validation ? { validation: sizing.validation } : {}),
    });
    return { ...summary, gate: sizing.gate, mode: request.mode, validation: sizing.validation, answerFeatures: sizing.answer?.values ?? null };
  }

  /**
   * Runs `f` with the model marked busy (Compare and Evaluate wait), with a cancel token that the
   * adapter run's Cancel (or the engine's `cancel`) sets.
   */
  private async whileBusy<T>(run: AdapterRun | null, f: (cancel: CancelToken) => Promise<T>): Promise<T> {
    if (this.current) throw new BusyError('A generation');
    const token: CancelToken = { cancelled: run?.abort.signal.aborted ?? false };
    const onAbort = () => {
      token.cancelled = true;
    };
    run?.abort.signal.addEventListener('abort', onAbort);
    this.current = token;
    try {
      const out = await f(token);
      if (this.lost) throw this.lost;
      return out;
    } catch (e) {
      if (this.lost) throw this.lost;
      throw e;
    } finally {
      run?.abort.signal.removeEventListener('abort', onAbort);
      if (this.current === token) this.current = undefined;
    }
  }

  /**
   * The "answer" gate feature (src/model/answerFeatures.ts) of a registered adapter (null: the zero
   * adapter, i.e. the base model) on `prompts`: the base model's greedy tokens, then the adapter's
   * log-probs at the positions that predict them. `settings` default to the loaded generator's
   * `gate.answer`.
   */
  async measureAnswerFeatures(prompts: string[], adapter: string | null, settings?: AnswerSettings): Promise<AnswerFeatureResult> {
    const { model, registry, tokenizer, generator } = this.ready();
    const fromManifest = generator?.loaded.manifest.gate?.answer;
    const use = settings ?? (fromManifest ? { tokens: fromManifest.tokens, maxPromptTokens: fromManifest.max_prompt_tokens } : null);
    if (!use) throw new BadRequestError('Say how many answer tokens and prompt tokens to use: the loaded generator has no answer gate.');
    if (!Number.isInteger(use.tokens) || use.tokens < 1 || !Number.isInteger(use.maxPromptTokens) || use.maxPromptTokens < 1) {
      throw new BadRequestError('Answer tokens and prompt tokens must be positive integers.');
    }
    if (prompts.length === 0) throw new BadRequestError('The answer feature needs at least one prompt.');
    const base = registry.feeds(null);
    const adapted = registry.feeds(adapter);
    return this.whileBusy(null, (cancel) => measureAnswers(model, (t) => tokenizer.encode(t), prompts, { base, adapted }, use, cancel));
  }

  /**
   * The validation gate's measurement (src/model/validationGate.ts) of a registered adapter on answered
   * rows: the mean response NLL at each of `grid`'s scales (every B times the scale).
   */
  async validationNll(rows: AnsweredRow[], adapter: string, grid: number[]): Promise<{ nll: number[]; tokens: number }> {
    const { model, registry, tokenizer } = this.ready();
    if (rows.length === 0) throw new BadRequestError('There are no rows to score.');
    const data = registry.get(adapter);
    const imEnd = tokenizer.raw.convert_tokens_to_ids(IM_END_TOKEN);
    const scored = rows.map((r) => scoringRow((t) => tokenizer.encode(t), imEnd, r, MAX_PROMPT_TOKENS));
    return this.whileBusy(null, (cancel) => scoreValidation(model, scored, grid, (scale, use) => registry.withFeeds(data, scale, use), cancel));
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
    await this.settled();
    const loaded = this.loaded;
    this.loaded = undefined;
    const device = this.device;
    this.device = undefined;
    this.lost = undefined;
    if (!loaded) {
      device?.destroy();
      return;
    }
    loaded.registry.dispose();
    loaded.generator?.runtime?.destroy();
    await loaded.generator?.cpu?.release();
    try {
      await loaded.model.release();
    } catch {
      // a session on a lost device may fail to release; nothing else holds it
    }
    loaded.model.device?.destroy();
  }
}

/** The token that closes a chat turn (a scored response ends with it). */
const IM_END_TOKEN = '<|im_end|>';

/** The warm-up's short encoder runs: how many, and ids per prompt. */
const WARM_UP_SHORT_RUNS = 6;
const WARM_UP_SHORT_TOKENS = 16;

function throwIfCancelled(run: AdapterRun): void {
  if (run.abort.signal.aborted) throw new CancelledError('Generating the adapter');
}

class SessionCreateErrorLike extends BadRequestError {
  constructor(reason: string) {
    super(`WebGPU was chosen but is not available (${reason}). Choose Auto or WebAssembly to run on the CPU.`);
  }
}
