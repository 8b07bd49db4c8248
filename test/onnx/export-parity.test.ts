/**
 * Parity of the ONNX export (trainer/export_onnx.py) with the PyTorch model, in onnxruntime-node.
 *
 * Runs `/usr/bin/python3 -m trainer.export_onnx --fp16` on the fixture's model into a temporary
 * directory, then compares the ONNX logits with the PyTorch logits stored in the fixture
 * (trainer/fixture_onnx.py): prefill (batch 2, left padding, empty KV cache), one cached decode
 * step, without LoRA and with the committed random PEFT LoRA.
 *
 * Fixture: test/fixtures/onnx-parity (tiny random model). For another model, write a fixture with
 * `python3 -m trainer.fixture_onnx --model models/base --out build/onnx-parity-base` and run with
 * `ONNX_PARITY_FIXTURE=build/onnx-parity-base npx vitest run test/onnx`.
 *
 * Tolerance: relative max error = max |onnx - torch| / max |torch| over the compared logits.
 * fp32 < 1e-4; fp16 weights (computed in fp16, fp32 norms/softmax) < 2e-2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32ArrayToFloat16, parseSafetensors, type SafetensorsFile } from '../../src/generator/safetensors';

const REPO = resolve(__dirname, '../..');
const PYTHON = '/usr/bin/python3';
const FIXTURE = resolve(REPO, process.env.ONNX_PARITY_FIXTURE ?? 'test/fixtures/onnx-parity');
const FP32_TOLERANCE = 1e-4;
const FP16_TOLERANCE = 2e-2;
const MODULE_PARENT: Readonly<Record<string, string>> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

interface StepInputs {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
}

interface ParityFixture {
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
}

interface ValueInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

interface ExportSidecar {
  files: Record<string, { inputs: ValueInfo[]; outputs: ValueInfo[]; ops: Record<string, number>; weights: string }>;
  lora: { targets: string[]; rank: number; shapes: Record<string, { A: number[]; B: number[] }> };
  opset: number;
}

type Precision = 'float32' | 'float16';
type Feeds = Record<string, ort.Tensor>;

/** Why the export cannot run here, or undefined when it can. */
function pythonUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torch.onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} cannot import torch: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

const skipReason = pythonUnavailable();

function int64Tensor(rows: number[][]): ort.Tensor {
  const dims = [rows.length, rows[0]?.length ?? 0];
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat(), (v) => BigInt(v)), dims);
}

function floatTensor(precision: Precision, values: Float32Array, dims: readonly number[]): ort.Tensor {
  return precision === 'float32'
    ? new ort.Tensor('float32', values, dims)
    : new ort.Tensor('float16', float32ArrayToFloat16(values), dims);
}

function emptyPast(fx: ParityFixture, precision: Precision, batch: number): Feeds {
  const feeds: Feeds = {};
  const dims = [batch, fx.num_key_value_heads, 0, fx.head_dim];
  for (let l = 0; l < fx.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = floatTensor(precision, new Float32Array(0), dims);
  }
  return feeds;
}

function loraFeeds(fx: ParityFixture, lora: SafetensorsFile, precision: Precision, scale: number): Feeds {
  const feeds: Feeds = {};
  for (let l = 0; l < fx.num_hidden_layers; l++) {
    for (const m of fx.lora_targets) {
      for (const ab of ['A', 'B']) {
        const name = `base_model.model.model.layers.${l}.${MODULE_PARENT[m] ?? '?'}.${m}.lora_${ab}.weight`;
        feeds[`lora.${l}.${m}.${ab}`] = floatTensor(precision, lora.float32(name), lora.info(name).shape);
      }
    }
  }
  feeds.lora_scale = floatTensor(precision, Float32Array.of(scale), [1]);
  return feeds;
}

function stepFeeds(step: StepInputs): Feeds {
  return {
    input_ids: int64Tensor(step.input_ids),
    attention_mask: int64Tensor(step.attention_mask),
    position_ids: int64Tensor(step.position_ids),
  };
}

function presentsAsPast(out: ort.InferenceSession.OnnxValueMapType, layers: number): Feeds {
  const feeds: Feeds = {};
  for (let l = 0; l < layers; l++) {
    for (const kv of ['key', 'value']) {
      const t = out[`present.${l}.${kv}`];
      if (t === undefined) throw new Error(`output present.${l}.${kv} missing`);
      feeds[`past_key_values.${l}.${kv}`] = t as ort.Tensor;
    }
  }
  return feeds;
}

function logitsOf(out: ort.InferenceSession.OnnxValueMapType): { data: Float32Array; dims: readonly number[] } {
  const t = out.logits;
  if (t === undefined) throw new Error('output logits missing');
  if (!(t.data instanceof Float32Array)) throw new Error(`logits are ${t.type}, expected float32`);
  return { data: t.data, dims: t.dims };
}

/** max |got - want| / max |want| over the positions where mask is 1 (want: (B, S, V), zeros at padding). */
function relativeError(got: Float32Array, want: Float32Array, mask: number[][], vocab: number): number {
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

/** Mask rows of the decode step's query positions (all real tokens). */
function decodeMask(step: StepInputs): number[][] {
  return step.input_ids.map((row) => row.map(() => 1));
}

describe.skipIf(skipReason !== undefined)(`ONNX export parity with PyTorch${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const fx = JSON.parse(readFileSync(join(FIXTURE, 'cases.json'), 'utf8')) as ParityFixture;
  const expected = parseSafetensors(readFileSync(join(FIXTURE, 'expected.safetensors')), 'expected.safetensors');
  const lora = parseSafetensors(
    readFileSync(join(FIXTURE, fx.lora_dir, 'adapter_model.safetensors')),
    'adapter_model.safetensors',
  );
  const errors: Record<string, number> = {};
  let outDir = '';
  let sidecar: ExportSidecar;
  const sessions = new Map<string, ort.InferenceSession>();

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'onnx-export-'));
    const args = ['-m', 'trainer.export_onnx', '--model', resolve(FIXTURE, fx.model_dir), '--out', outDir,
      '--lora-targets', fx.lora_targets.join(','), '--lora-rank', String(fx.lora_rank), '--fp16'];
    const run = spawnSync(PYTHON, args, { cwd: REPO, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`export failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    sidecar = JSON.parse(readFileSync(join(outDir, 'export.json'), 'utf8')) as ExportSidecar;
  }, 900_000);

  afterAll(async () => {
    for (const s of sessions.values()) await s.release();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    console.log(`ONNX parity, relative max error (max|onnx-torch|/max|torch|): ${JSON.stringify(errors, null, 1)}`);
  });

  async function session(file: string): Promise<ort.InferenceSession> {
    let s = sessions.get(file);
    if (s === undefined) {
      s = await ort.InferenceSession.create(join(outDir, file), { executionProviders: ['cpu'] });
      sessions.set(file, s);
    }
    return s;
  }

  /** Prefill then one cached decode step; records and returns both relative errors. */
  async function prefillAndDecode(file: string, precision: Precision, variant: 'base' | 'lora', extra: Feeds) {
    const s = await session(file);
    const { prefill, decode } = fx.cases;
    const batch = prefill.input_ids.length;
    const out1 = await s.run({ ...stepFeeds(prefill), ...emptyPast(fx, precision, batch), ...extra });
    const l1 = logitsOf(out1);
    expect(l1.dims).toEqual([batch, prefill.input_ids[0]?.length, fx.vocab_size]);
    const e1 = relativeError(l1.data, expected.float32(`${variant}.prefill`), prefill.attention_mask, fx.vocab_size);
    const past = presentsAsPast(out1, fx.num_hidden_layers);
    expect(past['past_key_values.0.key']?.dims).toEqual([batch, fx.num_key_value_heads, prefill.attention_mask[0]?.length, fx.head_dim]);
    const out2 = await s.run({ ...stepFeeds(decode), ...past, ...extra });
    const l2 = logitsOf(out2);
    expect(l2.dims).toEqual([batch, 1, fx.vocab_size]);
    const e2 = relativeError(l2.data, expected.float32(`${variant}.decode`), decodeMask(decode), fx.vocab_size);
    const tag = extra.lora_scale ? `${file} ${variant} (lora_scale ${variant === 'base' ? 0 : fx.lora_scale})` : `${file} ${variant}`;
    errors[`${tag} prefill`] = e1;
    errors[`${tag} decode`] = e2;
    return [e1, e2] as const;
  }

  it('writes the four files with the Hugging Face decoder interface and the LoRA inputs', () => {
    expect(Object.keys(sidecar.files).sort()).toEqual(['model.onnx', 'model_fp16.onnx', 'model_lora.onnx', 'model_lora_fp16.onnx']);
    const plain = sidecar.files['model.onnx'];
    const withLora = sidecar.files['model_lora.onnx'];
    if (plain === undefined || withLora === undefined) throw new Error('missing file entries');
    const past: string[] = [];
    const present: string[] = [];
    for (let l = 0; l < fx.num_hidden_layers; l++) {
      for (const kv of ['key', 'value']) {
        past.push(`past_key_values.${l}.${kv}`);
        present.push(`present.${l}.${kv}`);
      }
    }
    expect(plain.inputs.map((x) => x.name)).toEqual(['input_ids', 'attention_mask', 'position_ids', ...past]);
    expect(plain.outputs.map((x) => x.name)).toEqual(['logits', ...present]);
    expect(plain.inputs[0]).toEqual({ name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] });
    expect(plain.inputs[3]).toEqual({
      name: 'past_key_values.0.key', dtype: 'float32',
      shape: ['batch_size', fx.num_key_value_heads, 'past_sequence_length', fx.head_dim],
    });
    const loraNames = withLora.inputs.map((x) => x.name).slice(3 + past.length);
    expect(loraNames.length).toBe(2 * fx.num_hidden_layers * fx.lora_targets.length + 1);
    expect(loraNames.at(-1)).toBe('lora_scale');
    expect(loraNames.slice(0, 2)).toEqual([`lora.0.${fx.lora_targets[0]}.A`, `lora.0.${fx.lora_targets[0]}.B`]);
    for (const info of withLora.inputs.filter((x) => x.name.startsWith('lora.'))) {
      const [, layer, module, ab] = info.name.split('.');
      const peft = `base_model.model.model.layers.${layer}.${MODULE_PARENT[module ?? ''] ?? '?'}.${module}.lora_${ab}.weight`;
      expect(info.shape).toEqual(lora.info(peft).shape);
    }
    const fp16 = sidecar.files['model_fp16.onnx'];
    expect(fp16?.outputs[0]).toEqual({ name: 'logits', dtype: 'float32', shape: ['batch_size', 'sequence_length', fx.vocab_size] });
    expect(fp16?.inputs[3]?.dtype).toBe('float16');
  });

  it('model.onnx: prefill (empty past) and one cached decode step match PyTorch (fp32)', async () => {
    const [prefill, decode] = await prefillAndDecode('model.onnx', 'float32', 'base', {});
    expect(prefill).toBeLessThan(FP32_TOLERANCE);
    expect(decode).toBeLessThan(FP32_TOLERANCE);
  });

  it('model_lora.onnx with lora_scale 0 is the base model, whatever A/B hold (fp32)', async () => {
    const [prefill, decode] = await prefillAndDecode('model_lora.onnx', 'float32', 'base', loraFeeds(fx, lora, 'float32', 0));
    expect(prefill).toBeLessThan(FP32_TOLERANCE);
    expect(decode).toBeLessThan(FP32_TOLERANCE);
  });

  it('model_lora.onnx with the random LoRA matches PyTorch with merged weights (fp32)', async () => {
    const [prefill, decode] = await prefillAndDecode('model_lora.onnx', 'float32', 'lora', loraFeeds(fx, lora, 'float32', fx.lora_scale));
    expect(prefill).toBeLessThan(FP32_TOLERANCE);
    expect(decode).toBeLessThan(FP32_TOLERANCE);
  });

  it('switching adapters is feeding other tensors: base -> LoRA -> base on one session', async () => {
    const s = await session('model_lora.onnx');
    const { prefill } = fx.cases;
    const batch = prefill.input_ids.length;
    const run = async (scale: number) =>
      logitsOf(await s.run({ ...stepFeeds(prefill), ...emptyPast(fx, 'float32', batch), ...loraFeeds(fx, lora, 'float32', scale) })).data;
    const base1 = await run(0);
    const adapted = await run(fx.lora_scale);
    const base2 = await run(0);
    expect(base2).toEqual(base1);
    expect(relativeError(adapted, expected.float32('lora.prefill'), prefill.attention_mask, fx.vocab_size)).toBeLessThan(FP32_TOLERANCE);
    // The LoRA really changes the output (the fixture's B is not zero).
    expect(relativeError(adapted, expected.float32('base.prefill'), prefill.attention_mask, fx.vocab_size)).toBeGreaterThan(1e-2);
  });

  it('fp16 variants match PyTorch within the fp16 tolerance', async () => {
    const base = await prefillAndDecode('model_fp16.onnx', 'float16', 'base', {});
    const adapted = await prefillAndDecode('model_lora_fp16.onnx', 'float16', 'lora', loraFeeds(fx, lora, 'float16', fx.lora_scale));
    for (const e of [...base, ...adapted]) expect(e).toBeLessThan(FP16_TOLERANCE);
  });
});
