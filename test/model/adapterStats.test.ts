/**
 * src/model/adapterStats.ts against brute force on small random matrices: dW = scale · B·A formed
 * explicitly in float64, its Frobenius norm and inner products summed cell by cell, and pooling
 * done block by block from the definition.
 */
import { describe, expect, it } from 'vitest';
import { peftName, type LoraMatrixData } from '../../src/model/adapters';
import {
  adapterNorms, compareDeltas, deltaInnerProduct, deltaNorm, frobeniusNorm, poolDelta, poolMatrix,
  type AdapterMatrices, type LoraPair,
} from '../../src/model/adapterStats';
import { seededRandom } from '../gpu/helpers';

function randomMatrix(rows: number, cols: number, next: () => number): LoraMatrixData {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
  return { rows, cols, data };
}

function randomPair(out: number, inp: number, r: number, scale: number, next: () => number): LoraPair {
  return { a: randomMatrix(r, inp, next), b: randomMatrix(out, r, next), scale };
}

/** scale · B·A as a dense out x in float64 array. */
function denseDelta(p: LoraPair): Float64Array {
  const { a, b, scale } = p;
  const out = new Float64Array(b.rows * a.cols);
  for (let i = 0; i < b.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      let sum = 0;
      for (let k = 0; k < a.rows; k++) sum += (b.data[i * b.cols + k] as number) * (a.data[k * a.cols + j] as number);
      out[i * a.cols + j] = scale * sum;
    }
  }
  return out;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (y[i] as number);
  return s;
}

function relClose(actual: number, expected: number, tol = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));
}

const MODULES = ['q', 'k', 'mlp'] as const;
const DIMS: Record<string, { in: number; out: number }> = { q: { in: 12, out: 12 }, k: { in: 12, out: 5 }, mlp: { in: 12, out: 20 } };

function randomAdapter(layers: number, rank: number, scale: number, next: () => number, skip: (l: number, m: string) => boolean = () => false): AdapterMatrices {
  const matrices = new Map<string, LoraMatrixData>();
  for (let l = 0; l < layers; l++) {
    for (const m of MODULES) {
      if (skip(l, m)) continue;
      const d = DIMS[m]!;
      const p = randomPair(d.out, d.in, rank, scale, next);
      matrices.set(peftName(l, m, 'A'), p.a);
      matrices.set(peftName(l, m, 'B'), p.b);
    }
  }
  return { scale, matrices };
}

function pairOf(adapter: AdapterMatrices, l: number, m: string): LoraPair | null {
  const a = adapter.matrices.get(peftName(l, m, 'A'));
  const b = adapter.matrices.get(peftName(l, m, 'B'));
  return a && b ? { a, b, scale: adapter.scale } : null;
}

describe('adapterStats: norms', () => {
  it('||scale·B·A||_F from the r x r Gram matrices equals the dense delta norm', () => {
    const next = seededRandom(1);
    for (const [out, inp, r, scale] of [[7, 9, 3, 2], [1, 1, 1, 0.5], [16, 4, 8, 1.25], [5, 30, 2, -3]] as const) {
      const p = randomPair(out, inp, r, scale, next);
      const dense = denseDelta(p);
      relClose(deltaNorm(p), Math.sqrt(dot(dense, dense)));
    }
  });

  it('frobeniusNorm is the square root of the sum of squares', () => {
    const m = randomMatrix(6, 11, seededRandom(2));
    let s = 0;
    for (const v of m.data) s += v * v;
    relClose(frobeniusNorm(m.data), Math.sqrt(s));
    expect(frobeniusNorm(new Float32Array(0))).toBe(0);
  });

  it('adapterNorms lists every layer x module, zeros for a module the adapter lacks', () => {
    const adapter = randomAdapter(2, 4, 2, seededRandom(3), (l, m) => l === 1 && m === 'k');
    const norms = adapterNorms(adapter, 2, MODULES);
    expect(norms.map((n) => `${n.layer}.${n.module}`)).toEqual(['0.q', '0.k', '0.mlp', '1.q', '1.k', '1.mlp']);
    for (const n of norms) {
      const p = pairOf(adapter, n.layer, n.module);
      if (!p) {
        expect(n).toEqual({ layer: 1, module: 'k', present: false, rank: 0, normA: 0, normB: 0, normDelta: 0 });
        continue;
      }
      expect(n.present).toBe(true);
      expect(n.rank).toBe(4);
      const dense = denseDelta(p);
      relClose(n.normDelta, Math.sqrt(dot(dense, dense)));
      relClose(n.normA, Math.sqrt(dot(Float64Array.from(p.a.data), Float64Array.from(p.a.data))));
      relClose(n.normB, Math.sqrt(dot(Float64Array.from(p.b.data), Float64Array.from(p.b.data))));
    }
  });
});

describe('adapterStats: similarity', () => {
  it('the Frobenius inner product of deltas of different ranks and scales equals the dense one', () => {
    const next = seededRandom(4);
    const p = randomPair(9, 13, 3, 2, next);
    const q = randomPair(9, 13, 5, -0.75, next);
    relClose(deltaInnerProduct(p, q), dot(denseDelta(p), denseDelta(q)));
    relClose(deltaInnerProduct(q, p), dot(denseDelta(p), denseDelta(q)));
  });

  it('per module, per layer (modules concatenated) and overall cosines equal the dense ones', () => {
    const next = seededRandom(5);
    const first = randomAdapter(3, 4, 2, next);
    const second = randomAdapter(3, 2, 0.5, next, (l, m) => l === 2 && m === 'q');
    const cmp = compareDeltas(first, second, 3, MODULES, ['one', 'two']);
    expect(cmp.modules).toHaveLength(9);
    const all1: number[] = [];
    const all2: number[] = [];
    for (let l = 0; l < 3; l++) {
      const layer1: number[] = [];
      const layer2: number[] = [];
      for (const m of MODULES) {
        const p = pairOf(first, l, m)!;
        const q = pairOf(second, l, m);
        const d1 = denseDelta(p);
        const d2 = q ? denseDelta(q) : new Float64Array(d1.length);
        layer1.push(...d1);
        layer2.push(...d2);
        const got = cmp.modules.find((s) => s.layer === l && s.module === m)!.similarity;
        if (!q) {
          expect(got.value).toBeNull();
          expect(got.reason).toBe('two does not change layer 2 q, so there is no direction to compare');
        } else {
          relClose(got.value!, dot(d1, d2) / Math.sqrt(dot(d1, d1) * dot(d2, d2)));
        }
      }
      const x = Float64Array.from(layer1);
      const y = Float64Array.from(layer2);
      relClose(cmp.layers[l]!.similarity.value!, dot(x, y) / Math.sqrt(dot(x, x) * dot(y, y)));
      all1.push(...layer1);
      all2.push(...layer2);
    }
    const x = Float64Array.from(all1);
    const y = Float64Array.from(all2);
    relClose(cmp.overall.value!, dot(x, y) / Math.sqrt(dot(x, x) * dot(y, y)));
  });

  it('an adapter against itself is 1, against its sign-flipped B is -1, against a scaled copy is 1', () => {
    const adapter = randomAdapter(2, 4, 2, seededRandom(6));
    const flipped: AdapterMatrices = {
      scale: adapter.scale,
      matrices: new Map([...adapter.matrices].map(([k, m]) => [k, k.includes('lora_B') ? { ...m, data: m.data.map((v) => -v) } : m])),
    };
    const scaled: AdapterMatrices = { scale: adapter.scale * 3, matrices: adapter.matrices };
    for (const [other, want] of [[adapter, 1], [flipped, -1], [scaled, 1]] as const) {
      const cmp = compareDeltas(adapter, other, 2, MODULES);
      for (const s of [...cmp.modules.map((m) => m.similarity), ...cmp.layers.map((l) => l.similarity), cmp.overall]) {
        expect(s.value).not.toBeNull();
        expect(Math.abs(s.value! - want)).toBeLessThan(1e-12);
      }
    }
  });

  it('a layer one adapter leaves alone, or a zero delta, has no similarity and says why', () => {
    const next = seededRandom(7);
    const first = randomAdapter(2, 2, 1, next);
    const second = randomAdapter(2, 2, 1, next, (l) => l === 1);
    const zeroB = randomAdapter(1, 2, 1, next);
    for (const [k, m] of zeroB.matrices) if (k.includes('lora_B')) m.data.fill(0);
    const cmp = compareDeltas(first, second, 2, MODULES, ['P', 'Q']);
    expect(cmp.layers[0]!.similarity.value).not.toBeNull();
    expect(cmp.layers[1]!.similarity).toEqual({ value: null, reason: 'Q does not change layer 1, so there is no direction to compare' });
    expect(cmp.overall.value).not.toBeNull();
    const zero = compareDeltas(zeroB, first, 1, MODULES, ['Z', 'F']);
    expect(zero.modules[0]!.similarity).toEqual({ value: null, reason: 'Z has a zero delta for layer 0 q, so there is no direction to compare' });
    expect(zero.overall.value).toBeNull();
  });
});

/** Reference pooling straight from the definition: block (R, C) holds source rows/cols whose group is R/C. */
function referencePool(dense: ArrayLike<number>, rows: number, cols: number, side: number, pooling: 'mean' | 'max-abs'): { rows: number; cols: number; data: number[] } {
  const oR = Math.min(rows, side);
  const oC = Math.min(cols, side);
  const data: number[] = [];
  for (let R = 0; R < oR; R++) {
    for (let C = 0; C < oC; C++) {
      const cells: number[] = [];
      for (let r = 0; r < rows; r++) {
        if (Math.floor((r * oR) / rows) !== R) continue;
        for (let c = 0; c < cols; c++) if (Math.floor((c * oC) / cols) === C) cells.push(dense[r * cols + c] as number);
      }
      expect(cells.length).toBeGreaterThan(0);
      data.push(pooling === 'mean' ? cells.reduce((s, v) => s + v, 0) / cells.length : cells.reduce((b, v) => (Math.abs(v) > Math.abs(b) ? v : b), cells[0]!));
    }
  }
  return { rows: oR, cols: oC, data };
}

describe('adapterStats: pooled views', () => {
  it('poolMatrix (mean and max-abs) matches block pooling from the definition, also for uneven blocks', () => {
    const next = seededRandom(8);
    for (const [rows, cols, side] of [[8, 100, 64], [130, 8, 64], [7, 9, 4], [3, 3, 64], [65, 129, 64]] as const) {
      const m = randomMatrix(rows, cols, next);
      for (const pooling of ['mean', 'max-abs'] as const) {
        const got = poolMatrix(m, pooling, side);
        const want = referencePool(m.data, rows, cols, side, pooling);
        expect([got.rows, got.cols, got.sourceRows, got.sourceCols]).toEqual([want.rows, want.cols, rows, cols]);
        expect(got.rows).toBeLessThanOrEqual(side);
        for (let i = 0; i < want.data.length; i++) expect(Math.abs((got.data[i] as number) - (want.data[i] as number))).toBeLessThan(1e-6);
        expect(got.min).toBe(Math.min(...got.data));
        expect(got.max).toBe(Math.max(...got.data));
      }
    }
  });

  it('max-abs keeps the sign of the largest magnitude', () => {
    const got = poolMatrix({ rows: 1, cols: 4, data: Float32Array.of(0.5, -3, 2, 1) }, 'max-abs', 1);
    expect(Array.from(got.data)).toEqual([-3]);
  });

  it('poolDelta pools scale·B·A as if it were formed densely', () => {
    const next = seededRandom(9);
    for (const [out, inp, r] of [[70, 90, 4], [5, 6, 2]] as const) {
      const p = randomPair(out, inp, r, 1.5, next);
      const dense = denseDelta(p);
      for (const pooling of ['mean', 'max-abs'] as const) {
        const got = poolDelta(p, pooling, 16);
        const want = referencePool(dense, out, inp, 16, pooling);
        expect([got.rows, got.cols]).toEqual([want.rows, want.cols]);
        for (let i = 0; i < want.data.length; i++) expect(Math.abs((got.data[i] as number) - (want.data[i] as number))).toBeLessThan(1e-5);
      }
    }
  });
});
