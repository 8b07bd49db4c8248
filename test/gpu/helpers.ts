import { expect } from 'vitest';
import { readTensor, type Precision } from '../../src/gpu/buffers';
import { recordSequence, type PreparedDispatch } from '../../src/gpu/kernels/common';
import type { TestGpu } from '../setup/webgpu';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale), never all zero. */
export function randomArray(rand: () => number, n: number, scale = 1, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + (rand() * 2 - 1) * scale;
  return out;
}

export function randomInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** Fills a buffer with NaN so any element a kernel forgets to write fails the comparison. */
export function poison(gpu: TestGpu, buffer: GPUBuffer, precision: Precision = 'f32'): void {
  const bytes = new Uint8Array(buffer.size);
  const view = new DataView(bytes.buffer);
  if (precision === 'f32') for (let i = 0; i + 4 <= bytes.length; i += 4) view.setUint32(i, 0x7fc00000, true);
  else for (let i = 0; i + 2 <= bytes.length; i += 2) view.setUint16(i, 0x7e00, true);
  gpu.device.queue.writeBuffer(buffer, 0, bytes);
}

/** Records the dispatches into one encoder, submits, and fails on any validation error. */
export async function runDispatches(gpu: TestGpu, dispatches: readonly PreparedDispatch[]): Promise<void> {
  const encoder = gpu.device.createCommandEncoder();
  recordSequence(encoder, dispatches);
  gpu.device.queue.submit([encoder.finish()]);
  await gpu.device.queue.onSubmittedWorkDone();
}

/** Runs `body` inside validation + out-of-memory error scopes and fails on the first error. */
export async function withErrorScope<T>(gpu: TestGpu, body: () => Promise<T> | T): Promise<T> {
  gpu.device.pushErrorScope('out-of-memory');
  gpu.device.pushErrorScope('validation');
  const result = await body();
  const validation = await gpu.device.popErrorScope();
  const oom = await gpu.device.popErrorScope();
  expect(validation?.message ?? null, 'WebGPU validation error').toBeNull();
  expect(oom?.message ?? null, 'WebGPU out-of-memory error').toBeNull();
  return result;
}

export async function read(gpu: TestGpu, buffer: GPUBuffer, count: number, precision: Precision = 'f32'): Promise<Float32Array> {
  return readTensor(gpu.device, buffer, count, precision);
}

/**
 * Asserts |actual - expected| <= tol * max(|expected|, rms(expected)) element-wise: relative error
 * for large values, and relative to the tensor's scale where a sum cancels to near zero.
 */
export function expectClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let sq = 0;
  for (const v of expected) sq += v * v;
  const rms = Math.sqrt(sq / Math.max(1, expected.length)) || 1;
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const err = Number.isFinite(a) ? Math.abs(a - e) / Math.max(Math.abs(e), rms) : Infinity;
    if (!(err <= worstErr)) {
      worstErr = err;
      worst = i;
    }
  }
  if (worstErr > tol) {
    expect.fail(
      `${what}: relative error ${worstErr.toExponential(2)} > ${tol} at index ${worst} (got ${actual[worst]}, expected ${expected[worst]})`,
    );
  }
}
