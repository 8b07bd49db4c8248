import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor, writeTensor } from '../../src/gpu/buffers';
import { prepareLoraMatmul, prepareLoraMerge, validateLoraInputs } from '../../src/gpu/kernels/lora';
import { loraMatmulReference, loraMergeReference } from '../../src/gpu/reference/lora';
import type { LoraShape } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, read, runDispatches, seededRandom, withErrorScope } from './helpers';

// f32, relative to max(|y|, rms(y)): dot products of up to `in` terms.
const TOL = 2e-5;

const SHAPES: LoraShape[] = [
  { outFeatures: 1, inFeatures: 1, rank: 1 },
  { outFeatures: 17, inFeatures: 33, rank: 3 },
  { outFeatures: 40, inFeatures: 64, rank: 8 },
  { outFeatures: 5, inFeatures: 300, rank: 16 },
  { outFeatures: 70, inFeatures: 9, rank: 64 },
];

const label = (s: LoraShape): string => `W ${s.outFeatures}x${s.inFeatures} r=${s.rank}`;

/** A and B placed at odd offsets inside one packed buffer, as detokenize leaves them. */
function packAB(a: Float32Array, b: Float32Array): { packed: Float32Array; aOffset: number; bOffset: number } {
  const aOffset = 3;
  const bOffset = aOffset + a.length + 5;
  const packed = new Float32Array(bOffset + b.length + 2).fill(123);
  packed.set(a, aOffset);
  packed.set(b, bOffset);
  return { packed, aOffset, bOffset };
}

describe('LoRA kernels (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  it.each(SHAPES.map((s) => [label(s), s] as const))('merge W + (alpha/r) B A: %s', async (_n, shape) => {
    const rand = seededRandom(shape.outFeatures * 1000 + shape.inFeatures + shape.rank);
    const w = randomArray(rand, shape.outFeatures * shape.inFeatures);
    const a = randomArray(rand, shape.rank * shape.inFeatures);
    const b = randomArray(rand, shape.outFeatures * shape.rank);
    const scale = 16 / shape.rank;
    const expected = loraMergeReference(w, a, b, shape, scale);
    const { packed, aOffset, bOffset } = packAB(a, b);
    const lora = uploadTensor(gpu.device, packed);
    // The merged weight lands at an offset inside a larger buffer (a shared weight arena).
    const outOffset = 7;
    const merged = createTensorBuffer(gpu.device, outOffset + w.length);
    poison(gpu, merged);
    const dispatch = await withErrorScope(gpu, () =>
      prepareLoraMerge(
        gpu,
        { shape, scale, offsets: { a: aOffset, b: bOffset, out: outOffset } },
        { w: uploadTensor(gpu.device, w), a: lora, b: lora, merged },
      ),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    const got = await read(gpu, merged, outOffset + w.length);
    expectClose(got.subarray(outOffset), expected, TOL, `merge ${label(shape)}`);
    expect(Array.from(got.subarray(0, outOffset)).every(Number.isNaN), 'elements before outOffset untouched').toBe(true);
  });

  it.each(
    SHAPES.flatMap((s) => [1, 3, 17].map((rows) => [`${label(s)}, ${rows} rows`, s, rows] as const)),
  )('fused matmul x W^T + (alpha/r)(x A^T) B^T: %s', async (_n, shape, rows) => {
    const rand = seededRandom(shape.outFeatures * 7 + shape.inFeatures * 3 + rows);
    const x = randomArray(rand, rows * shape.inFeatures);
    const w = randomArray(rand, shape.outFeatures * shape.inFeatures);
    const a = randomArray(rand, shape.rank * shape.inFeatures);
    const b = randomArray(rand, shape.outFeatures * shape.rank);
    const scale = 2;
    const expected = loraMatmulReference(x, rows, w, a, b, shape, scale);
    const { packed, aOffset, bOffset } = packAB(a, b);
    const lora = uploadTensor(gpu.device, packed);
    // W inside a larger buffer too.
    const wBuf = createTensorBuffer(gpu.device, w.length + 4);
    writeTensor(gpu.device, wBuf, w, 'f32', 4);
    const y = createTensorBuffer(gpu.device, rows * shape.outFeatures);
    poison(gpu, y);
    const dispatch = await withErrorScope(gpu, () =>
      prepareLoraMatmul(
        gpu,
        { shape, rows, scale, offsets: { a: aOffset, b: bOffset, w: 4 } },
        { x: uploadTensor(gpu.device, x), w: wBuf, a: lora, b: lora, y },
      ),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    expectClose(await read(gpu, y, rows * shape.outFeatures), expected, TOL, `matmul ${label(shape)} rows=${rows}`);
  });

  it('rejects mismatched matrices, naming the shapes', () => {
    const shape = { outFeatures: 4, inFeatures: 6, rank: 2 };
    expect(() => validateLoraInputs('loraMerge', shape, { a: 13 })).toThrow(/A has 13 elements, expected 12 for W \(4 x 6\), A \(2 x 6\), B \(4 x 2\)/);
  });
});
