import { beforeAll, describe, expect, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { prepareDetokenize, validateDetokenizeInputs } from '../../src/gpu/kernels/detokenize';
import { detokenizeReference } from '../../src/gpu/reference/detokenize';
import { packLayout, type TokenLayoutEntry } from '../../src/gpu/shapes';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { expectClose, poison, randomArray, randomInt, read, runDispatches, seededRandom, withErrorScope } from './helpers';

const TOL = 1e-6; // one fused multiply-add per value

/** A manifest-style layout: per layer, per module, A (r x in) then B (out x r), tokens consecutive. */
function manifestLayout(
  tokenSize: number,
  layers: number,
  modules: { in: number; out: number }[],
  rank: number,
): Omit<TokenLayoutEntry, 'outOffset'>[] {
  const entries: Omit<TokenLayoutEntry, 'outOffset'>[] = [];
  let token = 0;
  for (let l = 0; l < layers; l++) {
    for (const m of modules) {
      for (const [rows, cols] of [[rank, m.in], [m.out, rank]] as const) {
        const tokenCount = Math.ceil((rows * cols) / tokenSize);
        entries.push({ tokenOffset: token, tokenCount, rows, cols });
        token += tokenCount;
      }
    }
  }
  return entries;
}

describe('detokenize kernel (f32)', () => {
  let gpu: TestGpu;
  beforeAll(async () => {
    gpu = await getTestDevice();
  });

  const CASES = [
    { name: 'one 1 x 1 matrix, 1 x 1 tokens', tokenSize: 1, layers: 1, modules: [{ in: 1, out: 1 }], rank: 1, align: 1 },
    { name: '3 x 5 tokens, two modules, packed tight', tokenSize: 15, layers: 2, modules: [{ in: 7, out: 11 }, { in: 7, out: 3 }], rank: 2, align: 1 },
    { name: '4 x 8 tokens, outputs 64-aligned (gaps stay untouched)', tokenSize: 32, layers: 3, modules: [{ in: 24, out: 40 }], rank: 4, align: 64 },
  ];

  it.each(CASES)('$name', async ({ tokenSize, layers, modules, rank, align }) => {
    const rand = seededRandom(tokenSize * 17 + layers);
    const { entries, totalElements } = packLayout(manifestLayout(tokenSize, layers, modules, rank), align);
    const last = entries[entries.length - 1]!;
    // A few spare tokens at the end: the generator grid is usually larger than the layout needs.
    const tokenCount = last.tokenOffset + last.tokenCount + randomInt(rand, 0, 2);
    const tokens = randomArray(rand, tokenCount * tokenSize);
    const mean = randomArray(rand, tokenCount * tokenSize, 0.1);
    const std = randomArray(rand, tokenCount * tokenSize, 0.05, 0.1);
    const args = { tokenCount, tokenSize, layout: entries, outputElements: totalElements };
    const expected = detokenizeReference(tokens, mean, std, tokenSize, entries, totalElements);

    const packed = createTensorBuffer(gpu.device, totalElements);
    poison(gpu, packed);
    const dispatch = await withErrorScope(gpu, () =>
      prepareDetokenize(gpu, args, {
        tokens: uploadTensor(gpu.device, tokens),
        mean: uploadTensor(gpu.device, mean),
        std: uploadTensor(gpu.device, std),
        packed,
      }),
    );
    await withErrorScope(gpu, () => runDispatches(gpu, [dispatch]));
    const got = await read(gpu, packed, totalElements);

    const written = new Uint8Array(totalElements);
    for (const e of entries) written.fill(1, e.outOffset, e.outOffset + e.rows * e.cols);
    const inRange = (arr: Float32Array): Float32Array => arr.filter((_, i) => written[i] === 1);
    expectClose(inRange(got), inRange(expected), TOL, 'matrix values');
    // Alignment gaps must keep their poison: the kernel writes nothing outside the layout.
    got.forEach((v, i) => {
      if (written[i] === 0) expect(Number.isNaN(v), `gap element ${i} was written`).toBe(true);
    });
  });

  it('rejects layouts that do not fit, naming the matrix', () => {
    const base = { tokenOffset: 0, tokenCount: 2, rows: 4, cols: 5, outOffset: 0 };
    const ok = { tokenCount: 4, tokenSize: 10, layout: [base], outputElements: 20 };
    expect(() => validateDetokenizeInputs(ok)).not.toThrow();
    expect(() => validateDetokenizeInputs({ ...ok, layout: [{ ...base, tokenCount: 3 }] })).toThrow(/matrix 0 .*needs ceil\(20 \/ 10\) = 2 tokens/);
    expect(() => validateDetokenizeInputs({ ...ok, layout: [{ ...base, tokenOffset: 3 }] })).toThrow(/runs past the 4 tokens/);
    expect(() => validateDetokenizeInputs({ ...ok, outputElements: 19 })).toThrow(/exceeds 19 elements/);
    expect(() =>
      validateDetokenizeInputs({ ...ok, layout: [base, { ...base, tokenOffset: 2, outOffset: 10 }], outputElements: 40 }),
    ).toThrow(/matrices 0 and 1 overlap/);
  });
});
