import { DeviceLostError, DeviceRequestError, NoAdapterError, WebGpuNotAvailableError } from './errors';

/** A device plus what the kernels need to know about it. */
export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** `shader-f16` was granted: the f16 kernel variants may be used. */
  shaderF16: boolean;
  /** `timestamp-query` was granted: passes may carry timestampWrites. */
  timestampQuery: boolean;
  /** Settles with a DeviceLostError when the device goes away (never for `destroy()`). */
  lost: Promise<DeviceLostError>;
}

export interface AcquireDeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for `shader-f16` when the adapter has it (default true). */
  wantShaderF16?: boolean;
  /** Ask for `timestamp-query` when the adapter has it (default true). */
  wantTimestampQuery?: boolean;
}

/**
 * Acquires a GPUDevice from `gpu` (navigator.gpu in a browser, Dawn's `create([])` in Node).
 * Optional features are requested only when the adapter offers them, so this never fails for
 * want of f16; check `shaderF16` before picking f16 kernels.
 */
export async function acquireDevice(
  gpu: GPU | undefined,
  options: AcquireDeviceOptions = {},
): Promise<GpuContext> {
  if (!gpu) throw new WebGpuNotAvailableError();
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
  );
  if (!adapter) throw new NoAdapterError();

  const features: GPUFeatureName[] = [];
  const shaderF16 = (options.wantShaderF16 ?? true) && adapter.features.has('shader-f16');
  const timestampQuery = (options.wantTimestampQuery ?? true) && adapter.features.has('timestamp-query');
  if (shaderF16) features.push('shader-f16');
  if (timestampQuery) features.push('timestamp-query');

  let device: GPUDevice;
  try {
    // Default limits suffice: every kernel keeps its workgroup tiles within 16 KiB and uses at
    // most 5 storage buffers, so the same kernels run on any conformant adapter.
    device = await adapter.requestDevice({ requiredFeatures: features });
  } catch (cause) {
    throw new DeviceRequestError(cause);
  }
  const lost = device.lost.then((info) => new DeviceLostError(info.reason ?? 'unknown', info.message));
  return { adapter, device, shaderF16, timestampQuery, lost };
}
