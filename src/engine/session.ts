/**
 * The model session and its loading: the device (WebGPU where Auto or the person chose it and an
 * adapter is there, else WebAssembly with a notice saying why), the model files through the cache
 * (src/model/fileLoader.ts), the tokenizer, the onnxruntime-web session (the fp32-compute graph when
 * the fp16 one does not start), the adapter registry, and what the load reports (`EngineInfo`).
 * Also what a load holds (`Loaded`), how it is released, and the lock that runs one thing at a time
 * on the session (`SessionLock`).
 */
import { AdapterRegistry, loraShapeOf, type LoraShape } from '../model/adapters';
import { decideBackend, wasmNotice } from '../model/backendChoice';
import { BadRequestError, BusyError, describeError, type EngineDeviceLostError } from '../model/errors';
import { FileLoader } from '../model/fileLoader';
import type { GeneratorHandle } from '../model/generatedAdapter';
import type { CancelToken } from '../model/generate';
import { chooseGraph, type GraphsInfo } from '../model/graphs';
import type { ByteProgress } from '../model/modelCache';
import { configureOrt, createModelSession, type Backend, type ModelSession } from '../model/session';
import { tokenizerFromFiles, type Tokenizer } from '../model/tokenizer';
import type { EngineInfo, EngineInitOptions, InitStage } from './types';

/** Everything one load holds; `Engine.ready()` hands it out, or the typed error (not loaded, device lost). */
export interface Loaded {
  generator?: GeneratorHandle;
  model: ModelSession;
  tokenizer: Tokenizer;
  registry: AdapterRegistry;
  shape: LoraShape;
  info: EngineInfo;
}

/** The base model's part of a load (`loadModelSession`); the generator is loaded after it (src/engine/generator.ts). */
export interface ModelSessionLoad extends Omit<Loaded, 'generator'> {
  /** The files of this load, which the generator's files are fetched through too. */
  files: FileLoader;
  /** The WebGPU device; absent on WebAssembly. */
  device: GPUDevice | undefined;
  backend: Backend;
}

/** `init`'s progress callback, one stage and message at a time (with bytes while a file downloads). */
export type ReportInit = (stage: InitStage, message: string, bytes?: ByteProgress) => void;

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

/**
 * Loads the base model: device, files, tokenizer, session, registry, and the `EngineInfo` of the load
 * (without the generator: `generator: 'not-configured'`). `watchDevice` is told the WebGPU device at
 * once, so its loss is seen from the start; `t0` is when `init` began (the files' time counts from it).
 */
export async function loadModelSession(
  options: EngineInitOptions, report: ReportInit, t0: number, watchDevice: (device: GPUDevice) => void,
): Promise<ModelSessionLoad> {
  const modelId = options.modelId ?? 'base';
  const base = new URL(`${modelId}/`, options.modelsUrl).href;

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
      watchDevice(got.device);
    } else if (choice === 'webgpu') {
      throw new WebGpuUnavailableError(got.reason);
    } else {
      notice = wasmNotice(`WebGPU is not available in this browser (${got.reason}).`);
    }
  }

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
  return { model, tokenizer, registry, shape, info: engineInfo, files, device, backend };
}

/** Frees what a load holds: the adapters' GPU buffers, the generator, the session, the device. */
export async function releaseLoaded(loaded: Loaded): Promise<void> {
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

/**
 * The session runs one thing at a time: a text generation, an encoder run, a sizing measurement.
 * The running one's cancel token is what the engine's `cancel` sets; a call while it runs is a
 * `busy` error. A device lost meanwhile is the error the call ends with, whatever it failed with.
 */
export class SessionLock {
  private current?: CancelToken;

  constructor(private readonly lost: () => EngineDeviceLostError | undefined) {}

  /** Throws `busy` while something runs. */
  checkFree(): void {
    if (this.current) throw new BusyError('A generation');
  }

  /**
   * Runs `f` with the model marked busy (Compare and Evaluate wait), with a cancel token that the
   * adapter run's Cancel (`abort`, when given) or the engine's `cancel` sets.
   */
  async whileBusy<T>(abort: AbortController | null, f: (cancel: CancelToken) => Promise<T>): Promise<T> {
    this.checkFree();
    const token: CancelToken = { cancelled: abort?.signal.aborted ?? false };
    const onAbort = () => {
      token.cancelled = true;
    };
    abort?.signal.addEventListener('abort', onAbort);
    this.current = token;
    try {
      const out = await f(token);
      const lost = this.lost();
      if (lost) throw lost;
      return out;
    } catch (e) {
      const lost = this.lost();
      if (lost) throw lost;
      throw e;
    } finally {
      abort?.signal.removeEventListener('abort', onAbort);
      if (this.current === token) this.current = undefined;
    }
  }

  /** Stops the running call before its next step; true when one was running. */
  cancel(): boolean {
    if (!this.current) return false;
    this.current.cancelled = true;
    return true;
  }
}

class WebGpuUnavailableError extends BadRequestError {
  constructor(reason: string) {
    super(`WebGPU was chosen but is not available (${reason}). Choose Auto or WebAssembly to run on the CPU.`);
  }
}
