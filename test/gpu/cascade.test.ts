/**
 * HyperConvLayers (layer norm -> 4 axis convs -> combine -> length conv -> residual) prepared once
 * and recorded into ONE command encoder, as the generator runtime will do; compared with the same
 * composition of the CPU references.
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
import { elementCount, type ActivationShape, type ChannelAxis } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

type Dims = [number, number, number]; // (N, H, W)

const EPS = 1e-5;
const TOL = 5e-5; // seven kernels chained in f32

interface LayerParams {
  from: Dims;
  to: Dims;
  k: number;
  normW: Float32Array;
  normB: Float32Array;
  aW: Float32Array;
  aH: Float32Array;
  bH: Float32Array;
  bW: Float32Array;
  bias: Float32Array;
  lenW: Float32Array;
  lenB: Float32Array;
}

function randomLayer(rand: () => number, from: Dims, to: Dims, k: number): LayerParams {
  const [n, h, w] = from;
  const [n2, h2, w2] = to;
  const fan = (c: number): number => 1 / Math.sqrt(c * k * k);
  return {
    from, to, k,
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
}

const shapeOf = (batch: number, [n, h, w]: Dims): ActivationShape => ({ batch, n, h, w });
const isResidual = (p: LayerParams): boolean => p.from.every((v, i) => v === p.to[i]);

function cpuLayer(x: Float32Array, batch: number, p: LayerParams): Float32Array {
  const s0 = shapeOf(batch, p.from);
  const [n2, h2, w2] = p.to;
  const z = layerNormReference(x, p.normW, p.normB, s0, EPS);
  const a1 = axisConvReference(z, s0, p.aW, null, 'W', w2, p.k);
  const A = axisConvReference(a1.y, a1.shape, p.aH, null, 'H', h2, p.k);
  const b1 = axisConvReference(z, s0, p.bH, null, 'H', h2, p.k);
  const B = axisConvReference(b1.y, b1.shape, p.bW, null, 'W', w2, p.k);
  const c = combineReference(A.y, B.y, p.bias, h2 * w2);
  const out = axisConvReference(c, A.shape, p.lenW, p.lenB, 'N', n2, p.k).y;
  return isResidual(p) ? residualAddReference(x, out) : out;
}

/** Allocates the layer's buffers once and prepares its dispatches; returns where the output is. */
function gpuLayer(gpu: TestGpu, x: GPUBuffer, batch: number, p: LayerParams): { dispatches: PreparedDispatch[]; out: GPUBuffer } {
  const dev = gpu.device;
  const s0 = shapeOf(batch, p.from);
  const [n2, h2, w2] = p.to;
  const sA1 = { ...s0, w: w2 };
  const sB1 = { ...s0, h: h2 };
  const sC = { ...s0, h: h2, w: w2 };
  const up = (a: Float32Array): GPUBuffer => uploadTensor(dev, a);
  const buf = (shape: ActivationShape): GPUBuffer => {
    const b = createTensorBuffer(dev, elementCount(shape));
    poison(gpu, b);
    return b;
  };
  const [z, a1, A, b1, B, c, out] = [s0, sA1, sC, sB1, sC, sC, shapeOf(batch, p.to)].map(buf) as [
    GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer,
  ];
  const conv = (shape: ActivationShape, axis: ChannelAxis, outChannels: number, hasBias = false) =>
    ({ shape, axis, outChannels, k: p.k, hasBias });
  const dispatches = [
    prepareLayerNorm(gpu, { shape: s0, eps: EPS }, { x, gamma: up(p.normW), beta: up(p.normB), y: z }),
    prepareAxisConv(gpu, conv(s0, 'W', w2), { x: z, weight: up(p.aW), y: a1 }),
    prepareAxisConv(gpu, conv(sA1, 'H', h2), { x: a1, weight: up(p.aH), y: A }),
    prepareAxisConv(gpu, conv(s0, 'H', h2), { x: z, weight: up(p.bH), y: b1 }),
    prepareAxisConv(gpu, conv(sB1, 'W', w2), { x: b1, weight: up(p.bW), y: B }),
    prepareCombine(gpu, { shape: sC }, { pathA: A, pathBPre: B, bias: up(p.bias), y: c }),
    prepareAxisConv(gpu, conv(sC, 'N', n2, true), { x: c, weight: up(p.lenW), bias: up(p.lenB), y: out }),
  ];
  if (!isResidual(p)) return { dispatches, out };
  dispatches.push(prepareResidualAdd(gpu, { count: elementCount(s0), inPlace: true }, { a: x, b: out }));
  return { dispatches, out: x };
}

async function checkBlock(gpu: TestGpu, features: Dims[], ks: number[], batch: number, seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const layers = ks.map((k, i) => randomLayer(rand, features[i]!, features[i + 1]!, k));
  const x0 = randomArray(rand, elementCount(shapeOf(batch, features[0]!)));
  const expected = layers.reduce((x, p) => cpuLayer(x, batch, p), x0);

  const dispatches: PreparedDispatch[] = [];
  const out = await withErrorScope(gpu, () =>
    layers.reduce((x, p) => {
      const layer = gpuLayer(gpu, x, batch, p);
      dispatches.push(...layer.dispatches);
      return layer.out;
    }, uploadTensor(gpu.device, x0)),
  );
  await withErrorScope(gpu, () => runDispatches(gpu, dispatches));
  expectClose(await read(gpu, out, expected.length), expected, TOL, `block ${JSON.stringify(features)}`);
}

describe('HyperConv cascade in one encoder (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each([
    { from: [3, 5, 7] as Dims, to: [4, 6, 3] as Dims, k: 3, batch: 2 },
    { from: [4, 6, 5] as Dims, to: [4, 6, 5] as Dims, k: 3, batch: 1 }, // residual layer
    { from: [2, 3, 9] as Dims, to: [5, 1, 4] as Dims, k: 5, batch: 1 },
  ])('one layer $from -> $to, k=$k, batch $batch', async ({ from, to, k, batch }) => {
    await checkBlock(gpu, [from, to], [k], batch, from.concat(to, [k]).reduce((s, v) => s * 7 + v, 1));
  });

  it('a three-layer block with a residual middle layer', async () => {
    await checkBlock(gpu, [[3, 4, 6], [5, 4, 4], [5, 4, 4], [2, 7, 3]], [3, 1, 5], 1, 99);
  });

  it("docs/generator-manifest.md's example decoder at full size", async () => {
    await checkBlock(gpu, [[8, 32, 256], [16, 32, 128], [64, 16, 64]], [3, 3], 1, 7);
  });
});
