/**
 * The model engine's public surface, typed in one place (src/engine/engine.ts implements it; the
 * worker in src/worker/ exposes it; the page calls it through src/worker/engineClient.ts): the load
 * options and what a load reports, text generation's options and results, adapter generation's
 * stages and results, the generator's description, and the adapter inspector's views. Types the
 * engine passes through from src/model/ and src/generator/ are re-exported here, so a caller needs
 * this one module.
 */
import type { AdapterSummary } from '../model/adapters';
import type { DeltaComparison, ModuleNorms, PooledMatrix } from '../model/adapterStats';
import type { BackendChoice } from '../model/backendChoice';
import type { LoadSummary } from '../model/fileLoader';
import type { StopReason } from '../model/generate';
import type { GraphName } from '../model/graphs';
import type { ByteProgress } from '../model/modelCache';
import type { ModelManifest } from '../model/modelFiles';
import type { SamplingOptions } from '../model/sampling';
import type { Backend } from '../model/session';
import type { ValidationGateResult } from '../model/validationGate';
import type { GateResult } from '../generator/gate';
import type { Heatmap } from '../generator/runtime';

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
