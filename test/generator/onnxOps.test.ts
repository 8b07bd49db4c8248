/**
 * Each hyper-convolution operation as ONNX nodes (src/generator/onnx/hyperconvOps.ts), alone in a
 * graph run by onnxruntime-web's WebAssembly backend in Node, against its TypeScript reference
 * (src/gpu/reference/, the WGSL kernels' oracle): the axis conv along every axis for k = 1 (MatMul
 * along W and H), 3 and 5 (Conv on a transposed view), with and without bias, on awkward shapes (size-1
 * axes, an image smaller than k); layer norm; combine; the residual add.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { describe, expect, it } from 'vitest';
import { axisConvReference, combineReference, layerNormReference, residualAddReference } from '../../src/gpu/reference';
import { channelCount, elementCount, formatShape, type ActivationShape, type ChannelAxis } from '../../src/gpu/shapes';
import { OnnxGraph } from '../../src/generator/onnx/onnxModel';
import { axisConvOp, combineOp, dimsOf, layerNormOp, residualOp, type Activation } from '../../src/generator/onnx/hyperconvOps';
import { expectClose, randomArray, randomInt, seededRandom } from '../gpu/helpers';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

// f32 tolerance relative to max(|y|, rms(y)), as the WGSL kernel tests (test/gpu/axisConv.test.ts)
const TOL = 2e-5;

/** Builds a graph with inputs `x0, x1, ...` of the given shapes, whose output is what `body` returns; runs it. */
async function runGraph(inputs: { shape: ActivationShape; data: Float32Array }[], body: (g: OnnxGraph, xs: Activation[]) => Activation): Promise<Float32Array> {
  const g = new OnnxGraph('test');
  const xs = inputs.map((x, i) => ({ name: g.input(`x${i}`, dimsOf(x.shape)), shape: x.shape }));
  const y = body(g, xs);
  g.node({ op: 'Identity', inputs: [y.name], outputs: ['y'] });
  g.output('y', dimsOf(y.shape));
  const session = await ort.InferenceSession.create(g.toModel(), { executionProviders: ['wasm'] });
  try {
    const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, new ort.Tensor('float32', x.data, dimsOf(x.shape))]));
    const out = await session.run(feeds);
    return out.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

interface ConvCase {
  shape: ActivationShape;
  axis: ChannelAxis;
  outChannels: number;
  k: number;
  bias: boolean;
}

const FIXED: ConvCase[] = [
  { shape: { batch: 1, n: 1, h: 1, w: 1 }, axis: 'N', outChannels: 1, k: 1, bias: true },
  { shape: { batch: 1, n: 1, h: 1, w: 1 }, axis: 'W', outChannels: 3, k: 3, bias: false },
  { shape: { batch: 2, n: 1, h: 5, w: 1 }, axis: 'H', outChannels: 2, k: 5, bias: true },
  { shape: { batch: 2, n: 3, h: 4, w: 6 }, axis: 'W', outChannels: 5, k: 1, bias: true },
  { shape: { batch: 2, n: 3, h: 4, w: 6 }, axis: 'H', outChannels: 7, k: 1, bias: true },
  { shape: { batch: 1, n: 20, h: 17, w: 19 }, axis: 'N', outChannels: 6, k: 3, bias: true },
];

function randomCases(): ConvCase[] {
  const rand = seededRandom(2027);
  const cases: ConvCase[] = [];
  for (const axis of ['N', 'H', 'W'] as const) {
    for (const k of [1, 3, 5]) {
      cases.push({
        shape: { batch: randomInt(rand, 1, 2), n: randomInt(rand, 1, 10), h: randomInt(rand, 1, 10), w: randomInt(rand, 1, 10) },
        axis, outChannels: randomInt(rand, 1, 9), k, bias: rand() < 0.5,
      });
    }
  }
  return cases;
}

describe('hyper-convolution operations as ONNX nodes vs their TypeScript references', () => {
  const rand = seededRandom(7);

  for (const c of [...FIXED, ...randomCases()]) {
    it(`axisConv ${c.axis}, k=${c.k}, ${formatShape(c.shape)} -> ${c.outChannels}${c.bias ? ' +bias' : ''}`, async () => {
      const cin = channelCount(c.shape, c.axis);
      const x = randomArray(rand, elementCount(c.shape));
      const weight = randomArray(rand, c.outChannels * cin * c.k * c.k, 1 / Math.sqrt(cin * c.k * c.k));
      const bias = c.bias ? randomArray(rand, c.outChannels) : null;
      const want = axisConvReference(x, c.shape, weight, bias, c.axis, c.outChannels, c.k);
      const got = await runGraph([{ shape: c.shape, data: x }], (g, [a]) => axisConvOp(g, a!, weight, bias, c.axis, c.outChannels, c.k, 'conv'));
      expectClose(got, want.y, TOL, 'axisConv');
    });
  }

  it('layer norm over (H, W) with its affine', async () => {
    const shape = { batch: 2, n: 3, h: 5, w: 7 };
    const x = randomArray(rand, elementCount(shape), 2, 0.5);
    const gamma = randomArray(rand, 35, 0.3, 1);
    const beta = randomArray(rand, 35, 0.2);
    const got = await runGraph([{ shape, data: x }], (g, [a]) => layerNormOp(g, a!, gamma, beta, 1e-5, 'norm'));
    expectClose(got, layerNormReference(x, gamma, beta, shape, 1e-5), TOL, 'layerNorm');
  });

  it('combine (A + tanh(Bpre) + bias) / 3 and the residual add', async () => {
    const shape = { batch: 2, n: 3, h: 4, w: 5 };
    const a = randomArray(rand, elementCount(shape));
    const b = randomArray(rand, elementCount(shape), 3);
    const bias = randomArray(rand, 20);
    const combined = await runGraph([{ shape, data: a }, { shape, data: b }], (g, [x, y]) => combineOp(g, x!, y!, bias, 'combine'));
    expectClose(combined, combineReference(a, b, bias, 20), TOL, 'combine');
    const sum = await runGraph([{ shape, data: a }, { shape, data: b }], (g, [x, y]) => residualOp(g, x!, y!, 'residual'));
    expect(Array.from(sum)).toEqual(Array.from(residualAddReference(a, b)));
  });
});
