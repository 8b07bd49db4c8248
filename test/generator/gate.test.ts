/**
 * The browser's kNN gate (src/generator/gate.ts) against the trainer's (trainer/generator/gate.py) on
 * test/fixtures/gate/ (`python -m trainer gate-fixture`), both features: "condition" (a random 12-task x
 * 16-channel table, five (3, 5, 16) conditions with zero rows: one prompt empty, one condition all zero)
 * and "output" (a 12-task x 2N table, four raw decoder outputs of N = 6 tokens of 2 x 5, one token
 * constant), k = 3, 1, 5 and 20 (> M); the "risk" rule; the "euclidean" metric (standardised by the
 * stored feature mean and standard deviation, similarity 1 / (1 + d²)) on the condition table and on an
 * answer-feature table (F = 5, differently scaled columns, one constant), both rules. The trainer
 * computes in float32, the browser in float64: features within 1e-5 absolute, g within 1e-5 ("mean"),
 * the same grid scale ("risk"), the nearest tasks in the same order. Also the gate's reading from a
 * generator, `gateForRun`'s choice of feature, and the errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gateForRun, knnGate, outputFeature, pooledFeature, readGateTable, type GateTable } from '../../src/generator/gate';
import { GeneratorFormatError, GeneratorRunError } from '../../src/generator/errors';
import { parseGeneratorManifest } from '../../src/generator/manifest';
import { encodeSafetensors, parseSafetensors } from '../../src/generator/safetensors';
import { validManifestV2Json } from './helpers';

interface Case {
  lengths: number[];
  pooled: number[];
  gate: Record<string, { value: number; neighbours: string[] }>;
  /** The "risk" rule's g, keyed "risk/k". */
  risk_gate: Record<string, number>;
  /** Metric "euclidean", rule "mean". */
  euclidean_gate: Record<string, { value: number; neighbours: string[] }>;
}
interface Fixture {
  tasks: string[];
  shape: { M: number; C: number; P: number; L: number };
  output_shape: { M: number; N: number; h: number; w: number };
  k_values: number[];
  risk: { grid: number[]; risks: number[] };
  cases: Case[];
  output_cases: { feature: number[]; gate: Case['gate'] }[];
  answer_shape: { M: number; F: number };
  answer_cases: { feature: number[]; gate: Case['gate']; risk_gate: Record<string, number> }[];
}

const DIR = 'test/fixtures/gate';
const fx = JSON.parse(readFileSync(`${DIR}/cases.json`, 'utf8')) as Fixture;
const file = parseSafetensors(readFileSync(`${DIR}/gate.safetensors`), 'gate.safetensors');
const { M, C, P, L } = fx.shape;
const conditions = file.float32('conditions');
const table = (k: number): GateTable => ({
  feature: 'condition', centroids: file.float32('centroids'), scales: file.float32('scales'), names: fx.tasks, k, width: C,
});
const riskTable = (k: number, risk: number): GateTable => ({ ...table(k), rule: 'risk', curves: file.float32('curves'), grid: fx.risk.grid, risk });
const condition = (i: number) => conditions.subarray(i * P * L * C, (i + 1) * P * L * C);
const { N, h: TH, w: TW } = fx.output_shape;
const outputs = file.float32('outputs');
const outputTable = (k: number): GateTable => ({
  feature: 'output', centroids: file.float32('output.centroids'), scales: file.float32('output.scales'), names: fx.tasks, k, width: 2 * N,
});
const output = (i: number) => outputs.subarray(i * N * TH * TW, (i + 1) * N * TH * TW);
const euclideanTable = (k: number): GateTable => ({
  ...table(k), metric: 'euclidean', featureMean: file.float32('euclidean.feature_mean'), featureStd: file.float32('euclidean.feature_std'),
});
const { F } = fx.answer_shape;
const answerTable = (k: number, risk?: number): GateTable => ({
  feature: 'answer', centroids: file.float32('answer.centroids'), scales: file.float32('answer.scales'), names: fx.tasks, k, width: F,
  metric: 'euclidean', featureMean: file.float32('answer.feature_mean'), featureStd: file.float32('answer.feature_std'),
  ...(risk === undefined ? {} : { rule: 'risk' as const, curves: file.float32('curves'), grid: fx.risk.grid, risk }),
});
const answerQuery = (i: number) => file.float32('answer.queries').subarray(i * F, (i + 1) * F);

describe('kNN gate vs trainer/generator/gate.py (test/fixtures/gate)', () => {
  it('the fixture is what the test assumes: 5 conditions, k up to more than M, scales 0 and 1 included', () => {
    expect([M, C, P, L]).toEqual([12, 16, 3, 5]);
    expect(fx.cases.length).toBe(5);
    expect(fx.k_values).toContain(20);
    expect(Array.from(file.float32('scales').slice(0, 2))).toEqual([0, 1]);
  });

  it('pooledFeature: the mean over the non-zero rows of all P prompts (zero for an all-zero condition)', () => {
    fx.cases.forEach((c, i) => {
      const got = pooledFeature(condition(i), P, L, C);
      expect(got.length).toBe(C);
      got.forEach((v, j) => expect(Math.abs(v - (c.pooled[j] as number)), `case ${i} channel ${j}`).toBeLessThan(1e-5));
    });
    expect(Array.from(pooledFeature(condition(4), P, L, C)).every((v) => v === 0)).toBe(true);
  });

  it('knnGate: g and the nearest tasks, for every k (k > M uses all M)', () => {
    let worst = 0;
    fx.cases.forEach((c, i) => {
      const feature = pooledFeature(condition(i), P, L, C);
      for (const k of fx.k_values) {
        const want = c.gate[String(k)]!;
        const got = knnGate(table(k), feature);
        worst = Math.max(worst, Math.abs(got.value - want.value));
        expect(got.neighbours, `case ${i}, k ${k}`).toEqual(want.neighbours);
        expect(got.value).toBeGreaterThanOrEqual(0);
        expect(got.value).toBeLessThanOrEqual(1);
      }
    });
    console.log(`gate: max |g_ts - g_torch| = ${worst}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('outputFeature: each decoder token\'s mean, then its population std (0 for a constant token)', () => {
    fx.output_cases.forEach((c, i) => {
      const got = outputFeature(output(i), N, TH * TW);
      expect(got.length).toBe(2 * N);
      got.forEach((v, j) => expect(Math.abs(v - (c.feature[j] as number)), `output ${i} value ${j}`).toBeLessThan(1e-5));
    });
    expect(outputFeature(output(1), N, TH * TW)[N + 2]).toBe(0);
  });

  it('knnGate on output features: g and the nearest tasks, for every k', () => {
    let worst = 0;
    fx.output_cases.forEach((c, i) => {
      const feature = outputFeature(output(i), N, TH * TW);
      for (const k of fx.k_values) {
        const want = c.gate[String(k)]!;
        const got = knnGate(outputTable(k), feature);
        worst = Math.max(worst, Math.abs(got.value - want.value));
        expect(got.neighbours, `output ${i}, k ${k}`).toEqual(want.neighbours);
      }
    });
    console.log(`gate (output feature): max |g_ts - g_torch| = ${worst}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('rule "risk": the same grid scale as the trainer, for every risk and k', () => {
    const seen = new Set<number>();
    fx.cases.forEach((c, i) => {
      const feature = pooledFeature(condition(i), P, L, C);
      for (const risk of fx.risk.risks) {
        for (const k of fx.k_values) {
          const got = knnGate(riskTable(k, risk), feature);
          expect(got.value, `case ${i}, risk ${risk}, k ${k}`).toBe(c.risk_gate[`${risk}/${k}`]);
          expect(fx.risk.grid).toContain(got.value);
          expect(got.neighbours).toEqual(c.gate[String(k)]!.neighbours);
          seen.add(got.value);
        }
      }
    });
    expect(seen.size).toBeGreaterThanOrEqual(4); // the fixture reaches several grid scales, 0 among them
    expect(seen.has(0)).toBe(true);
  });

  it('rule "risk": 0 (the base model) when every neighbour loses at every scale; a larger risk never picks a larger scale', () => {
    const grid = [0, 0.5, 1];
    // centroids centred at 0 already; the query is as near to a and c as it is far from b and d
    const base: GateTable = { feature: 'condition', centroids: Float32Array.of(1, 0, -1, 0, 0, 1, 0, -1), scales: Float32Array.of(1, 1, 1, 1), names: ['a', 'b', 'c', 'd'], k: 2, width: 2, rule: 'risk', grid };
    const losing = Float32Array.of(0, 0.1, 0.3, 0, -1, -1, 0, 0.2, 0.1, 0, -1, -1);
    expect(knnGate({ ...base, curves: losing, risk: 0 }, [1, 1])).toEqual({ value: 0, neighbours: ['a', 'c'] });
    // a gains much at 1, c loses less: risk 0 follows the gain, risk 8 keeps the base model
    const mixed = Float32Array.of(0, -0.2, -0.9, 0, 0, 0, 0, 0.1, 0.3, 0, 0, 0);
    const at = (risk: number) => knnGate({ ...base, curves: mixed, risk }, [1, 1]).value;
    expect(at(0)).toBe(1);
    expect(at(8)).toBe(0);
    for (const r of [0, 0.5, 1, 2, 4, 8, 16]) expect(at(r * 2)).toBeLessThanOrEqual(at(r));
  });

  it('metric "euclidean" on the condition table: g and the nearest tasks, for every k', () => {
    let worst = 0;
    fx.cases.forEach((c, i) => {
      const feature = pooledFeature(condition(i), P, L, C);
      for (const k of fx.k_values) {
        const want = c.euclidean_gate[String(k)]!;
        const got = knnGate(euclideanTable(k), feature);
        worst = Math.max(worst, Math.abs(got.value - want.value));
        expect(got.neighbours, `case ${i}, k ${k}`).toEqual(want.neighbours);
      }
    });
    console.log(`gate (euclidean, condition): max |g_ts - g_torch| = ${worst}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('metric "euclidean" on answer features (F = 5, columns of different scales, one constant): both rules, every k', () => {
    expect(fx.answer_cases.length).toBe(5);
    expect(file.float32('answer.feature_std')[4]).toBe(1); // the constant column: its std 0 stored as 1
    let worst = 0;
    const seen = new Set<number>();
    fx.answer_cases.forEach((c, i) => {
      const q = answerQuery(i);
      q.forEach((v, j) => expect(v).toBeCloseTo(c.feature[j]!, 6));
      for (const k of fx.k_values) {
        const want = c.gate[String(k)]!;
        const got = knnGate(answerTable(k), q);
        worst = Math.max(worst, Math.abs(got.value - want.value));
        expect(got.neighbours, `answer ${i}, k ${k}`).toEqual(want.neighbours);
        for (const risk of fx.risk.risks) {
          const r = knnGate(answerTable(k, risk), q);
          expect(r.value, `answer ${i}, risk ${risk}, k ${k}`).toBe(c.risk_gate[`${risk}/${k}`]);
          expect(r.neighbours).toEqual(want.neighbours);
          seen.add(r.value);
        }
      }
    });
    console.log(`gate (euclidean, answer): max |g_ts - g_torch| = ${worst}`);
    expect(worst).toBeLessThan(1e-5);
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });

  it('metric "euclidean": the nearest task is the one at the least standardised distance, not the least raw one', () => {
    // column 0 spreads over 100s, column 1 over 0.1s: raw distance would follow column 0 only
    const t: GateTable = {
      feature: 'answer', centroids: Float32Array.of(0, 0, 10, 0.1), scales: Float32Array.of(0, 1), names: ['near-raw', 'near-standardised'], k: 1, width: 2,
      metric: 'euclidean', featureMean: Float32Array.of(0, 0), featureStd: Float32Array.of(100, 0.1),
    };
    expect(knnGate(t, [1, 0.1])).toEqual({ value: 1, neighbours: ['near-standardised'] });
    // no stored standardisation: refused rather than guessed
    expect(() => knnGate({ ...t, featureStd: undefined }, [1, 0.1])).toThrow(/no feature mean and standard deviation/);
  });

  it('k = 1: g is the nearest task\'s own scale', () => {
    const feature = pooledFeature(condition(0), P, L, C);
    const got = knnGate(table(1), feature);
    const nearest = fx.tasks.indexOf(got.neighbours[0]!);
    expect(got.value).toBeCloseTo(file.float32('scales')[nearest]!, 6);
  });

  it('refuses a condition or feature of the wrong size, saying what it expected', () => {
    expect(() => pooledFeature(new Float32Array(10), P, L, C)).toThrow(GeneratorRunError);
    expect(() => pooledFeature(new Float32Array(10), P, L, C)).toThrow(/3 x 5 x 16 values, got 10/);
    expect(() => knnGate(table(3), new Float64Array(C + 1))).toThrow(/feature of 16 values, got 17/);
    expect(() => outputFeature(new Float32Array(59), N, TH * TW)).toThrow(/decoder output of 6 x 10 values, got 59/);
    expect(() => knnGate(answerTable(3), [1, 2, Number.NaN, 4, 5])).toThrow(/not a finite number/);
  });
});

describe('readGateTable', () => {
  const manifest = parseGeneratorManifest(validManifestV2Json());
  const tensors = (scales: number[]) =>
    parseSafetensors(encodeSafetensors({
      'gate.centroids': { dtype: 'F32', shape: [3, 8], data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)) },
      'gate.scales': { dtype: 'F32', shape: [3], data: Float32Array.from(scales) },
    }), 'generator.safetensors');

  it('reads the table with the task names of training.gate_tasks; null without a gate', () => {
    const t = readGateTable(manifest, tensors([0, 0.5, 1]));
    expect(t?.names).toEqual(['alpha', 'beta', 'gamma']);
    expect(t?.k).toBe(2);
    expect(t?.feature).toBe('condition');
    expect(t?.width).toBe(8);
    const { gate: _, ...v1Like } = manifest;
    expect(readGateTable(v1Like, tensors([0, 0.5, 1]))).toBeNull();
  });

  it('a "risk" gate carries its curves, grid and risk; a curve that is not a number is refused', () => {
    const risky = parseGeneratorManifest({ ...validManifestV2Json(), gate: { ...(validManifestV2Json()['gate'] as object), rule: 'risk', curves: 'gate.curves', grid: [0, 1], risk: 3 } });
    const file = (curve: number) => parseSafetensors(encodeSafetensors({
      'gate.centroids': { dtype: 'F32', shape: [3, 8], data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)) },
      'gate.scales': { dtype: 'F32', shape: [3], data: Float32Array.of(0, 0.5, 1) },
      'gate.curves': { dtype: 'F32', shape: [3, 2], data: Float32Array.of(0, -0.5, 0, 0.1, 0, curve) },
    }), 'generator.safetensors');
    const t = readGateTable(risky, file(0.2));
    expect(t).toMatchObject({ rule: 'risk', grid: [0, 1], risk: 3 });
    expect(Array.from(t?.curves ?? [])).toEqual(Array.from(Float32Array.of(0, -0.5, 0, 0.1, 0, 0.2)));
    expect(() => readGateTable(risky, file(Number.POSITIVE_INFINITY))).toThrow(/field gate\.curves: tensor "gate\.curves" holds a value that is not a finite number/);
    expect(readGateTable(manifest, tensors([0, 0.5, 1]))?.rule).toBe('mean');
  });

  it('a "euclidean" gate carries its stored mean and standard deviation; a standard deviation <= 0 is refused', () => {
    const json = validManifestV2Json() as any;
    json.gate = { ...json.gate, feature: 'answer', metric: 'euclidean', feature_mean: 'gate.feature_mean', feature_std: 'gate.feature_std', answer: { tokens: 4, max_prompt_tokens: 64 } };
    const m = parseGeneratorManifest(json);
    const file = (std: number[]) => parseSafetensors(encodeSafetensors({
      'gate.centroids': { dtype: 'F32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.sin(i)) },
      'gate.scales': { dtype: 'F32', shape: [3], data: Float32Array.of(0, 0.5, 1) },
      'gate.feature_mean': { dtype: 'F32', shape: [5], data: Float32Array.of(1, 2, 3, 4, 5) },
      'gate.feature_std': { dtype: 'F32', shape: [5], data: Float32Array.from(std) },
    }), 'generator.safetensors');
    const t = readGateTable(m, file([1, 1, 0.5, 2, 1]));
    expect(t).toMatchObject({ feature: 'answer', metric: 'euclidean', width: 5 });
    expect(Array.from(t?.featureMean ?? [])).toEqual([1, 2, 3, 4, 5]);
    expect(() => readGateTable(m, file([1, 0, 1, 1, 1]))).toThrow(/field gate\.feature_std: tensor "gate\.feature_std"\[1\] is 0; every standard deviation must be a positive number/);
    expect(readGateTable(manifest, tensors([0, 0.5, 1]))?.metric).toBe('cosine');
  });

  it('refuses scales outside [0, 1] or not numbers, naming gate.scales', () => {
    expect(() => readGateTable(manifest, tensors([0, 1.5, 1]))).toThrow(GeneratorFormatError);
    expect(() => readGateTable(manifest, tensors([0, 1.5, 1]))).toThrow(/field gate\.scales: tensor "gate\.scales"\[1\] is 1\.5/);
    expect(() => readGateTable(manifest, tensors([0, Number.NaN, 1]))).toThrow(/\[1\] is NaN/);
  });
});

describe('gateForRun: the feature the manifest names', () => {
  const manifest = parseGeneratorManifest(validManifestV2Json());
  const cond = Float32Array.from({ length: 4 * 6 * 8 }, (_, i) => Math.cos(i));
  const decoderOut = Float32Array.from({ length: 14 * 4 * 5 }, (_, i) => Math.sin(0.3 * i));
  const centroids = (width: number) => Float32Array.from({ length: 3 * width }, (_, i) => Math.sin(1.3 * i));
  const scales = Float32Array.of(0.2, 0.6, 0.9);

  it('"condition": the pooled condition; the decoder output is not read', async () => {
    const t: GateTable = { feature: 'condition', centroids: centroids(8), scales, names: ['a', 'b', 'c'], k: 2, width: 8 };
    const got = await gateForRun(t, manifest, {
      condition: cond,
      decoderOutput: () => {
        throw new Error('read');
      },
    });
    expect(got).toEqual(knnGate(t, pooledFeature(cond, 4, 6, 8)));
  });

  it('"output": the decoder output\'s token means and stds (tokens.count x h·w)', async () => {
    const outManifest = parseGeneratorManifest({ ...validManifestV2Json(), gate: { ...(validManifestV2Json()['gate'] as object), feature: 'output' } });
    const t: GateTable = { feature: 'output', centroids: centroids(28), scales, names: ['a', 'b', 'c'], k: 2, width: 28 };
    const got = await gateForRun(t, outManifest, { condition: cond, decoderOutput: async () => decoderOut });
    expect(got).toEqual(knnGate(t, outputFeature(decoderOut, 14, 20)));
  });

  it('"answer": the measured answer feature (the engine measures it; without a measurement it is refused)', async () => {
    const t: GateTable = { feature: 'answer', centroids: centroids(5), scales, names: ['a', 'b', 'c'], k: 2, width: 5, metric: 'euclidean',
      featureMean: new Float32Array(5), featureStd: Float32Array.of(1, 1, 1, 1, 1) };
    const feature = [0.2, 0.1, -0.3, 0.5, 1];
    const got = await gateForRun(t, manifest, { condition: cond, decoderOutput: async () => decoderOut, answer: async () => feature });
    expect(got).toEqual(knnGate(t, feature));
    await expect(gateForRun(t, manifest, { condition: cond, decoderOutput: async () => decoderOut })).rejects.toThrow(/needs the prompts and the base model/);
  });
});
