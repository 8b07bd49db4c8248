/**
 * Parity of the ONNX export (trainer/export/onnx_model.py) with the PyTorch model, in onnxruntime-node
 * (CPU): `/usr/bin/python3 -m trainer.export.onnx_model --fp16` on the fixture's model into a temporary
 * directory, then the ONNX logits against the PyTorch logits stored in the fixture
 * (trainer/fixtures/onnx.py): prefill (batch 2, left padding, empty KV cache) and one cached decode
 * step, without LoRA and with the committed random PEFT LoRA. See test/onnx/parity.ts for the
 * fixture, the tolerances and how to run it against models/base.
 *
 * Error measure: max |onnx - torch| / max |torch| over the compared logits (real tokens only).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyPastSpecs, exportToTemp, FIXTURE, FP16_TOLERANCE, FP32_TOLERANCE, loadFixture, loraSpecs, logitsOf, peftName,
  prefillAndDecode, pythonUnavailable, relativeError, stepSpecs, type ExportSidecar, type FeedSpec, type FeedSpecs,
  type Precision, type Runner,
} from './parity';

const skipReason = pythonUnavailable();

function toTensor(spec: FeedSpec): ort.Tensor {
  switch (spec.type) {
    case 'int64':
      return new ort.Tensor('int64', spec.data, spec.dims);
    case 'float32':
      return new ort.Tensor('float32', spec.data, spec.dims);
    case 'float16':
      return new ort.Tensor('float16', spec.data, spec.dims);
  }
}

describe.skipIf(skipReason !== undefined)(
  `ONNX export parity with PyTorch, onnxruntime-node CPU${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const loaded = loadFixture();
    const { fx, expected, lora } = loaded;
    const errors: Record<string, number> = {};
    let outDir = '';
    let sidecar: ExportSidecar;
    const sessions = new Map<string, ort.InferenceSession>();

    beforeAll(() => {
      ({ outDir, sidecar } = exportToTemp(fx, true));
    }, 900_000);

    afterAll(async () => {
      for (const s of sessions.values()) await s.release();
      if (outDir) rmSync(outDir, { recursive: true, force: true });
      console.log(`ONNX parity (onnxruntime-node ${ort.env.versions.common}, fixture ${FIXTURE}), ` +
        `relative max error max|onnx-torch|/max|torch|:\n${JSON.stringify(errors, null, 1)}`);
    });

    async function runner(file: string): Promise<Runner<ort.Tensor>> {
      let s = sessions.get(file);
      if (s === undefined) {
        s = await ort.InferenceSession.create(join(outDir, file), { executionProviders: ['cpu'] });
        sessions.set(file, s);
      }
      const session = s;
      return async (specs, past) => {
        const feeds: Record<string, ort.Tensor> = { ...past };
        for (const [name, spec] of Object.entries(specs)) feeds[name] = toTensor(spec);
        return (await session.run(feeds)) as Record<string, ort.Tensor>;
      };
    }

    async function check(file: string, precision: Precision, variant: 'base' | 'lora', extra: FeedSpecs, label: string) {
      const [prefill, decode] = await prefillAndDecode(loaded, await runner(file), precision, variant, extra);
      errors[`${file} ${label} prefill`] = prefill;
      errors[`${file} ${label} decode`] = decode;
      const tol = precision === 'float32' ? FP32_TOLERANCE : FP16_TOLERANCE;
      expect(prefill).toBeLessThan(tol);
      expect(decode).toBeLessThan(tol);
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
        expect(info.shape).toEqual(lora.info(peftName(layer ?? '?', module ?? '?', ab ?? '?')).shape);
      }
      const fp16 = sidecar.files['model_fp16.onnx'];
      expect(fp16?.outputs[0]).toEqual({ name: 'logits', dtype: 'float32', shape: ['batch_size', 'sequence_length', fx.vocab_size] });
      expect(fp16?.inputs[3]?.dtype).toBe('float16');
    });

    it('model.onnx: prefill (empty past) and one cached decode step match PyTorch (fp32)', async () => {
      await check('model.onnx', 'float32', 'base', {}, 'base');
    });

    it('model_lora.onnx with lora_scale 0 is the base model, whatever A/B hold (fp32)', async () => {
      await check('model_lora.onnx', 'float32', 'base', loraSpecs(fx, lora, 'float32', 0), 'base (lora_scale 0)');
    });

    it('model_lora.onnx with the random LoRA matches PyTorch with merged weights (fp32)', async () => {
      await check('model_lora.onnx', 'float32', 'lora', loraSpecs(fx, lora, 'float32', fx.lora_scale),
        `lora (lora_scale ${fx.lora_scale})`);
    });

    it('switching adapters is feeding other tensors: base -> LoRA -> base on one session', async () => {
      const run = await runner('model_lora.onnx');
      const { prefill } = fx.cases;
      const batch = prefill.input_ids.length;
      const logits = async (scale: number) =>
        logitsOf(await run({ ...stepSpecs(prefill), ...emptyPastSpecs(fx, 'float32', batch), ...loraSpecs(fx, lora, 'float32', scale) }, {})).data;
      const base1 = await logits(0);
      const adapted = await logits(fx.lora_scale);
      const base2 = await logits(0);
      expect(base2).toEqual(base1);
      expect(relativeError(adapted, expected.float32('lora.prefill'), prefill.attention_mask, fx.vocab_size)).toBeLessThan(FP32_TOLERANCE);
      // The LoRA really changes the output (the fixture's B is not zero).
      expect(relativeError(adapted, expected.float32('base.prefill'), prefill.attention_mask, fx.vocab_size)).toBeGreaterThan(1e-2);
    });

    it('model_fp16.onnx matches PyTorch within the fp16 tolerance', async () => {
      await check('model_fp16.onnx', 'float16', 'base', {}, 'base');
    });

    it('model_lora_fp16.onnx with the random LoRA matches PyTorch within the fp16 tolerance', async () => {
      await check('model_lora_fp16.onnx', 'float16', 'lora', loraSpecs(fx, lora, 'float16', fx.lora_scale),
        `lora (lora_scale ${fx.lora_scale})`);
    });
  },
);
