import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { chooseAxisConvTiling, prepareAxisConv, validateAxisConvInputs } from '../../src/gpu/kernels/axisConv';
import { axisConvReference } from '../../src/gpu/reference/axisConv';
import { channelCount, elementCount, formatShape, type ActivationShape, type ChannelAxis } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, randomInt, read, runDispatches, seededRandom, withErrorScope } from './helpers';

// f32 tolerance relative to max(|y|, rms(y)): sums of up to C_in * k * k products in f32.
const TOL = 2e-5;

interface Case {
  shape: ActivationShape;
  axis: ChannelAxis;
  outChannels: number;
  k: number;
  hasBias: boolean;
}

const AXES: ChannelAxis[] = ['N', 'H', 'W'];
const KS = [1, 3, 5, 9];

/** Hand-picked awkward shapes (size-1 axes, image smaller than k, tiles that do not divide). */
const FIXED: Case[] = [
  { shape: { batch: 1, n: 1, h: 1, w: 1 }, axis: 'N', outChannels: 1, k: 1, hasBias: true },
  { shape: { batch: 1, n: 1, h: 1, w: 1 }, axis: 'W', outChannels: 3, k: 3, hasBias: false },
  { shape: { batch: 2, n: 1, h: 5, w: 1 }, axis: 'H', outChannels: 2, k: 5, hasBias: true },
  { shape: { batch: 1, n: 4, h: 3, w: 5 }, axis: 'W', outChannels: 7, k: 9, hasBias: true },
  { shape: { batch: 1, n: 3, h: 9, w: 11 }, axis: 'N', outChannels: 5, k: 3, hasBias: false },
  // 20 input channels: two staged chunks, the second partial; 17 x 19 image: partial edge tiles.
  { shape: { batch: 1, n: 20, h: 17, w: 19 }, axis: 'N', outChannels: 6, k: 3, hasBias: true },
  { shape: { batch: 1, n: 19, h: 20, w: 3 }, axis: 'H', outChannels: 9, k: 5, hasBias: false },
  { shape: { batch: 2, n: 13, h: 6, w: 18 }, axis: 'W', outChannels: 5, k: 3, hasBias: true },
];

/** Random shapes for every (axis, k), kept small so the CPU reference stays cheap. */
function randomCases(): Case[] {
  const rand = seededRandom(2026);
  const cases: Case[] = [];
  for (const axis of AXES) {
    for (const k of KS) {
      const big = k <= 3 ? 12 : 8;
      cases.push({
        shape: { batch: randomInt(rand, 1, 2), n: randomInt(rand, 1, big), h: randomInt(rand, 1, big), w: randomInt(rand, 1, big) },
        axis,
        outChannels: randomInt(rand, 1, 9),
        k,
        hasBias: rand() < 0.5,
      });
    }
  }
  return cases;
}

const CASES = [...FIXED, ...randomCases()];
const describeCase = (c: Case): string =>
  `axis ${c.axis}, k=${c.k}, ${formatShape(c.shape)} -> ${c.outChannels}${c.hasBias ? ' +bias' : ''}`;

describe('axisConv reference (docs/hyperconv.md)', () => {
  // The doc states channel axes W and H as PyTorch permutes around a plain conv2d (channel axis N).
  // Checking the reference against that independent statement pins its index order.
  function permute(x: Float32Array, s: ActivationShape, order: 'NHW->WHN' | 'NHW->HNW'): { x: Float32Array; shape: ActivationShape } {
    const out = new Float32Array(x.length);
    const shape = order === 'NHW->WHN' ? { ...s, n: s.w, w: s.n } : { ...s, n: s.h, h: s.n };
    for (let b = 0; b < s.batch; b++)
      for (let n = 0; n < s.n; n++)
        for (let h = 0; h < s.h; h++)
          for (let w = 0; w < s.w; w++) {
            const [p, q, r] = order === 'NHW->WHN' ? [w, h, n] : [h, n, w];
            out[((b * shape.n + p) * shape.h + q) * shape.w + r] = x[((b * s.n + n) * s.h + h) * s.w + w]!;
          }
    return { x: out, shape };
  }

  it.each([
    ['W', 'NHW->WHN'],
    ['H', 'NHW->HNW'],
  ] as const)('channel axis %s equals conv2d over the %s permutation', (axis, order) => {
    const rand = seededRandom(5);
    const shape = { batch: 2, n: 3, h: 4, w: 5 };
    const x = randomArray(rand, elementCount(shape));
    const cout = 3;
    const weight = randomArray(rand, cout * channelCount(shape, axis) * 9);
    const bias = randomArray(rand, cout);
    const direct = axisConvReference(x, shape, weight, bias, axis, cout, 3);
    const p = permute(x, shape, order);
    const viaN = axisConvReference(p.x, p.shape, weight, bias, 'N', cout, 3);
    // Both permutations are their own inverse.
    const back = permute(viaN.y, viaN.shape, order);
    expect(back.shape).toEqual(direct.shape);
    expectClose(direct.y, back.x, 1e-12, 'permuted reference');
  });
});

describe('axisConv kernel (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each(CASES.map((c) => [describeCase(c), c] as const))('matches the reference: %s', async (_name, c) => {
    const rand = seededRandom(elementCount(c.shape) * 131 + c.k * 7 + c.outChannels);
    const cin = channelCount(c.shape, c.axis);
    const x = randomArray(rand, elementCount(c.shape));
    const weight = randomArray(rand, c.outChannels * cin * c.k * c.k, 1 / Math.sqrt(cin * c.k * c.k));
    const bias = c.hasBias ? randomArray(rand, c.outChannels) : null;
    validateAxisConvInputs(c, { x: x.length, weight: weight.length, ...(bias ? { bias: bias.length } : {}) });
    const expected = axisConvReference(x, c.shape, weight, bias, c.axis, c.outChannels, c.k);

    const y = createTensorBuffer(gpu.device, expected.y.length);
    poison(gpu, y);
    const dispatch = await withErrorScope(gpu, () =>
      prepareAxisConv(gpu, c, {
        x: uploadTensor(gpu.device, x),
        weight: uploadTensor(gpu.device, weight),
        ...(bias ? { bias: uploadTensor(gpu.device, bias) } : {}),
        y,
      }),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    expectClose(await read(gpu, y, expected.y.length), expected.y, TOL, describeCase(c));
  });

  it('rejects a weight of the wrong shape, naming it', () => {
    const args = { shape: { batch: 1, n: 2, h: 3, w: 4 }, axis: 'H' as const, outChannels: 5, k: 3, hasBias: false };
    expect(() => validateAxisConvInputs(args, { weight: 10 })).toThrow(/C_out=5, C_in=3, k=3, k=3\) = 135 for channel axis H/);
    expect(() => validateAxisConvInputs({ ...args, k: 4 })).toThrow(/k must be odd/);
  });

  it('keeps every tiling within 16 KiB of workgroup memory', () => {
    for (const k of [1, 3, 5, 9, 11]) {
      for (const [d1, d2] of [[1, 1], [1, 200], [200, 1], [64, 64]] as const) {
        expect(chooseAxisConvTiling(d1, d2, 256, k).workgroupBytes).toBeLessThanOrEqual(16384);
      }
    }
  });
});
