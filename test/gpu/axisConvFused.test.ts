import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { chooseAxisConvTiling, prepareAxisConv } from '../../src/gpu/kernels/axisConv';
import { axisConvReference } from '../../src/gpu/reference/axisConv';
import { channelCount, elementCount, formatShape, imageAxes, type ActivationShape, type ChannelAxis } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

const TOL = 2e-5;

interface Case {
  shape: ActivationShape;
  axis: ChannelAxis;
  outChannels: number;
  k: number;
  hasBias: boolean;
}

// Residual epilogue (y = conv(x) + bias + r) and the register tiling's edges: runs of 8 that do not
// divide the image, swapped image axes (first axis longer), output channels not a multiple of 4,
// a long single input channel row, k larger than the image.
const CASES: Case[] = [
  { shape: { batch: 1, n: 6, h: 5, w: 9 }, axis: 'N', outChannels: 6, k: 3, hasBias: true },
  { shape: { batch: 2, n: 5, h: 3, w: 4 }, axis: 'H', outChannels: 3, k: 5, hasBias: false },
  { shape: { batch: 1, n: 3, h: 21, w: 7 }, axis: 'W', outChannels: 7, k: 1, hasBias: true },
  { shape: { batch: 1, n: 17, h: 2, w: 3 }, axis: 'W', outChannels: 3, k: 9, hasBias: false },
  { shape: { batch: 2, n: 1, h: 19, w: 1 }, axis: 'N', outChannels: 1, k: 3, hasBias: true },
  { shape: { batch: 1, n: 9, h: 4, w: 33 }, axis: 'H', outChannels: 4, k: 3, hasBias: true },
];

describe('axisConv kernel: residual epilogue and tiling edges (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  for (const residual of [false, true]) {
    it.each(CASES.map((c) => [`${residual ? 'residual, ' : ''}axis ${c.axis}, k=${c.k}, ${formatShape(c.shape)} -> ${c.outChannels}`, c] as const))(
      '%s',
      async (name, c) => {
        const rand = seededRandom(elementCount(c.shape) * 17 + c.k + (residual ? 1 : 0));
        const cin = channelCount(c.shape, c.axis);
        const x = randomArray(rand, elementCount(c.shape));
        const weight = randomArray(rand, c.outChannels * cin * c.k * c.k, 1 / Math.sqrt(cin * c.k * c.k));
        const bias = c.hasBias ? randomArray(rand, c.outChannels) : null;
        const expected = axisConvReference(x, c.shape, weight, bias, c.axis, c.outChannels, c.k);
        const r = randomArray(rand, expected.y.length);
        const want = residual ? expected.y.map((v, i) => v + r[i]!) : expected.y;
        const y = createTensorBuffer(gpu.device, want.length);
        poison(gpu, y);
        const dispatch = await withErrorScope(gpu, () =>
          prepareAxisConv(gpu, { ...c, residual }, {
            x: uploadTensor(gpu.device, x),
            weight: uploadTensor(gpu.device, weight),
            ...(bias ? { bias: uploadTensor(gpu.device, bias) } : {}),
            ...(residual ? { residual: uploadTensor(gpu.device, r) } : {}),
            y,
          }),
        );
        await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
        expectClose(await read(gpu, y, want.length), want, TOL, name);
      },
    );
  }

  it('runs along the image axis that pads less', () => {
    const [first, second] = imageAxes('W');
    expect([first, second]).toEqual(['H', 'N']);
    expect(chooseAxisConvTiling(20, 3, 512, 3).swapped).toBe(true);
    expect(chooseAxisConvTiling(3, 20, 64, 3).swapped).toBe(false);
    expect(chooseAxisConvTiling(16, 16, 64, 3).swapped).toBe(false);
  });
});
