/**
 * The kNN gate of a version-2 generator (trainer/generator/gate.py): how much of a generated adapter to
 * apply, read from the prompts. The generator's adapter delta B·A is multiplied by g in [0, 1].
 *
 * - feature (`gate.feature`): "condition": the mean of the condition's real rows (a row = one token's
 *   C values; all-zero rows are padding) over all P prompts (`pooled`); "output": what the generator
 *   makes of the prompts, each raw decoder output token's mean, then each one's population std
 *   (2 x N values, before un-normalisation; `output_feature`); "answer": five numbers about how the base
 *   model starts to answer the prompts and what the adapter does to that start, measured by decoding
 *   (src/model/answerGate.ts, trainer/generator/answer_features.py), handed in by the engine;
 * - the nearest tasks (`GateTable.similarity`), by `gate.metric`: "cosine", query and centroids centred
 *   by the mean centroid, cosine similarity; "euclidean", query and centroids standardised by the stored
 *   `gate.feature_mean` / `gate.feature_std`, similarity 1 / (1 + squared distance). The k most similar
 *   tasks, weights w = max(similarity, 0) + 1e-6 (`GateTable.neighbours`);
 * - g (`GateTable.scale`), by the manifest's `gate.rule`: "mean", g = Σ w·scale / Σ w; "risk", over the
 *   grid scales s, the expected cost Σ w·(d(s) + risk·max(d(s), 0)) / Σ w of the neighbours' NLL curves d
 *   (relative to the base model), and g = the smallest s whose cost is within RISK_TIE of the least.
 *
 * Plain TypeScript on the CPU: it runs once per generation, in float64 (the trainer computes in
 * float32; test/generator/gate.test.ts holds them within 1e-5), on the condition the encoder returned
 * or on the decoder's output read back from the GPU.
 */
import { GeneratorFormatError, GeneratorRunError } from './errors';
import { gateFeatureWidth, gateTaskNames, type GateFeature, type GateMetric, type GateRule, type GeneratorManifest } from './manifest';
import type { SafetensorsFile } from './safetensors';

export interface GateTable {
  /** What a query is made from. */
  feature: GateFeature;
  /** (M, F) row-major, raw (not centred); F = `width`. */
  centroids: Float32Array;
  /** (M,) in [0, 1]: the adapter strength that served each calibration task best. */
  scales: Float32Array;
  /** The M task names (`training.gate_tasks`). */
  names: string[];
  k: number;
  /** F: encoder.channels ("condition") or 2 x tokens.count ("output"). */
  width: number;
  /** "mean" without curves. */
  rule?: GateRule;
  /** Rule "risk": (M, S) row-major, each task's NLL at the grid scales minus its NLL at 0. */
  curves?: Float32Array;
  /** Rule "risk": the S scales (grid[0] = 0). */
  grid?: readonly number[];
  /** Rule "risk": the extra weight of harm. */
  risk?: number;
  /** "cosine" when absent. */
  metric?: GateMetric;
  /** Metric "euclidean": the (F,) mean and standard deviation (every one > 0) a query and the centroids are standardised by. */
  featureMean?: Float32Array;
  featureStd?: Float32Array;
}

export interface GateResult {
  /** g in [0, 1]: the share of the adapter's delta that is applied. */
  value: number;
  /** The names of the k calibration tasks most like the prompts, most similar first. */
  neighbours: string[];
}

/** Cosine similarity is taken over vectors at least this long (trainer: `clamp_min(1e-8)`). */
const MIN_NORM = 1e-8;
/** Added to every weight, so that k neighbours that all point away still average their scales. */
const WEIGHT_FLOOR = 1e-6;
/** Costs this close are one tie, broken towards the smaller scale (trainer: `TIE`; it keeps the float32
 * trainer and this float64 code on the same grid scale). */
const RISK_TIE = 1e-6;

/**
 * The gate's table from a checked generator (tensor shapes are checked by `checkGeneratorTensors`);
 * null without a gate. Refuses values that could not come from training: non-finite numbers, or
 * scales outside [0, 1].
 *
 * @throws GeneratorFormatError naming `gate.centroids` or `gate.scales`
 */
export function readGateTable(manifest: GeneratorManifest, weights: SafetensorsFile): GateTable | null {
  const gate = manifest.gate;
  if (!gate) return null;
  const centroids = weights.float32(gate.centroids);
  const scales = weights.float32(gate.scales);
  if (!centroids.every(Number.isFinite)) fail('gate.centroids', `tensor "${gate.centroids}" holds a value that is not a finite number`);
  scales.forEach((s, i) => {
    if (!(s >= 0 && s <= 1)) fail('gate.scales', `tensor "${gate.scales}"[${i}] is ${s}; every scale must be in [0, 1]`);
  });
  const table: GateTable = {
    feature: gate.feature, centroids, scales, names: gateTaskNames(manifest), k: gate.k, width: gateFeatureWidth(manifest), rule: gate.rule, metric: gate.metric,
  };
  if (gate.metric === 'euclidean' && gate.feature_mean && gate.feature_std) {
    const featureMean = weights.float32(gate.feature_mean);
    const featureStd = weights.float32(gate.feature_std);
    if (!featureMean.every(Number.isFinite)) fail('gate.feature_mean', `tensor "${gate.feature_mean}" holds a value that is not a finite number`);
    featureStd.forEach((s, i) => {
      if (!(s > 0 && Number.isFinite(s))) fail('gate.feature_std', `tensor "${gate.feature_std}"[${i}] is ${s}; every standard deviation must be a positive number`);
    });
    Object.assign(table, { featureMean, featureStd });
  }
  if (gate.rule === 'risk' && gate.curves && gate.grid) {
    const curves = weights.float32(gate.curves);
    if (!curves.every(Number.isFinite)) fail('gate.curves', `tensor "${gate.curves}" holds a value that is not a finite number`);
    Object.assign(table, { curves, grid: gate.grid, risk: gate.risk ?? 0 });
  }
  return table;
}

function fail(path: string, detail: string): never {
  throw new GeneratorFormatError(path, detail, 'generator.safetensors');
}

/**
 * trainer/generator/gate.py `pooled`: a (P, L, C) condition -> its (C,) feature, the mean of the rows
 * whose absolute values do not sum to 0 (all of them zero: the zero vector).
 *
 * @throws GeneratorRunError when the condition is not P x L x C values
 */
export function pooledFeature(condition: Float32Array, promptCount: number, maxTokens: number, channels: number): Float64Array {
  const rows = promptCount * maxTokens;
  if (condition.length !== rows * channels) {
    throw new GeneratorRunError(`the gate needs a condition of ${promptCount} x ${maxTokens} x ${channels} values, got ${condition.length}`);
  }
  const sum = new Float64Array(channels);
  let real = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * channels;
    let magnitude = 0;
    for (let c = 0; c < channels; c++) magnitude += Math.abs(condition[at + c] as number);
    if (!(magnitude > 0)) continue; // padding (as the trainer: a NaN row does not count either)
    real++;
    for (let c = 0; c < channels; c++) sum[c] = (sum[c] as number) + (condition[at + c] as number);
  }
  const n = Math.max(real, 1);
  for (let c = 0; c < channels; c++) sum[c] = (sum[c] as number) / n;
  return sum;
}

/**
 * trainer/generator/gate.py `output_feature`: a raw decoder output (N tokens of `tokenSize` values, the
 * first N x tokenSize of `output`) -> (2N,): each token's mean, then each token's population std.
 *
 * @throws GeneratorRunError when `output` holds fewer values
 */
export function outputFeature(output: Float32Array, count: number, tokenSize: number): Float64Array {
  if (output.length < count * tokenSize) {
    throw new GeneratorRunError(`the gate needs a decoder output of ${count} x ${tokenSize} values, got ${output.length}`);
  }
  const out = new Float64Array(2 * count);
  for (let t = 0; t < count; t++) {
    const at = t * tokenSize;
    let sum = 0;
    for (let i = 0; i < tokenSize; i++) sum += output[at + i] as number;
    const mean = sum / tokenSize;
    let squares = 0;
    for (let i = 0; i < tokenSize; i++) squares += ((output[at + i] as number) - mean) ** 2;
    out[t] = mean;
    out[count + t] = Math.sqrt(squares / tokenSize);
  }
  return out;
}

/** Where a gate query comes from; each source is read only when the table's feature needs it. */
export interface GateSources {
  /** The condition (B = 1, the manifest's features[0]). */
  condition: Float32Array;
  /** The raw decoder output (N x h·w values). */
  decoderOutput: () => Float32Array | Promise<Float32Array>;
  /** The answer feature (5 values), measured by decoding with the adapter at scale 1 (src/model/answerGate.ts). */
  answer?: () => Promise<ArrayLike<number>>;
}

/** The gate for one generation, from the feature its table reads. */
export async function gateForRun(table: GateTable, manifest: GeneratorManifest, sources: GateSources): Promise<GateResult> {
  switch (table.feature) {
    case 'condition': {
      const [p, l, c] = manifest.decoder.features[0] as readonly [number, number, number];
      return knnGate(table, pooledFeature(sources.condition, p, l, c));
    }
    case 'output': {
      const { count, height, width } = manifest.tokens;
      return knnGate(table, outputFeature(await sources.decoderOutput(), count, height * width));
    }
    case 'answer':
      if (!sources.answer) throw new GeneratorRunError('the gate reads the answer feature, which needs the prompts and the base model');
      return knnGate(table, await sources.answer());
  }
}

/** x minus the centre, divided by its norm (at least MIN_NORM). */
function centredUnit(x: ArrayLike<number>, offset: number, center: Float64Array): Float64Array {
  const out = new Float64Array(center.length);
  let norm = 0;
  for (let c = 0; c < center.length; c++) {
    const v = (x[offset + c] as number) - (center[c] as number);
    out[c] = v;
    norm += v * v;
  }
  const d = Math.max(Math.sqrt(norm), MIN_NORM);
  for (let c = 0; c < out.length; c++) out[c] = (out[c] as number) / d;
  return out;
}

/** trainer/generator/gate.py `GateTable.similarity`, metric "cosine": (M,) cosines of the centred query and centroids. */
function cosineSimilarities(table: GateTable, feature: ArrayLike<number>): number[] {
  const C = table.width;
  const M = table.scales.length;
  const center = new Float64Array(C);
  for (let i = 0; i < M; i++) for (let c = 0; c < C; c++) center[c] = (center[c] as number) + (table.centroids[i * C + c] as number) / M;
  const q = centredUnit(feature, 0, center);
  return Array.from({ length: M }, (_, i) => {
    const u = centredUnit(table.centroids, i * C, center);
    let dot = 0;
    for (let c = 0; c < C; c++) dot += (q[c] as number) * (u[c] as number);
    return dot;
  });
}

/**
 * trainer/generator/gate.py `GateTable.similarity`, metric "euclidean": (M,) 1 / (1 + d²), d the distance of
 * the query and a centroid after both are standardised by the table's stored mean and standard deviation.
 */
function euclideanSimilarities(table: GateTable, feature: ArrayLike<number>): number[] {
  const { featureMean: mean, featureStd: std } = table;
  if (!mean || !std) throw new GeneratorRunError('the gate\'s metric is "euclidean" but it has no feature mean and standard deviation');
  const C = table.width;
  const z = (x: number, c: number) => (x - (mean[c] as number)) / (std[c] as number);
  const q = Float64Array.from({ length: C }, (_, c) => z(feature[c] as number, c));
  return Array.from({ length: table.scales.length }, (_, i) => {
    let d2 = 0;
    for (let c = 0; c < C; c++) d2 += ((q[c] as number) - z(table.centroids[i * C + c] as number, c)) ** 2;
    return 1 / (1 + d2);
  });
}

/**
 * trainer/generator/gate.py `GateTable.scale` and `.neighbours` for one feature (pooled condition,
 * decoder-output statistics or answer feature).
 *
 * @throws GeneratorRunError when the feature does not have the table's F values
 */
export function knnGate(table: GateTable, feature: ArrayLike<number>): GateResult {
  const C = table.width;
  const M = table.scales.length;
  if (feature.length !== C) throw new GeneratorRunError(`the gate needs a feature of ${C} values, got ${feature.length}`);
  if (!Array.from({ length: C }, (_, c) => feature[c] as number).every(Number.isFinite)) {
    throw new GeneratorRunError('the gate\'s feature holds a value that is not a finite number');
  }
  const similarities = table.metric === 'euclidean' ? euclideanSimilarities(table, feature) : cosineSimilarities(table, feature);
  const sims = similarities.map((sim, i) => ({ i, sim }));
  const top = sims.sort((a, b) => b.sim - a.sim).slice(0, Math.min(table.k, M));
  const weighted = top.map(({ i, sim }) => ({ i, w: Math.max(sim, 0) + WEIGHT_FLOOR }));
  const value = table.rule === 'risk' ? riskScale(table, weighted) : meanScale(table, weighted);
  return { value, neighbours: top.map(({ i }) => table.names[i] ?? `task ${i + 1}`) };
}

/** Rule "mean": the weighted mean of the neighbours' best scales. */
function meanScale(table: GateTable, neighbours: { i: number; w: number }[]): number {
  let weighted = 0;
  let total = 0;
  for (const { i, w } of neighbours) {
    weighted += w * (table.scales[i] as number);
    total += w;
  }
  return weighted / total;
}

/** Rule "risk": the smallest grid scale whose expected cost over the neighbours' curves is (within RISK_TIE) the least. */
function riskScale(table: GateTable, neighbours: { i: number; w: number }[]): number {
  const { curves, grid } = table;
  if (!curves || !grid) throw new GeneratorRunError('the gate\'s rule is "risk" but it has no NLL curves');
  const S = grid.length;
  const risk = table.risk ?? 0;
  let total = 0;
  for (const { w } of neighbours) total += w;
  const cost = grid.map((_, s) => {
    let sum = 0;
    for (const { i, w } of neighbours) {
      const d = curves[i * S + s] as number;
      sum += w * (d + risk * Math.max(d, 0));
    }
    return sum / total;
  });
  const least = Math.min(...cost);
  return grid[cost.findIndex((c) => c <= least + RISK_TIE)] as number;
}
