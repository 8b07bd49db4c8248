import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { KernelInputError } from '../../src/gpu/errors';
import { prepareLayerNorm, validateLayerNormInputs } from '../../src/gpu/kernels/layerNorm';
import { layerNormReference } from '../../src/gpu/reference/layerNorm';
import { elementCount, formatShape, type ActivationShape } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

// f32 tolerance: the plane reductions are tree sums in f32.
const TOL = 1e-5;

const SHAPES: [ActivationShape, number][] = [
  [{ batch: 1, n: 1, h: 1, w: 1 }, 1e-5], // one value: variance 0, output = beta
  [{ batch: 1, n: 3, h: 1, w: 13 }, 1e-5],
  [{ batch: 2, n: 1, h: 9, w: 1 }, 1e-3],
  [{ batch: 2, n: 3, h: 5, w: 7 }, 1e-5],
  [{ batch: 1, n: 2, h: 17, w: 33 }, 1e-5], // plane 561: many values per invocation
  [{ batch: 2, n: 35001, h: 1, w: 2 }, 1e-5], // 70002 planes: dispatch split over (x, y)
];

describe('layerNorm kernel (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each(SHAPES)('matches the reference for %o eps=%f', async (shape, eps) => {
    const rand = seededRandom(elementCount(shape) * 31 + 7);
    const plane = shape.h * shape.w;
    // Offset mean so centring matters, plus an alternating +-1 so no plane has a near-zero
    // variance: there the f32 rounding of (x - mean) is amplified by 1/sqrt(var + eps) <= 316,
    // an input conditioning effect any f32 implementation shares, not a kernel error.
    const x = randomArray(rand, elementCount(shape), 1, 0.5).map((v, i) => v + (i % 2 ? 1 : -1));
    const gamma = randomArray(rand, plane, 1, 1);
    const beta = randomArray(rand, plane);
    const expected = layerNormReference(x, gamma, beta, shape, eps);

    const y = createTensorBuffer(gpu.device, x.length);
    poison(gpu, y);
    const dispatch = await withErrorScope(gpu, () =>
      prepareLayerNorm(gpu, { shape, eps }, {
        x: uploadTensor(gpu.device, x),
        gamma: uploadTensor(gpu.device, gamma),
        beta: uploadTensor(gpu.device, beta),
        y,
      }),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    expectClose(await read(gpu, y, x.length), expected, TOL, `layerNorm ${formatShape(shape)}`);
    dispatch.destroy();
  });

  it('rejects an affine of the wrong size, naming the shapes', () => {
    expect(() => validateLayerNormInputs({ batch: 1, n: 2, h: 3, w: 4 }, { gamma: 7 })).toThrow(KernelInputError);
    expect(() => validateLayerNormInputs({ batch: 1, n: 2, h: 3, w: 4 }, { gamma: 7 })).toThrow(/gamma has 7.*H=3, W=4/);
    expect(() => validateLayerNormInputs({ batch: 1, n: 0, h: 3, w: 4 })).toThrow(/positive integers/);
  });
});
