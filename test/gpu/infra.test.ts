import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTensorBuffer,
  uploadTensor,
  decodeTensor,
  encodeTensor,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  tensorByteSize,
} from '../../src/gpu/buffers';
import { acquireDevice } from '../../src/gpu/device';
import { NoAdapterError, ShaderCompilationError, ShaderF16SupportError, WebGpuNotAvailableError } from '../../src/gpu/errors';
import { linearGrid, recordSequence } from '../../src/gpu/kernels/common';
import { createLayerNormProgram, prepareLayerNorm } from '../../src/gpu/kernels/layerNorm';
import { PipelineCache } from '../../src/gpu/pipelineCache';
import { preprocessWgsl } from '../../src/gpu/shaderSource';
import { PassTimer } from '../../src/gpu/timing';
import { getTestDevice, type TestGpu } from '../setup/webgpu';

describe('preprocessWgsl', () => {
  const src = ['a', '// #if F16', 'f16 line', '// #if X', 'f16 and x', '// #else', 'f16 not x', '// #endif', '// #else', 'f32 line', '// #endif', 'z'].join('\n');

  it('keeps the live branches, nested', () => {
    expect(preprocessWgsl(src, { F16: true, X: true })).toBe('a\nf16 line\nf16 and x\nz');
    expect(preprocessWgsl(src, { F16: true })).toBe('a\nf16 line\nf16 not x\nz');
    expect(preprocessWgsl(src, {})).toBe('a\nf32 line\nz');
  });

  it('rejects unbalanced directives with the line', () => {
    expect(() => preprocessWgsl('// #endif', {})).toThrow(/stray "\/\/ #endif" at line 1/);
    expect(() => preprocessWgsl('// #if A\nx', {})).toThrow(/unterminated/);
    expect(() => preprocessWgsl('// #if A\n// #else\n// #else\n// #endif', {})).toThrow(/stray "\/\/ #else" at line 3/);
  });
});

describe('f16 host conversion', () => {
  it('round-trips representable values and rounds to nearest even', () => {
    for (const v of [0, -0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 0.333251953125]) {
      expect(float16BitsToFloat32(float32ToFloat16Bits(v))).toBe(v);
    }
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie: to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: to even (up)
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00); // overflow: infinity
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('pads odd f16 lengths to 4 bytes', () => {
    expect(tensorByteSize(3, 'f16')).toBe(8);
    const data = new Float32Array([1.5, -2, 0.25]);
    const bytes = encodeTensor(data, 'f16');
    expect(bytes.byteLength).toBe(8);
    expect(Array.from(decodeTensor(bytes.buffer as ArrayBuffer, 3, 'f16'))).toEqual([1.5, -2, 0.25]);
  });
});

describe('linearGrid', () => {
  it('splits large 1-D dispatches under the per-dimension limit, covering every workgroup', () => {
    for (const n of [1, 65535, 65536, 200001]) {
      const [x, y, z] = linearGrid(n);
      expect(x).toBeLessThanOrEqual(65535);
      expect(x * y * z).toBeGreaterThanOrEqual(n);
    }
  });
});

describe('acquireDevice errors', () => {
  it('says when WebGPU is missing or grants no adapter', async () => {
    await expect(acquireDevice(undefined)).rejects.toThrow(WebGpuNotAvailableError);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(acquireDevice(noAdapter)).rejects.toThrow(NoAdapterError);
  });
});

describe('pipeline cache and device features', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it('compiles a (shader, defines, overrides) configuration once', () => {
    const cache = new PipelineCache(gpu.device);
    const a = createLayerNormProgram({ shape: { batch: 1, n: 2, h: 3, w: 4 } });
    const b = createLayerNormProgram({ shape: { batch: 1, n: 2, h: 3, w: 4 } });
    const c = createLayerNormProgram({ shape: { batch: 1, n: 2, h: 3, w: 5 } });
    expect(a.key).toBe(b.key);
    expect(a.key).not.toBe(c.key);
    expect(cache.get(a.spec)).toBe(cache.get(b.spec));
    cache.get(c.spec);
    expect(cache.size).toBe(2);
  });

  it('reports WGSL errors as ShaderCompilationError', async () => {
    const cache = new PipelineCache(gpu.device);
    const spec = { label: 'broken', source: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', defines: {}, constants: {} };
    // The module's own validation error is expected; keep it out of the uncaptured-error log.
    gpu.device.pushErrorScope('validation');
    await expect(cache.getAsync(spec)).rejects.toThrow(ShaderCompilationError);
    expect((await gpu.device.popErrorScope())?.message).toMatch(/abstract-float/);
  });

  it('refuses f16 kernels without shader-f16', () => {
    if (gpu.shaderF16) {
      console.info('adapter has shader-f16: the refusal path is not reachable here');
      return;
    }
    const buffer = gpu.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
    expect(() =>
      prepareLayerNorm(gpu, { shape: { batch: 1, n: 1, h: 2, w: 2 }, eps: 1e-5, precision: 'f16' }, { x: buffer, gamma: buffer, beta: buffer, y: buffer }),
    ).toThrow(ShaderF16SupportError);
  });
});

describe('PassTimer', () => {
  it('times a recorded sequence where timestamp-query is granted', async () => {
    const gpu = await getTestDevice();
    if (!gpu.timestampQuery) {
      console.info('timestamp-query not granted on this adapter: PassTimer not exercised');
      return;
    }
    const shape = { batch: 1, n: 4, h: 8, w: 8 };
    const x = uploadTensor(gpu.device, new Float32Array(256).map((_, i) => Math.sin(i)));
    const affine = uploadTensor(gpu.device, new Float32Array(64).fill(1));
    const y = createTensorBuffer(gpu.device, 256);
    const d = prepareLayerNorm(gpu, { shape, eps: 1e-5 }, { x, gamma: affine, beta: affine, y });
    const timer = new PassTimer(gpu.device, 1);
    const encoder = gpu.device.createCommandEncoder();
    recordSequence(encoder, [d], 'timed', timer.timestampWrites(0));
    timer.resolve(encoder);
    gpu.device.queue.submit([encoder.finish()]);
    const [ms] = await timer.read();
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(10_000);
    timer.destroy();
  });
});
