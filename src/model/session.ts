/**
 * The base model's onnxruntime-web session: `model_lora.onnx` (docs/onnx-export.md), one session for
 * the base model (lora_scale 0) and every adapter (other A/B input tensors), so switching never
 * reloads anything.
 *
 * - WebGPU: the session runs on the application's own GPUDevice (the `device` option of the
 *   `webgpu` execution provider; `ort.env.webgpu.device` is not honoured by this ORT build, see
 *   docs/onnx-export.md), so LoRA matrices made by our WGSL kernels reach it as GPU buffers
 *   (`Tensor.fromGpuBuffer`), and `present.*` stay on the GPU (`preferredOutputLocation`).
 * - WASM: the same file on onnxruntime-web's CPU backend; the LoRA is applied on the CPU by the same
 *   graph (A/B as CPU tensors).
 */
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { EncoderRun } from './encoder';
import { ModelLoadError, SessionCreateError, describeError } from './errors';

export type Backend = 'webgpu' | 'wasm';

/** `export.json` of trainer/export/onnx_model.py: the parts the runtime reads. */
export interface ExportInfo {
  config: {
    vocab_size: number;
    hidden_size: number;
    num_hidden_layers: number;
    num_key_value_heads: number;
    head_dim: number;
    max_position_embeddings: number;
  };
  lora: {
    targets: string[];
    rank: number;
    shapes: Record<string, { A: [number, number]; B: [number, number] }>;
  };
  source: { model_safetensors_sha256: string };
}

export interface ByteProgress {
  file: string;
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
}

/** Fetches a file with byte progress. */
export async function fetchBytes(url: string, onProgress?: (p: ByteProgress) => void, signal?: AbortSignal): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    throw new ModelLoadError(url, describeError(e), e);
  }
  if (!response.ok) throw new ModelLoadError(url, `HTTP ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get('content-length') ?? 0) || 0;
  const file = url.split('/').pop() ?? url;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    const now = Date.now();
    if (now - lastReport > 100) {
      lastReport = now;
      onProgress?.({ file, loaded, total });
    }
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  onProgress?.({ file, loaded, total: total || loaded });
  return out;
}

export async function fetchJson<T>(url: string): Promise<T> {
  const bytes = await fetchBytes(url);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new ModelLoadError(url, `not valid JSON (${describeError(e)})`, e);
  }
}

let ortConfigured = false;
/** Points ORT at the WASM binary Vite serves with the app (never a CDN: no request leaves the page). */
export function configureOrt(): void {
  if (ortConfigured) return;
  ortConfigured = true;
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, import.meta.url).href };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

export interface ModelSession {
  readonly backend: Backend;
  readonly session: ort.InferenceSession;
  readonly info: ExportInfo;
  /** Present only for WebGPU. */
  readonly device?: GPUDevice;
  release(): Promise<void>;
}

/**
 * An ORT session on `backend`: on WebGPU through the EP option `{name: 'webgpu', device}`, which
 * shares the engine's GPUDevice (docs/decisions.md), else on WASM. `extra` adds session options
 * (e.g. where outputs stay).
 */
async function openSession(
  bytes: Uint8Array,
  backend: Backend,
  device: GPUDevice | undefined,
  extra: Partial<ort.InferenceSession.SessionOptions> = {},
): Promise<ort.InferenceSession> {
  configureOrt();
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...extra };
  if (backend === 'webgpu') {
    if (!device) throw new SessionCreateError('WebGPU', 'no GPUDevice was given');
    // The `device` EP option is read by ort.webgpu.mjs but not declared in its typings.
    const ep: ort.InferenceSession.WebGpuExecutionProviderOption & { device: GPUDevice } = { name: 'webgpu', device };
    options.executionProviders = [ep];
  } else {
    options.executionProviders = ['wasm'];
  }
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (e) {
    throw new SessionCreateError(backend === 'webgpu' ? 'WebGPU' : 'WebAssembly (CPU)', describeError(e), e);
  }
}

export async function createModelSession(
  modelBytes: Uint8Array,
  info: ExportInfo,
  backend: Backend,
  device?: GPUDevice,
): Promise<ModelSession> {
  // On WebGPU the KV cache stays on the GPU between steps; only the logits come back.
  const extra: Partial<ort.InferenceSession.SessionOptions> = {};
  if (backend === 'webgpu') {
    const where: Record<string, 'gpu-buffer' | 'cpu'> = { logits: 'cpu' };
    for (let l = 0; l < info.config.num_hidden_layers; l++) {
      where[`present.${l}.key`] = 'gpu-buffer';
      where[`present.${l}.value`] = 'gpu-buffer';
    }
    extra.preferredOutputLocation = where;
  }
  const session = await openSession(modelBytes, backend, device, extra);
  return {
    backend,
    session,
    info,
    ...(device ? { device } : {}),
    release: () => session.release(),
  };
}

/**
 * The prompt-condition encoder (`encoder.onnx`, src/model/encoder.ts) on the model's backend: on
 * WebGPU on the same GPUDevice as the model (its output comes back to the CPU: the condition is
 * small and is written into the generator's buffer), else on WASM.
 */
export async function createEncoderSession(
  bytes: Uint8Array,
  backend: Backend,
  device?: GPUDevice,
): Promise<{ run: EncoderRun; release(): Promise<void> }> {
  const session = await openSession(bytes, backend, device);
  const run: EncoderRun = async (inputIds, attentionMask, batch, seq) => {
    const feeds = {
      input_ids: new ort.Tensor('int64', inputIds, [batch, seq]),
      attention_mask: new ort.Tensor('int64', attentionMask, [batch, seq]),
    };
    const out = await session.run(feeds);
    const hidden = out['last_hidden_state'];
    if (!hidden) throw new SessionCreateError(backend === 'webgpu' ? 'WebGPU' : 'WebAssembly (CPU)', 'encoder.onnx has no last_hidden_state output');
    try {
      const data = hidden.location === 'cpu' ? hidden.data : await hidden.getData();
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    } finally {
      hidden.dispose();
    }
  };
  return { run, release: () => session.release() };
}

export { ort };
