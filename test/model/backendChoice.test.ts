/**
 * The Auto backend rule (src/model/backendChoice.ts) and the software-adapter test behind it
 * (src/gpu/support.ts): on the adapter names real drivers report, and on a real adapter — Dawn on
 * SwiftShader, the software renderer this machine has (npm run test:unit sets it up).
 */
import { describe, expect, it } from 'vitest';
import { create, globals } from 'webgpu';
import { describeWebGpuSupport, softwareAdapterName, type AdapterIdentity } from '../../src/gpu/support';
import { decideBackend, wasmNotice } from '../../src/model/backendChoice';

const identity = (fields: Partial<AdapterIdentity>): AdapterIdentity => ({ vendor: '', architecture: '', device: '', description: '', ...fields });

describe('softwareAdapterName', () => {
  it('names software renderers by what their drivers report', () => {
    expect(softwareAdapterName(identity({ vendor: 'google', architecture: 'swiftshader' }))).toBe('SwiftShader');
    expect(softwareAdapterName(identity({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe('llvmpipe');
    expect(softwareAdapterName(identity({ description: 'Microsoft Basic Render Driver' }))).toBe('Microsoft WARP');
    expect(softwareAdapterName(identity({ vendor: 'mesa', description: 'lavapipe' }))).toBe('lavapipe');
  });

  it('trusts the browser when it flags a fallback adapter, and passes hardware adapters', () => {
    expect(softwareAdapterName(identity({ vendor: 'unknown', isFallbackAdapter: true }))).toBe('a fallback adapter');
    expect(softwareAdapterName(identity({ vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false }))).toBeNull();
    expect(softwareAdapterName(identity({ vendor: 'apple', architecture: 'metal-3' }))).toBeNull();
    // "warp" only as a word: a GPU whose name merely contains the letters is hardware.
    expect(softwareAdapterName(identity({ vendor: 'intel', description: 'Warpath Xe' }))).toBeNull();
  });
});

describe('decideBackend', () => {
  Object.assign(globalThis, globals);
  const dawn = create([]) as unknown as GPU;

  it('Auto on a software adapter (Dawn on SwiftShader) picks WebAssembly and says why', async () => {
    const decision = await decideBackend('auto', dawn);
    expect(decision.backend).toBe('wasm');
    expect(decision.adapter).toMatch(/swiftshader/i);
    expect(decision.reason).toMatch(/^Auto chose WebAssembly: the only WebGPU adapter here is SwiftShader, a software renderer/);
    expect(wasmNotice(decision.reason ?? '')).toMatch(/adapter generation \(the generator on onnxruntime-web WebAssembly/);
    const support = await describeWebGpuSupport({ gpu: dawn });
    expect(support).toMatchObject({ kind: 'software', label: 'No GPU: runs on the CPU' });
  });

  it('takes WebGPU and WebAssembly as asked, and Auto without WebGPU is WebAssembly', async () => {
    expect(await decideBackend('webgpu', dawn)).toMatchObject({ backend: 'webgpu', reason: null });
    expect(await decideBackend('wasm', dawn)).toMatchObject({ backend: 'wasm', reason: 'You chose WebAssembly.' });
    expect(await decideBackend('auto', undefined)).toMatchObject({ backend: 'wasm', reason: 'WebGPU is not available in this browser.' });
  });
});
