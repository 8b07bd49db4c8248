/**
 * What this browser's WebGPU is, in words for people: a real GPU, a software adapter (no GPU at
 * all: Chrome's fallback adapter, SwiftShader, llvmpipe, WARP), or none. A software adapter runs
 * WGSL on the CPU through an emulated GPU; on this project's 2-core test machine it decoded the base
 * model at 0.24 tokens/s against about 100 on onnxruntime-web's WebAssembly backend on the same CPU
 * (docs/runtime.md, "Benchmark"), so callers treat it as "no GPU" unless the person asks for it.
 */

/** The parts of GPUAdapterInfo that name the adapter (a plain object in tests). */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Chrome 132+; undefined where the browser does not say. */
  isFallbackAdapter?: boolean;
}

/** Renderers that are software implementations of a GPU, by the names their drivers report. */
const SOFTWARE_RENDERERS: ReadonlyArray<[RegExp, string]> = [
  [/swiftshader/i, 'SwiftShader'],
  [/llvmpipe/i, 'llvmpipe'],
  [/lavapipe/i, 'lavapipe'],
  [/softpipe/i, 'softpipe'],
  [/microsoft basic render|\bwarp\b/i, 'Microsoft WARP'],
  [/\bsoftware\b/i, 'a software renderer'],
];

/**
 * The software renderer an adapter is ("SwiftShader"), "a fallback adapter" when the browser flags
 * it as one without a known name, or null for a hardware adapter.
 */
export function softwareAdapterName(info: AdapterIdentity): string | null {
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  for (const [pattern, name] of SOFTWARE_RENDERERS) if (pattern.test(text)) return name;
  return info.isFallbackAdapter === true ? 'a fallback adapter' : null;
}

/** The adapter's own words: "google swiftshader", "nvidia ampere ...", or "unnamed adapter". */
export function adapterLabel(info: AdapterIdentity): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unnamed adapter';
}

/** `adapter.info` with the older `adapter.isFallbackAdapter` where the browser still has only that. */
export function identityOf(adapter: GPUAdapter): AdapterIdentity {
  const info = adapter.info;
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fallback = typeof info.isFallbackAdapter === 'boolean' ? info.isFallbackAdapter : legacy;
  return {
    vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '',
    ...(fallback === undefined ? {} : { isFallbackAdapter: fallback }),
  };
}

export type WebGpuKind = 'gpu' | 'software' | 'none';

export interface WebGpuSupport {
  kind: WebGpuKind;
  shaderF16: boolean;
  /** A few words for a badge: "GPU ready", "No GPU: runs on the CPU". */
  label: string;
  /** One or two sentences behind the badge (hover or focus): which adapter, what it means here. */
  details: string;
}

export async function describeWebGpuSupport(nav: { gpu?: GPU }): Promise<WebGpuSupport> {
  if (!nav.gpu) {
    return {
      kind: 'none', shaderF16: false, label: 'No GPU: runs on the CPU',
      details: 'This browser has no WebGPU, so the model and the parameter generator run on the CPU (WebAssembly). Everything works, more slowly.',
    };
  }
  const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    return {
      kind: 'none', shaderF16: false, label: 'No GPU: runs on the CPU',
      details: 'This browser has WebGPU but offered no GPU adapter, so everything runs on the CPU (WebAssembly). Everything works, more slowly.',
    };
  }
  const identity = identityOf(adapter);
  const shaderF16 = adapter.features.has('shader-f16');
  const software = softwareAdapterName(identity);
  if (software !== null) {
    return {
      kind: 'software', shaderF16, label: 'No GPU: runs on the CPU',
      details: `The only WebGPU adapter here is ${software}, a software renderer that runs on the CPU, far slower than WebAssembly. ` +
        'Under Auto the model runs on WebAssembly; you can still choose WebGPU where the model is loaded.',
    };
  }
  return {
    kind: 'gpu', shaderF16, label: 'GPU ready',
    details: `WebGPU adapter: ${adapterLabel(identity)}. The model and the parameter generator run on it` +
      `${shaderF16 ? '' : ' (in 32-bit floats: this GPU has no 16-bit shader support)'}.`,
  };
}
