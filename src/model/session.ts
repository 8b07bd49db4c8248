/**
 * The base model's onnxruntime-web session: one web graph (src/model/graphs.ts, trainer/export/web_graphs.py)
 * whose weights are the fp16 bytes of `model.safetensors`, handed over as ORT's `externalData`.
 * `decoder_lora.onnx` serves the base model (zero LoRA inputs), every adapter (other inputs) and the
 * prompt encoder (its `last_hidden_state` output), so switching never reloads anything and the
 * weights are held once.
 *
 * - WebGPU: the session runs on the application's own GPUDevice (the `device` option of the
 *   `webgpu` execution provider; `ort.env.webgpu.device` is not honoured by this ORT build, see
 *   docs/onnx-export.md), LoRA inputs can be GPU buffers (`Tensor.fromGpuBuffer`), and `present.*`
 *   stay on the GPU (`preferredOutputLocation`).
 * - WASM: the same graph on onnxruntime-web's CPU backend, multi-threaded when the page is
 *   cross-origin isolated (SharedArrayBuffer; the servers send COOP/COEP, docs/hosting.md).
 */
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import { SessionCreateError, describeError } from './errors';
import type { GraphName, GraphsInfo } from './graphs';

export type Backend = 'webgpu' | 'wasm';

/** WASM threads this page can use: all cores up to 4 when cross-origin isolated, else 1. */
export function defaultWasmThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (!isolated) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, cores));
}

let configuredThreads: number | undefined;
/**
 * Points ORT at its WASM binary and glue as the app serves them (never a CDN: no request leaves
 * the page); the glue is a file of its own so ORT can start its thread workers from it. The thread
 * count is fixed once ORT has started; later calls keep the first value.
 */
export function configureOrt(threads = defaultWasmThreads()): number {
  if (configuredThreads !== undefined) return configuredThreads;
  configuredThreads = threads;
  const base = globalThis.location?.href;
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, base).href, mjs: new URL(ortMjsUrl, base).href };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return threads;
}

export interface ModelSession {
  readonly backend: Backend;
  readonly session: ort.InferenceSession;
  readonly info: GraphsInfo;
  readonly graph: GraphName;
  /** Element type of the KV cache (float16 in the fp16-compute graphs). */
  readonly kvType: 'float32' | 'float16';
  readonly hasLora: boolean;
  /** Present only for WebGPU. */
  readonly device?: GPUDevice;
  release(): Promise<void>;
}

export interface ModelSessionOptions {
  backend: Backend;
  device?: GPUDevice;
  /** WASM threads (default: defaultWasmThreads()). */
  wasmThreads?: number;
}

/**
 * A session of `graph` (its bytes) over `weights` (model.safetensors). On WebGPU through the EP
 * option `{name: 'webgpu', device}`, sharing the engine's GPUDevice (docs/decisions.md), with the
 * KV cache kept on the GPU; else on WASM.
 */
export async function createModelSession(
  graphBytes: Uint8Array, weights: Uint8Array, info: GraphsInfo, graph: GraphName, options: ModelSessionOptions,
): Promise<ModelSession> {
  const { backend, device } = options;
  configureOrt(options.wasmThreads);
  const where = backend === 'webgpu' ? 'WebGPU' : 'WebAssembly (CPU)';
  const entry = info.graphs[graph];
  if (!entry) throw new SessionCreateError(where, `graphs.json does not list ${graph}`);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    externalData: [{ path: info.weights.file, data: weights }],
  };
  if (backend === 'webgpu') {
    if (!device) throw new SessionCreateError('WebGPU', 'no GPUDevice was given');
    // The `device` EP option is read by ort.webgpu.mjs but not declared in its typings.
    const ep: ort.InferenceSession.WebGpuExecutionProviderOption & { device: GPUDevice } = { name: 'webgpu', device };
    sessionOptions.executionProviders = [ep];
    const location: Record<string, 'gpu-buffer' | 'cpu'> = { logits: 'cpu', last_hidden_state: 'cpu' };
    for (let l = 0; l < info.config.num_hidden_layers; l++) {
      location[`present.${l}.key`] = 'gpu-buffer';
      location[`present.${l}.value`] = 'gpu-buffer';
    }
    sessionOptions.preferredOutputLocation = location;
  } else {
    sessionOptions.executionProviders = ['wasm'];
    // onnxruntime plans one memory block per input shape ("memory pattern") and reuses it only for
    // that shape; prompt batches and decode steps rarely repeat a shape, so each new one took a fresh
    // block, and fresh WASM memory is slow to touch the first time (docs/runtime.md, "CPU generation").
    sessionOptions.enableMemPattern = false;
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(graphBytes, sessionOptions);
  } catch (e) {
    throw new SessionCreateError(where, describeError(e), e);
  }
  return {
    backend, session, info, graph, kvType: entry.compute, hasLora: entry.lora,
    ...(device ? { device } : {}),
    release: () => session.release(),
  };
}

export { ort };
