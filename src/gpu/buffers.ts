import { float16BitsToFloat32, float32ToFloat16Bits } from '../numeric/float16';
import { GpuReadbackError } from './errors';

/** Buffer helpers. Tensors live in storage buffers as f32 or f16; host data is always Float32Array. */

export type Precision = 'f32' | 'f16';

export function bytesPerElement(precision: Precision): number {
  return precision === 'f16' ? 2 : 4;
}

/** Byte size for `count` elements, rounded up to 4 (WebGPU buffer sizes and copies need it). */
export function tensorByteSize(count: number, precision: Precision): number {
  return Math.max(4, Math.ceil((count * bytesPerElement(precision)) / 4) * 4);
}

// Read at call time, not import time, so this module loads where WebGPU globals are missing.
function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** An uninitialised storage buffer for `count` elements (usable as copy source and destination). */
export function createTensorBuffer(
  device: GPUDevice,
  count: number,
  precision: Precision = 'f32',
  label?: string,
): GPUBuffer {
  return device.createBuffer({
    size: tensorByteSize(count, precision),
    usage: storageUsage(),
    ...(label ? { label } : {}),
  });
}

/** A storage buffer holding `data`, converted to `precision`. */
export function uploadTensor(
  device: GPUDevice,
  data: Float32Array,
  precision: Precision = 'f32',
  label?: string,
): GPUBuffer {
  const buffer = createTensorBuffer(device, data.length, precision, label);
  writeTensor(device, buffer, data, precision);
  return buffer;
}

/** Writes `data` at element `offset` (queue write; ordered before later submits). */
export function writeTensor(
  device: GPUDevice,
  buffer: GPUBuffer,
  data: Float32Array,
  precision: Precision = 'f32',
  offset = 0,
): void {
  const bytes = encodeTensor(data, precision);
  const byteOffset = offset * bytesPerElement(precision);
  if (byteOffset % 4 !== 0) throw new Error(`writeTensor: f16 offset ${offset} must be even`);
  device.queue.writeBuffer(buffer, byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A storage buffer of u32 values (index tables). */
export function uploadU32(device: GPUDevice, data: Uint32Array, label?: string): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, data.byteLength),
    usage: storageUsage(),
    ...(label ? { label } : {}),
  });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** A uniform buffer holding `bytes` (rounded up to 16 bytes). */
export function uploadUniform(device: GPUDevice, bytes: ArrayBuffer, label?: string): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(16, Math.ceil(bytes.byteLength / 16) * 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    ...(label ? { label } : {}),
  });
  device.queue.writeBuffer(buffer, 0, bytes);
  return buffer;
}

/** Copies `count` elements from element `offset` of `buffer` back to the host as f32. */
export async function readTensor(
  device: GPUDevice,
  buffer: GPUBuffer,
  count: number,
  precision: Precision = 'f32',
  offset = 0,
): Promise<Float32Array> {
  const byteOffset = offset * bytesPerElement(precision);
  if (byteOffset % 4 !== 0) throw new Error(`readTensor: f16 offset ${offset} must be even`);
  const size = tensorByteSize(count, precision);
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: 'readTensor' });
  encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ);
    return decodeTensor(staging.getMappedRange().slice(0), count, precision);
  } catch (cause) {
    throw new GpuReadbackError(cause);
  } finally {
    staging.destroy();
  }
}

export function encodeTensor(data: Float32Array, precision: Precision): Uint8Array {
  if (precision === 'f32') {
    const copy = new Uint8Array(tensorByteSize(data.length, 'f32'));
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return copy;
  }
  const halves = new Uint16Array(tensorByteSize(data.length, 'f16') / 2);
  for (let i = 0; i < data.length; i++) halves[i] = float32ToFloat16Bits(data[i] ?? 0);
  return new Uint8Array(halves.buffer);
}

export function decodeTensor(raw: ArrayBuffer, count: number, precision: Precision): Float32Array {
  if (precision === 'f32') return new Float32Array(raw, 0, count).slice();
  const halves = new Uint16Array(raw, 0, count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(halves[i] ?? 0);
  return out;
}

export { float16BitsToFloat32, float32ToFloat16Bits };

/** Rounds every value through f16 (what an f16 kernel's inputs really hold). */
export function roundToF16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = float16BitsToFloat32(float32ToFloat16Bits(data[i] ?? 0));
  return out;
}
