/**
 * Shared by the ONNX export parity tests (onnxruntime-node and onnxruntime-web): the fixture
 * written by trainer/fixtures/onnx.py, the Python export into a temporary directory, feeds as plain
 * typed arrays (each runtime wraps them in its own Tensor class) and the error measure.
 *
 * Fixture: test/fixtures/onnx-parity (tiny random model), or the directory in ONNX_PARITY_FIXTURE,
 * e.g. one written for the real model:
 *   python3 -m trainer.fixtures.onnx --model models/base --out build/onnx-parity-base
 *   ONNX_PARITY_FIXTURE=build/onnx-parity-base npx vitest run test/onnx
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { DEFAULT_PARENTS } from '../../src/generator/loraLayout';
import { float32ArrayToFloat16, parseSafetensors, type SafetensorsFile } from '../../src/generator/safetensors';

export const REPO = resolve(__dirname, '../..');
export const PYTHON = '/usr/bin/python3';
export const FIXTURE = resolve(REPO, process.env.ONNX_PARITY_FIXTURE ?? 'test/fixtures/onnx-parity');

/** max |onnx - torch| / max |torch| over the compared logits. */
export const FP32_TOLERANCE = 1e-4;
/** fp16 weights, KV cache and matmuls (RMSNorm statistics, softmax and logits in fp32). */
export const FP16_TOLERANCE = 2e-2;

export interface StepInputs {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
}

export interface ParityFixture {
  model_dir: string;
  lora_dir: string;
  lora_rank: number;
  lora_scale: number;
  lora_targets: string[];
  vocab_size: number;
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  cases: { prompts: number[][]; prefill: StepInputs; decode: StepInputs };
  /** The base model's greedy continuation of each prompt (trainer.base.model.LlamaLM.generate_greedy). */
  greedy: { max_new_tokens: number; tokens: number[][] };
}

export interface ValueInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface ExportSidecar {
  files: Record<string, { inputs: ValueInfo[]; outputs: ValueInfo[]; ops: Record<string, number>; weights: string }>;
  lora: { targets: string[]; rank: number; shapes: Record<string, { A: number[]; B: number[] }> };
  opset: number;
  seconds: number;
}

export type Precision = 'float32' | 'float16';

/** A feed before it becomes a runtime's Tensor. */
export type FeedSpec =
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'float16'; data: Uint16Array; dims: number[] };

export type FeedSpecs = Record<string, FeedSpec>;

export interface Loaded {
  fx: ParityFixture;
  expected: SafetensorsFile;
  lora: SafetensorsFile;
}

/** Why the Python export cannot run here, or undefined when it can. */
export function pythonUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torch.onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} cannot import torch: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

export function loadFixture(): Loaded {
  const fx = JSON.parse(readFileSync(join(FIXTURE, 'cases.json'), 'utf8')) as ParityFixture;
  const expected = parseSafetensors(readFileSync(join(FIXTURE, 'expected.safetensors')), 'expected.safetensors');
  const lora = parseSafetensors(
    readFileSync(join(FIXTURE, fx.lora_dir, 'adapter_model.safetensors')),
    'adapter_model.safetensors',
  );
  return { fx, expected, lora };
}

/** Runs trainer.export.onnx_model on the fixture's model into `outDir` (default: a new temporary directory). */
export function exportToTemp(fx: ParityFixture, fp16: boolean, outDir = mkdtempSync(join(tmpdir(), 'onnx-export-'))): { outDir: string; sidecar: ExportSidecar } {
  const args = ['-m', 'trainer.export.onnx_model', '--model', resolve(FIXTURE, fx.model_dir), '--out', outDir,
    '--lora-targets', fx.lora_targets.join(','), '--lora-rank', String(fx.lora_rank)];
  if (fp16) args.push('--fp16');
  const run = spawnSync(PYTHON, args, { cwd: REPO, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`export failed (${String(run.status)}):\n${run.stdout}\n${run.stderr}`);
  const sidecar = JSON.parse(readFileSync(join(outDir, 'export.json'), 'utf8')) as ExportSidecar;
  return { outDir, sidecar };
}

function int64(rows: number[][]): FeedSpec {
  return { type: 'int64', data: BigInt64Array.from(rows.flat(), (v) => BigInt(v)), dims: [rows.length, rows[0]?.length ?? 0] };
}

export function floatSpec(precision: Precision, values: Float32Array, dims: readonly number[]): FeedSpec {
  return precision === 'float32'
    ? { type: 'float32', data: values, dims: [...dims] }
    : { type: 'float16', data: float32ArrayToFloat16(values), dims: [...dims] };
}

export function stepSpecs(step: StepInputs): FeedSpecs {
  return {
    input_ids: int64(step.input_ids),
    attention_mask: int64(step.attention_mask),
    position_ids: int64(step.position_ids),
  };
}

/** past_key_values.* with past_sequence_length 0 (the first step). */
export function emptyPastSpecs(fx: ParityFixture, precision: Precision, batch: number): FeedSpecs {
  const feeds: FeedSpecs = {};
  const dims = [batch, fx.num_key_value_heads, 0, fx.head_dim];
  for (let l = 0; l < fx.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = floatSpec(precision, new Float32Array(0), dims);
  }
  return feeds;
}

export function peftName(layer: number | string, module: string, ab: string): string {
  return `base_model.model.model.layers.${layer}.${DEFAULT_PARENTS[module] ?? '?'}.${module}.lora_${ab}.weight`;
}

/** lora.{l}.{m}.A/B straight from the PEFT tensors, and lora_scale. */
export function loraSpecs(fx: ParityFixture, lora: SafetensorsFile, precision: Precision, scale: number): FeedSpecs {
  const feeds: FeedSpecs = {};
  for (let l = 0; l < fx.num_hidden_layers; l++) {
    for (const m of fx.lora_targets) {
      for (const ab of ['A', 'B']) {
        const name = peftName(l, m, ab);
        feeds[`lora.${l}.${m}.${ab}`] = floatSpec(precision, lora.float32(name), lora.info(name).shape);
      }
    }
  }
  feeds.lora_scale = floatSpec(precision, Float32Array.of(scale), [1]);
  return feeds;
}

/** max |got - want| / max |want| over the positions where mask is 1 (want: (B, S, V), zeros at padding). */
export function relativeError(got: Float32Array, want: Float32Array, mask: number[][], vocab: number): number {
  expect(got.length).toBe(want.length);
  let maxDiff = 0;
  let maxRef = 0;
  mask.forEach((row, b) => {
    row.forEach((m, s) => {
      if (m === 0) return;
      const base = (b * row.length + s) * vocab;
      for (let v = 0; v < vocab; v++) {
        const w = want[base + v] ?? Number.NaN;
        const g = got[base + v] ?? Number.NaN;
        maxDiff = Math.max(maxDiff, Math.abs(g - w));
        maxRef = Math.max(maxRef, Math.abs(w));
      }
    });
  });
  expect(Number.isFinite(maxDiff)).toBe(true);
  expect(maxRef).toBeGreaterThan(0);
  return maxDiff / maxRef;
}

/** Mask of the decode step's query positions (all real tokens). */
export function decodeMask(step: StepInputs): number[][] {
  return step.input_ids.map((row) => row.map(() => 1));
}

/** Minimal view of an output tensor, common to onnxruntime-node and onnxruntime-web. */
export interface OutTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** One model step in some runtime: feeds in, outputs by name out. */
export type Runner<T extends OutTensor> = (specs: FeedSpecs, past: Record<string, T>) => Promise<Record<string, T>>;

export function logitsOf(out: Record<string, OutTensor>): { data: Float32Array; dims: readonly number[] } {
  const t = out.logits;
  if (t === undefined) throw new Error('output logits missing');
  if (!(t.data instanceof Float32Array)) throw new Error(`logits are ${t.type}, expected float32 data on the CPU`);
  return { data: t.data, dims: t.dims };
}

export function presentsAsPast<T extends OutTensor>(out: Record<string, T>, layers: number): Record<string, T> {
  const past: Record<string, T> = {};
  for (let l = 0; l < layers; l++) {
    for (const kv of ['key', 'value']) {
      const t = out[`present.${l}.${kv}`];
      if (t === undefined) throw new Error(`output present.${l}.${kv} missing`);
      past[`past_key_values.${l}.${kv}`] = t;
    }
  }
  return past;
}

/**
 * Prefill (empty past) then one decode step fed with the prefill's presents; returns the relative
 * errors of both against the fixture's `{variant}.prefill` / `{variant}.decode`.
 */
export async function prefillAndDecode<T extends OutTensor>(
  { fx, expected }: Loaded,
  run: Runner<T>,
  precision: Precision,
  variant: 'base' | 'lora',
  extra: FeedSpecs,
): Promise<[number, number]> {
  const { prefill, decode } = fx.cases;
  const batch = prefill.input_ids.length;
  const out1 = await run({ ...stepSpecs(prefill), ...emptyPastSpecs(fx, precision, batch), ...extra }, {});
  const l1 = logitsOf(out1);
  expect(l1.dims).toEqual([batch, prefill.input_ids[0]?.length, fx.vocab_size]);
  const e1 = relativeError(l1.data, expected.float32(`${variant}.prefill`), prefill.attention_mask, fx.vocab_size);
  const past = presentsAsPast(out1, fx.num_hidden_layers);
  expect(past['past_key_values.0.key']?.dims).toEqual([batch, fx.num_key_value_heads, prefill.attention_mask[0]?.length, fx.head_dim]);
  const out2 = await run({ ...stepSpecs(decode), ...extra }, past);
  const l2 = logitsOf(out2);
  expect(l2.dims).toEqual([batch, 1, fx.vocab_size]);
  const e2 = relativeError(l2.data, expected.float32(`${variant}.decode`), decodeMask(decode), fx.vocab_size);
  return [e1, e2];
}
