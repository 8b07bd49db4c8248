/**
 * One class per GPU failure a user can meet. Each message says what happened and what to do, so
 * the UI can show `error.message` as it is.
 */
export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class WebGpuNotAvailableError extends GpuError {
  constructor() {
    super(
      'WebGPU is not available here (no navigator.gpu). Use a browser with WebGPU enabled, or the CPU fallback.',
    );
  }
}

export class NoAdapterError extends GpuError {
  constructor() {
    super(
      'WebGPU is present but no GPU adapter was granted. Check that hardware acceleration is on, or use the CPU fallback.',
    );
  }
}

export class DeviceRequestError extends GpuError {
  constructor(cause: unknown) {
    super(`The GPU adapter refused to create a device: ${describe(cause)}. Reload the page to try again.`);
  }
}

export class DeviceLostError extends GpuError {
  constructor(
    readonly reason: GPUDeviceLostReason | 'unknown',
    detail: string,
  ) {
    super(`The GPU device was lost (${reason}${detail ? `: ${detail}` : ''}). Reload the page to start again.`);
  }
}

export class ShaderF16SupportError extends GpuError {
  constructor(kernel: string) {
    super(`Kernel "${kernel}" was asked for f16, but this GPU lacks the "shader-f16" feature. Use the f32 kernels.`);
  }
}

/** A kernel was given tensors whose shapes do not fit together; the message names the shapes. */
export class KernelInputError extends GpuError {
  constructor(kernel: string, detail: string) {
    super(`${kernel}: ${detail}`);
  }
}

export class ShaderCompilationError extends GpuError {
  constructor(label: string, messages: readonly string[]) {
    super(`WGSL for "${label}" failed to compile:\n${messages.join('\n')}`);
  }
}

export class GpuReadbackError extends GpuError {
  constructor(cause: unknown) {
    super(`Reading results back from the GPU failed: ${describe(cause)}.`);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
