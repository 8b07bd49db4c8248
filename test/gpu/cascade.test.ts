/**
 * The whole HyperConvLayer (layer norm -> 4 axis convs -> combine -> length conv -> residual)
 * prepared once and recorded into ONE command encoder, as the generator runtime will do; compared
 * with the same composition of the CPU references.
 */
import { beforeAll, describe, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { prepareAxisConv } from '../../src/gpu/kernels/axisConv';
import type { PreparedDispatch } from '../../src/gpu/kernels/common';
import { prepareCombine, prepareResidualAdd } from '../../src/gpu/kernels/elementwise';
import { prepareLayerNorm } from '../../src/gpu/kernels/layerNorm';
import { axisConvReference } from '../../src/gpu/reference/axisConv';
import { combineReference, residualAddReference } from '../../src/gpu/reference/elementwise';
import { layerNormReference } from '../../src/gpu/reference/layerNorm';
import { elementCount, type ActivationShape } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

type Dims = [number, number, number]; // (N, H, W)

const EPS = 1e-5;
const TOL = 5e-5; // seven kernels chained in f32

describe('HyperConvLayer cascade in one encoder (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each([
    { from: [3, 5, 7] as Dims, to: [4, 6, 3] as Dims, k: 3, batch: 2 },
    { from: [4, 6, 5] as Dims, to: [4, 6, 5] as Dims, k: 3, batch: 1 }, // residual layer
    { from: [2, 3, 9] as Dims, to: [5, 1, 4] as Dims, k: 5, batch: 1 },
  ])('$from -> $to, k=$k, batch $batch', async ({ from, to, k, batch }) => {
    const rand = seededRandom(from.concat(to, [k]).reduce((s, v) => s * 7 + v, 1));
    const [n, h, w] = from;
    const [n2, h2, w2] = to;
    const s0: ActivationShape = { batch, n, h, w };
    const fan = (c: number): number => 1 / Math.sqrt(c * k * k);
    const p = {
      x: randomArray(rand, elementCount(s0)),
      normW: randomArray(rand, h * w, 0.5, 1),
      normB: randomArray(rand, h * w, 0.1),
      aW: randomArray(rand, w2 * w * k * k, fan(w)),
      aH: randomArray(rand, h2 * h * k * k, fan(h)),
      bH: randomArray(rand, h2 * h * k * k, fan(h)),
      bW: randomArray(rand, w2 * w * k * k, fan(w)),
      bias: randomArray(rand, h2 * w2, 0.1),
      lenW: randomArray(rand, n2 * n * k * k, fan(n)),
      lenB: randomArray(rand, n2, 0.1),
    };
    const residual = n === n2 && h === h2 && w === w2;

    // CPU: the same composition of references.
    const z = layerNormReference(p.x, p.normW, p.normB, s0, EPS);
    const a1 = axisConvReference(z, s0, p.aW, null, 'W', w2, k);
    const A = axisConvReference(a1.y, a1.shape, p.aH, null, 'H', h2, k);
    const b1 = axisConvReference(z, s0, p.bH, null, 'H', h2, k);
    const B = axisConvReference(b1.y, b1.shape, p.bW, null, 'W', w2, k);
    const c = combineReference(A.y, B.y, p.bias, h2 * w2);
    const lenOut = axisConvReference(c, A.shape, p.lenW, p.lenB, 'N', n2, k);
    const expected = residual ? residualAddReference(p.x, lenOut.y) : lenOut.y;

    // GPU: buffers allocated once, dispatches prepared once, one encoder and one pass.
    const dev = gpu.device;
    const up = (a: Float32Array): GPUBuffer => uploadTensor(dev, a);
    const buf = (shape: ActivationShape): GPUBuffer => {
      const b = createTensorBuffer(dev, elementCount(shape));
      poison(gpu, b);
      return b;
    };
    const x = up(p.x);
    const zBuf = buf(s0);
    const a1Buf = buf(a1.shape);
    const aBuf = buf(A.shape);
    const b1Buf = buf(b1.shape);
    const bBuf = buf(B.shape);
    const cBuf = buf(A.shape);
    const outBuf = buf(lenOut.shape);
    const conv = (shape: ActivationShape, axis: 'N' | 'H' | 'W', outChannels: number) => ({ shape, axis, outChannels, k, hasBias: false });
    const dispatches: PreparedDispatch[] = await withErrorScope(gpu, () => [
      prepareLayerNorm(gpu, { shape: s0, eps: EPS }, { x, gamma: up(p.normW), beta: up(p.normB), y: zBuf }),
      prepareAxisConv(gpu, conv(s0, 'W', w2), { x: zBuf, weight: up(p.aW), y: a1Buf }),
      prepareAxisConv(gpu, conv(a1.shape, 'H', h2), { x: a1Buf, weight: up(p.aH), y: aBuf }),
      prepareAxisConv(gpu, conv(s0, 'H', h2), { x: zBuf, weight: up(p.bH), y: b1Buf }),
      prepareAxisConv(gpu, conv(b1.shape, 'W', w2), { x: b1Buf, weight: up(p.bW), y: bBuf }),
      prepareCombine(gpu, { shape: A.shape }, { pathA: aBuf, pathBPre: bBuf, bias: up(p.bias), y: cBuf }),
      prepareAxisConv(gpu, { ...conv(A.shape, 'N', n2), hasBias: true }, { x: cBuf, weight: up(p.lenW), bias: up(p.lenB), y: outBuf }),
      ...(residual ? [prepareResidualAdd(gpu, { count: elementCount(s0), inPlace: true }, { a: x, b: outBuf })] : []),
    ]);
    await withErrorScope(gpu, () => runDispatches(gpu, dispatches));
    const got = await read(gpu, residual ? x : outBuf, expected.length);
    expectClose(got, expected, TOL, 'HyperConvLayer');
  });
});
