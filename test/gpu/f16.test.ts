/**
 * f16 storage variants of every kernel, on adapters with `shader-f16` only. SwiftShader (the CI
 * adapter) has no shader-f16, so there these tests are skipped and say so; the f32 suite is the
 * complete one. Inputs are rounded to f16 before the reference runs, so the tolerance only covers
 * f16 storage of intermediates/outputs (2^-11 relative per rounding) and the f32 accumulation.
 */
import { describe, expect, it } from 'vitest';
import { createTensorBuffer, roundToF16, uploadTensor, type Precision } from '../../src/gpu/buffers';
import { prepareAxisConv } from '../../src/gpu/kernels/axisConv';
import type { PreparedDispatch } from '../../src/gpu/kernels/common';
import { prepareDetokenize } from '../../src/gpu/kernels/detokenize';
import { prepareCombine, prepareResidualAdd } from '../../src/gpu/kernels/elementwise';
import { prepareLayerNorm } from '../../src/gpu/kernels/layerNorm';
import { prepareLoraMatmul, prepareLoraMerge } from '../../src/gpu/kernels/lora';
import * as ref from '../../src/gpu/reference';
import { elementCount, packLayout } from '../../src/gpu/shapes';
import { getTestDevice } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

const gpu = await getTestDevice();
const F16: Precision = 'f16';
const TOL = 4e-3;

if (!gpu.shaderF16) {
  console.info(`f16 kernel tests skipped: this adapter (${gpu.adapter.info.description || gpu.adapter.info.vendor || 'unknown'}) has no shader-f16`);
}

async function run(
  count: number,
  prepare: (y: GPUBuffer) => PreparedDispatch,
): Promise<Float32Array> {
  const y = createTensorBuffer(gpu.device, count, F16);
  poison(gpu, y, F16);
  const d = await withErrorScope(gpu, () => prepare(y));
  await withErrorScope(gpu, () => runDispatches(gpu, [d]));
  return read(gpu, y, count, F16);
}

describe.skipIf(!gpu.shaderF16)('kernels with f16 storage', () => {
  const rand = seededRandom(16);
  const r = (n: number, scale = 1, offset = 0): Float32Array => roundToF16(randomArray(rand, n, scale, offset));
  const up = (a: Float32Array): GPUBuffer => uploadTensor(gpu.device, a, F16);

  it('layerNorm', async () => {
    const shape = { batch: 2, n: 3, h: 5, w: 7 };
    const [x, g, b] = [r(elementCount(shape), 2, 0.5), r(35, 1, 1), r(35)];
    const got = await run(x.length, (y) => prepareLayerNorm(gpu, { shape, eps: 1e-5, precision: F16 }, { x: up(x), gamma: up(g), beta: up(b), y }));
    expectClose(got, ref.layerNormReference(x, g, b, shape, 1e-5), TOL, 'layerNorm f16');
  });

  it.each(['N', 'H', 'W'] as const)('axisConv, channel axis %s', async (axis) => {
    const shape = { batch: 1, n: 5, h: 6, w: 7 };
    const cin = axis === 'N' ? 5 : axis === 'H' ? 6 : 7;
    const [x, wt, bias] = [r(elementCount(shape)), r(4 * cin * 9, 0.2), r(4)];
    const expected = ref.axisConvReference(x, shape, wt, bias, axis, 4, 3);
    const got = await run(expected.y.length, (y) =>
      prepareAxisConv(gpu, { shape, axis, outChannels: 4, k: 3, hasBias: true, precision: F16 }, { x: up(x), weight: up(wt), bias: up(bias), y }),
    );
    expectClose(got, expected.y, TOL, `axisConv ${axis} f16`);
  });

  it('combine and residualAdd', async () => {
    const shape = { batch: 1, n: 3, h: 4, w: 9 };
    const n = elementCount(shape);
    const [a, b, bias] = [r(n), r(n, 5), r(36)];
    const got = await run(n, (y) => prepareCombine(gpu, { shape, precision: F16 }, { pathA: up(a), pathBPre: up(b), bias: up(bias), y }));
    expectClose(got, ref.combineReference(a, b, bias, 36), TOL, 'combine f16');
    const sum = await run(n, (y) => prepareResidualAdd(gpu, { count: n, inPlace: false, precision: F16 }, { a: up(a), b: up(b), y }));
    expectClose(sum, ref.residualAddReference(a, b), TOL, 'residualAdd f16');
  });

  it('detokenize', async () => {
    const { entries, totalElements } = packLayout([
      { tokenOffset: 0, tokenCount: 2, rows: 3, cols: 7 },
      { tokenOffset: 2, tokenCount: 3, rows: 5, cols: 5 },
    ], 2);
    const [t, m, s] = [r(60), r(60, 0.1), r(60, 0.05, 0.1)];
    const got = await run(totalElements, (packed) =>
      prepareDetokenize(gpu, { tokenCount: 5, tokenSize: 12, layout: entries, outputElements: totalElements, precision: F16 }, { tokens: up(t), mean: up(m), std: up(s), packed }),
    );
    const expected = ref.detokenizeReference(t, m, s, 12, entries, totalElements);
    expect(got.length).toBe(expected.length);
    expectClose(got.subarray(0, 21), expected.subarray(0, 21), TOL, 'detokenize f16 A');
    expectClose(got.subarray(22, 47), expected.subarray(22, 47), TOL, 'detokenize f16 B');
  });

  it('loraMerge and loraMatmul', async () => {
    const shape = { outFeatures: 20, inFeatures: 24, rank: 4 };
    const [w, a, b, x] = [r(480), r(96, 0.3), r(80, 0.3), r(3 * 24)];
    const merged = await run(480, (m) => prepareLoraMerge(gpu, { shape, scale: 4, precision: F16 }, { w: up(w), a: up(a), b: up(b), merged: m }));
    expectClose(merged, ref.loraMergeReference(w, a, b, shape, 4), TOL, 'loraMerge f16');
    const y = await run(60, (out) =>
      prepareLoraMatmul(gpu, { shape, rows: 3, scale: 4, precision: F16 }, { x: up(x), w: up(w), a: up(a), b: up(b), y: out }),
    );
    expectClose(y, ref.loraMatmulReference(x, 3, w, a, b, shape, 4), TOL, 'loraMatmul f16');
  });
});
