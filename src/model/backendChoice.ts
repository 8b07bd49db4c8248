/**
 * Which backend the engine runs on: the person's choice (Auto, WebGPU, WebAssembly) and the Auto
 * rule. Auto takes WebGPU only when the browser's adapter is a real GPU: a software adapter
 * (Chrome's fallback adapter, SwiftShader, llvmpipe, WARP; src/gpu/support.ts) decodes far slower
 * than WebAssembly on the same CPU, and so does the generator, so Auto prefers WebAssembly there.
 * WebGPU and WebAssembly are taken as asked (WebGPU fails the load when there is no adapter).
 * The decision also runs on the page (before loading) to say what Auto will pick.
 */
import { adapterLabel, identityOf, softwareAdapterName } from '../gpu/support';
import type { Backend } from './session';

export type BackendChoice = 'auto' | Backend;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

export interface BackendDecision {
  /** What to start: WebGPU (a device is requested next) or WebAssembly. */
  backend: Backend;
  /** Why WebAssembly, in a sentence for people; null when the backend is WebGPU. */
  reason: string | null;
  /** The same as a clause ("the only WebGPU adapter here is ..."), to follow "because"; null for WebGPU. */
  because: string | null;
  /** The adapter Auto looked at, in its own words; null when there was none to look at. */
  adapter: string | null;
}

/** Applies the choice (and, for Auto, the software-adapter rule) to this browser's WebGPU. */
export async function decideBackend(choice: BackendChoice, gpu: GPU | undefined): Promise<BackendDecision> {
  if (choice === 'wasm') return { backend: 'wasm', reason: 'You chose WebAssembly.', because: 'you chose it', adapter: null };
  if (choice === 'webgpu') return { backend: 'webgpu', reason: null, because: null, adapter: null };
  if (!gpu) return { backend: 'wasm', reason: 'WebGPU is not available in this browser.', because: 'this browser has no WebGPU', adapter: null };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    adapter = null;
  }
  if (!adapter) {
    return { backend: 'wasm', reason: 'WebGPU is not available in this browser (it offered no GPU adapter).', because: 'the browser offered no WebGPU adapter', adapter: null };
  }
  const identity = identityOf(adapter);
  const software = softwareAdapterName(identity);
  if (software === null) return { backend: 'webgpu', reason: null, because: null, adapter: adapterLabel(identity) };
  const because = `the only WebGPU adapter here is ${software}, a software renderer that is much slower than WebAssembly on the same CPU`;
  return { backend: 'wasm', reason: `Auto chose WebAssembly: ${because}.`, because, adapter: adapterLabel(identity) };
}

/**
 * What running on WebAssembly means, after the reason: the model, the adapters and the generator
 * all run on the CPU, and everything still works (no contradiction with the Generate tab).
 */
export function wasmNotice(reason: string): string {
  return `${reason} Everything runs on the CPU: the base model (onnxruntime-web WebAssembly), the adapters, and adapter generation ` +
    '(the generator on onnxruntime-web WebAssembly too: the same result as on a GPU).';
}
