import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { prepareCombine, prepareResidualAdd, validateCombineInputs } from '../../src/gpu/kernels/elementwise';
import { combineReference, residualAddReference } from '../../src/gpu/reference/elementwise';
import { elementCount, formatShape, type ActivationShape } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

// Elementwise f32: one tanh (a few ulp in SwiftShader) and two adds.
const TOL = 1e-5;

const SHAPES: ActivationShape[] = [
  { batch: 1, n: 1, h: 1, w: 1 },
  { batch: 1, n: 3, h: 1, w: 7 },
  { batch: 2, n: 5, h: 9, w: 13 }, // 1170 elements: partial last workgroup of 256
  { batch: 1, n: 4, h: 16, w: 16 }, // exactly 4 workgroups
];

describe('combine kernel (f32): y = (A + tanh(Bpre) + bias) / 3', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each(SHAPES)('matches the reference for %o', async (shape) => {
    const rand = seededRandom(elementCount(shape) + 11);
    const total = elementCount(shape);
    const a = randomArray(rand, total);
    // Wide range: |Bpre| up to 40 exercises the saturated tanh (no NaN from overflow).
    const bPre = randomArray(rand, total, 40);
    const bias = randomArray(rand, shape.h * shape.w);
    const expected = combineReference(a, bPre, bias, shape.h * shape.w);
    const y = createTensorBuffer(gpu.device, total);
    poison(gpu, y);
    const dispatch = await withErrorScope(gpu, () =>
      prepareCombine(gpu, { shape }, {
        pathA: uploadTensor(gpu.device, a),
        pathBPre: uploadTensor(gpu.device, bPre),
        bias: uploadTensor(gpu.device, bias),
        y,
      }),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    expectClose(await read(gpu, y, total), expected, TOL, `combine ${formatShape(shape)}`);
  });

  it('rejects a bias that is not (H\', W\')', () => {
    expect(() => validateCombineInputs({ batch: 1, n: 2, h: 3, w: 4 }, { bias: 24 })).toThrow(/bias has 24 elements, expected \(H', W'\) = 12/);
  });
});

describe('residualAdd kernel (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each([1, 255, 257, 1000])('y = a + b and a += b for %i elements', async (count) => {
    const rand = seededRandom(count);
    const a = randomArray(rand, count);
    const b = randomArray(rand, count);
    const expected = residualAddReference(a, b);

    const aBuf = uploadTensor(gpu.device, a);
    const y = createTensorBuffer(gpu.device, count);
    poison(gpu, y);
    const outOfPlace = await withErrorScope(gpu, () =>
      prepareResidualAdd(gpu, { count, inPlace: false }, { a: aBuf, b: uploadTensor(gpu.device, b), y }),
    );
    const inPlace = await withErrorScope(gpu, () =>
      prepareResidualAdd(gpu, { count, inPlace: true }, { a: aBuf, b: uploadTensor(gpu.device, b) }),
    );
    // Out of place first (reads a), then in place (updates a): both recorded in one pass.
    await withErrorScope(gpu, () => runDispatches(gpu, [outOfPlace, inPlace]));
    expectClose(await read(gpu, y, count), expected, TOL, 'out of place');
    expectClose(await read(gpu, aBuf, count), expected, TOL, 'in place');
  });
});
