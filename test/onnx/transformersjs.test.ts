/**
 * transformers.js loads the exported decoder unchanged (the Hugging Face / Optimum interface):
 * a model directory with the fixture's config.json and onnx/model.onnx (+ onnx/model_fp16.onnx),
 * loaded with AutoModelForCausalLM (onnxruntime-node underneath), must give the PyTorch logits and
 * the PyTorch greedy continuation. The random tiny model's greedy continuation is degenerate (with
 * tied embeddings it repeats a prompt token), so the logits comparison is the real check; generate()
 * shows that transformers.js drives the KV-cache inputs and outputs correctly.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, FP16_TOLERANCE, FP32_TOLERANCE, exportToTemp, loadFixture, pythonUnavailable, relativeError } from './parity';

const skipReason = pythonUnavailable();

function int64Row(values: readonly number[]): Tensor {
  return new Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [1, values.length]);
}

function tensorField(value: unknown, field: string): Tensor {
  const t: unknown = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
  if (!(t instanceof Tensor)) throw new Error(`model output has no tensor '${field}'`);
  return t;
}

describe.skipIf(skipReason !== undefined)(
  `transformers.js loads the exported model${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const { fx, expected } = loadFixture();
    const errors: Record<string, number> = {};
    let root = '';

    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), 'onnx-tjs-'));
      const modelDir = join(root, 'tiny');
      mkdirSync(modelDir);
      copyFileSync(join(resolve(FIXTURE, fx.model_dir), 'config.json'), join(modelDir, 'config.json'));
      exportToTemp(fx, true, join(modelDir, 'onnx'));
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = `${root}/`;
    }, 900_000);

    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true });
      console.log(`transformers.js vs PyTorch, relative max error:\n${JSON.stringify(errors, null, 1)}`);
    });

    for (const dtype of ['fp32', 'fp16'] as const) {
      it(`${dtype}: forward logits of each prompt match PyTorch and generate() continues greedily like it`, { timeout: 600_000 }, async () => {
        const model = await AutoModelForCausalLM.from_pretrained('tiny', { dtype, device: 'cpu' });
        try {
          const seq = fx.cases.prefill.input_ids[0]?.length ?? 0;
          const want = expected.float32('base.prefill');
          const V = fx.vocab_size;
          for (const [i, prompt] of fx.cases.prompts.entries()) {
            const ones = prompt.map(() => 1);
            const out: unknown = await model.forward({ input_ids: int64Row(prompt), attention_mask: int64Row(ones) });
            const logits = tensorField(out, 'logits');
            expect(logits.dims).toEqual([1, prompt.length, V]);
            // expected row i holds the prompt's logits right-aligned (left padding)
            const start = (i * seq + (seq - prompt.length)) * V;
            const ref = want.subarray(start, start + prompt.length * V);
            const got = Float32Array.from(logits.data as ArrayLike<number>);
            const err = relativeError(got, ref, [ones], V);
            errors[`${dtype} prompt ${i} logits`] = err;
            expect(err).toBeLessThan(dtype === 'fp32' ? FP32_TOLERANCE : FP16_TOLERANCE);

            const generated: unknown = await model.generate({
              inputs: int64Row(prompt), attention_mask: int64Row(ones),
              max_new_tokens: fx.greedy.max_new_tokens, do_sample: false,
            });
            if (!(generated instanceof Tensor)) throw new Error('generate() returned no tensor');
            const tokens = Array.from(generated.data as ArrayLike<bigint>, (v) => Number(v)).slice(prompt.length);
            expect(tokens).toEqual(fx.greedy.tokens[i]);
          }
        } finally {
          await model.dispose();
        }
      });
    }
  },
);
