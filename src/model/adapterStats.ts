/**
 * Numbers that describe a LoRA adapter without running the model (the "see it happen" inspector):
 * Frobenius norms of A, B and of the weight delta dW = scale · B·A, cosine similarities of two
 * adapters' deltas, and small pooled views of A, B and dW for heatmaps.
 *
 * dW (out x in) is never formed for the norms and similarities: with A (r x in) and B (out x r),
 *   <B1 A1, B2 A2>_F = trace(A1ᵀ B1ᵀ B2 A2) = Σ_ij (B1ᵀ B2)_ij (A1 A2ᵀ)_ij,
 * two r1 x r2 matrices, so a module costs O((in + out) r1 r2) instead of O(in · out · r).
 * ||B A||_F² is the same with both sides equal. Sums are accumulated in float64.
 *
 * Plain TypeScript (no DOM, no GPU): it runs in the worker on the registry's CPU copies.
 */
import { peftName, type LoraMatrixData } from './adapters';

/** What the statistics need of an adapter: its PEFT matrices and lora_alpha / r. */
export interface AdapterMatrices {
  scale: number;
  /** PEFT tensor name (see `peftName`) -> row-major matrix; A is r x in, B is out x r. */
  matrices: ReadonlyMap<string, LoraMatrixData>;
}

/** One module's LoRA: A (r x in), B (out x r) and the scale that multiplies B·A. */
export interface LoraPair {
  a: LoraMatrixData;
  b: LoraMatrixData;
  scale: number;
}

export function frobeniusNorm(data: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    sum += v * v;
  }
  return Math.sqrt(sum);
}

/** A1 A2ᵀ (r1 x r2) for A1 (r1 x n), A2 (r2 x n); float64. */
export function rowGram(a1: LoraMatrixData, a2: LoraMatrixData): Float64Array {
  if (a1.cols !== a2.cols) throw new Error(`A matrices differ in width (${a1.cols} vs ${a2.cols})`);
  const n = a1.cols;
  const out = new Float64Array(a1.rows * a2.rows);
  for (let i = 0; i < a1.rows; i++) {
    for (let j = 0; j < a2.rows; j++) {
      let sum = 0;
      const p = i * n;
      const q = j * n;
      for (let k = 0; k < n; k++) sum += (a1.data[p + k] as number) * (a2.data[q + k] as number);
      out[i * a2.rows + j] = sum;
    }
  }
  return out;
}

/** B1ᵀ B2 (r1 x r2) for B1 (n x r1), B2 (n x r2); float64. */
export function colGram(b1: LoraMatrixData, b2: LoraMatrixData): Float64Array {
  if (b1.rows !== b2.rows) throw new Error(`B matrices differ in height (${b1.rows} vs ${b2.rows})`);
  const r1 = b1.cols;
  const r2 = b2.cols;
  const out = new Float64Array(r1 * r2);
  for (let k = 0; k < b1.rows; k++) {
    const p = k * r1;
    const q = k * r2;
    for (let i = 0; i < r1; i++) {
      const v = b1.data[p + i] as number;
      if (v === 0) continue;
      for (let j = 0; j < r2; j++) out[i * r2 + j] = (out[i * r2 + j] as number) + v * (b2.data[q + j] as number);
    }
  }
  return out;
}

/** <s1 B1 A1, s2 B2 A2>_F through the r1 x r2 Gram matrices (ranks may differ). */
export function deltaInnerProduct(p: LoraPair, q: LoraPair): number {
  const bb = colGram(p.b, q.b);
  const aa = rowGram(p.a, q.a);
  let sum = 0;
  for (let i = 0; i < bb.length; i++) sum += (bb[i] as number) * (aa[i] as number);
  return p.scale * q.scale * sum;
}

/** ||scale · B A||_F without forming B A. */
export function deltaNorm(p: LoraPair): number {
  return Math.sqrt(Math.max(0, deltaInnerProduct(p, p)));
}

/** The (A, B) pair of one layer and module, or null when the adapter leaves that module alone. */
export function loraPair(adapter: AdapterMatrices, layer: number, module: string): LoraPair | null {
  const a = adapter.matrices.get(peftName(layer, module, 'A'));
  const b = adapter.matrices.get(peftName(layer, module, 'B'));
  if (!a || !b) return null;
  return { a, b, scale: adapter.scale };
}

export interface ModuleNorms {
  layer: number;
  module: string;
  /** False when the adapter has no LoRA for this module (its delta is zero; norms are 0). */
  present: boolean;
  rank: number;
  normA: number;
  normB: number;
  /** ||scale · B A||_F. */
  normDelta: number;
}

/** Norms of every (layer, module) of the model, layer-major (layer 0: modules in order, then layer 1 ...). */
export function adapterNorms(adapter: AdapterMatrices, layers: number, modules: readonly string[]): ModuleNorms[] {
  const out: ModuleNorms[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (const module of modules) {
      const pair = loraPair(adapter, layer, module);
      out.push(pair
        ? { layer, module, present: true, rank: pair.a.rows, normA: frobeniusNorm(pair.a.data), normB: frobeniusNorm(pair.b.data), normDelta: deltaNorm(pair) }
        : { layer, module, present: false, rank: 0, normA: 0, normB: 0, normDelta: 0 });
    }
  }
  return out;
}

/** A cosine similarity, or why there is none (a zero delta has no direction). */
export type Similarity = { value: number; reason: null } | { value: null; reason: string };

export interface ModuleSimilarity {
  layer: number;
  module: string;
  similarity: Similarity;
}

export interface LayerSimilarity {
  layer: number;
  /** All modules of the layer as one vector (a module missing in one adapter counts as zeros there). */
  similarity: Similarity;
}

export interface DeltaComparison {
  modules: ModuleSimilarity[];
  layers: LayerSimilarity[];
  /** Every layer and module as one vector. */
  overall: Similarity;
}

function cosine(inner: number, n1: number, n2: number, what: string, names: readonly [string, string], missing: readonly [boolean, boolean]): Similarity {
  if (n1 > 0 && n2 > 0) return { value: Math.max(-1, Math.min(1, inner / (n1 * n2))), reason: null };
  const why = (k: 0 | 1) => `${names[k]} ${missing[k] ? 'does not change' : 'has a zero delta for'} ${what}`;
  const parts = [n1 > 0 ? null : why(0), n2 > 0 ? null : why(1)].filter((s): s is string => s !== null);
  return { value: null, reason: `${parts.join(' and ')}, so there is no direction to compare` };
}

/**
 * Cosine similarity of two adapters' weight deltas per (layer, module), per layer (the layer's
 * modules concatenated) and overall. Ranks and scales may differ; a module missing in one adapter
 * counts as a zero delta there (its similarity is null with the reason; in a layer it adds only to
 * that adapter's norm).
 */
export function compareDeltas(
  first: AdapterMatrices, second: AdapterMatrices, layers: number, modules: readonly string[],
  names: readonly [string, string] = ['the first adapter', 'the second adapter'],
): DeltaComparison {
  const out: DeltaComparison = { modules: [], layers: [], overall: { value: null, reason: '' } };
  let allInner = 0;
  let allSq1 = 0;
  let allSq2 = 0;
  for (let layer = 0; layer < layers; layer++) {
    let inner = 0;
    let sq1 = 0;
    let sq2 = 0;
    let any1 = false;
    let any2 = false;
    for (const module of modules) {
      const p = loraPair(first, layer, module);
      const q = loraPair(second, layer, module);
      const s1 = p ? deltaInnerProduct(p, p) : 0;
      const s2 = q ? deltaInnerProduct(q, q) : 0;
      const pq = p && q ? deltaInnerProduct(p, q) : 0;
      inner += pq;
      sq1 += s1;
      sq2 += s2;
      any1 ||= p !== null;
      any2 ||= q !== null;
      out.modules.push({ layer, module, similarity: cosine(pq, Math.sqrt(Math.max(0, s1)), Math.sqrt(Math.max(0, s2)), `layer ${layer} ${module}`, names, [!p, !q]) });
    }
    out.layers.push({ layer, similarity: cosine(inner, Math.sqrt(Math.max(0, sq1)), Math.sqrt(Math.max(0, sq2)), `layer ${layer}`, names, [!any1, !any2]) });
    allInner += inner;
    allSq1 += sq1;
    allSq2 += sq2;
  }
  out.overall = cosine(allInner, Math.sqrt(Math.max(0, allSq1)), Math.sqrt(Math.max(0, allSq2)), 'any layer', names, [allSq1 === 0, allSq2 === 0]);
  return out;
}

/** How a block of cells becomes one heatmap cell. */
export type Pooling = 'mean' | 'max-abs';

/** A matrix reduced to at most maxSide x maxSide cells for a heatmap. */
export interface PooledMatrix {
  rows: number;
  cols: number;
  /** Size of the matrix it was pooled from. */
  sourceRows: number;
  sourceCols: number;
  pooling: Pooling;
  /** rows * cols values, row-major. */
  data: Float32Array;
  min: number;
  max: number;
}

/** Largest heatmap side (cells) sent to the page. */
export const HEATMAP_SIDE = 64;

/**
 * Source row r (of n) lands in output row floor(r * out / n): contiguous groups whose sizes differ
 * by at most one; with n <= out every row is its own cell.
 */
function groupOf(index: number, n: number, out: number): number {
  return Math.floor((index * out) / n);
}

/**
 * Pools a row-major matrix, fed one source row at a time (so a matrix that is never stored whole,
 * like dW, can be pooled too): 'mean' averages each block, 'max-abs' keeps the signed value of
 * largest magnitude (a few large weights stay visible).
 */
class Pooler {
  readonly rows: number;
  readonly cols: number;
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;
  private readonly colGroup: Uint32Array;

  constructor(readonly sourceRows: number, readonly sourceCols: number, readonly pooling: Pooling, maxSide: number) {
    this.rows = Math.min(sourceRows, maxSide);
    this.cols = Math.min(sourceCols, maxSide);
    this.sums = new Float64Array(this.rows * this.cols);
    this.counts = new Uint32Array(this.rows * this.cols);
    this.colGroup = new Uint32Array(sourceCols);
    for (let c = 0; c < sourceCols; c++) this.colGroup[c] = groupOf(c, sourceCols, this.cols);
  }

  addRow(r: number, row: ArrayLike<number>): void {
    const base = groupOf(r, this.sourceRows, this.rows) * this.cols;
    for (let c = 0; c < this.sourceCols; c++) {
      const o = base + (this.colGroup[c] as number);
      const v = row[c] as number;
      if (this.pooling === 'mean') this.sums[o] = (this.sums[o] as number) + v;
      else if (this.counts[o] === 0 || Math.abs(v) > Math.abs(this.sums[o] as number)) this.sums[o] = v;
      this.counts[o] = (this.counts[o] as number) + 1;
    }
  }

  finish(): PooledMatrix {
    const data = new Float32Array(this.sums.length);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = this.pooling === 'mean' ? (this.sums[i] as number) / Math.max(1, this.counts[i] as number) : (this.sums[i] as number);
      data[i] = v;
      // the range of the float32 values the page receives
      const stored = data[i] as number;
      if (stored < min) min = stored;
      if (stored > max) max = stored;
    }
    if (data.length === 0) [min, max] = [0, 0];
    return { rows: this.rows, cols: this.cols, sourceRows: this.sourceRows, sourceCols: this.sourceCols, pooling: this.pooling, data, min, max };
  }
}

/** A matrix pooled to at most maxSide x maxSide cells. */
export function poolMatrix(m: LoraMatrixData, pooling: Pooling = 'max-abs', maxSide = HEATMAP_SIDE): PooledMatrix {
  if (m.data.length !== m.rows * m.cols) throw new Error(`matrix data has ${m.data.length} values, expected ${m.rows} x ${m.cols}`);
  const pooler = new Pooler(m.rows, m.cols, pooling, maxSide);
  for (let r = 0; r < m.rows; r++) pooler.addRow(r, m.data.subarray(r * m.cols, (r + 1) * m.cols));
  return pooler.finish();
}

/**
 * scale · B·A (out x in) pooled to at most maxSide x maxSide, computed one row at a time (O(in)
 * memory); for the heatmap of one module only (O(out · in · r) work).
 */
export function poolDelta(pair: LoraPair, pooling: Pooling = 'max-abs', maxSide = HEATMAP_SIDE): PooledMatrix {
  const { a, b, scale } = pair;
  if (a.rows !== b.cols) throw new Error(`A has ${a.rows} rows but B has ${b.cols} columns`);
  const r = a.rows;
  const pooler = new Pooler(b.rows, a.cols, pooling, maxSide);
  const row = new Float64Array(a.cols);
  for (let i = 0; i < b.rows; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const w = scale * (b.data[i * r + k] as number);
      if (w === 0) continue;
      const p = k * a.cols;
      for (let j = 0; j < a.cols; j++) row[j] = (row[j] as number) + w * (a.data[p + j] as number);
    }
    pooler.addRow(i, row);
  }
  return pooler.finish();
}
