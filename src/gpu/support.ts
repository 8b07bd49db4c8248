/** What the page can honestly offer on this browser's WebGPU, in words for the UI. */
export interface WebGpuSupport {
  available: boolean;
  shaderF16: boolean;
  message: string;
}

export async function describeWebGpuSupport(nav: { gpu?: GPU }): Promise<WebGpuSupport> {
  if (!nav.gpu) {
    return {
      available: false,
      shaderF16: false,
      message: 'WebGPU is not available in this browser: the generator runs on the CPU reference and the base model on WebAssembly.',
    };
  }
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) {
    return {
      available: false,
      shaderF16: false,
      message: 'WebGPU is present but no GPU adapter was granted: falling back to the CPU paths.',
    };
  }
  const shaderF16 = adapter.features.has('shader-f16');
  return {
    available: true,
    shaderF16,
    message: `WebGPU ready (${shaderF16 ? 'f16 and f32' : 'f32 only'} kernels).`,
  };
}
