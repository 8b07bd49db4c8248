/**
 * The browser's prompt-condition encoder (src/model/encoder.ts) against the committed fixture
 * test/fixtures/conditions/ (trainer/generator/conditions.py on models/base, fp32 CPU): the real pipeline in
 * Node, with the engine's code and the committed model, no Python:
 *
 * - tokenization: transformers.js on models/base's tokenizer files (as the engine loads them: no
 *   special tokens, first L ids, `<|endoftext|>` for an empty prompt) gives the fixture's ids;
 * - hidden states: the committed web graph models/base/decoder.onnx (trainer/export/web_graphs.py; weights
 *   = model.safetensors as external data) run by onnxruntime-node on the CPU, output
 *   `last_hidden_state` of one first step over the right-padded batch, gives the fixture's
 *   (7, 32, 512) within TOLERANCE, measured as max |onnx - fixture| / max |fixture| over the whole
 *   tensor (padding rows must be exactly 0); decoder_f16.onnx (fp16 compute) within F16_TOLERANCE.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { loadBaseTokenizer } from '../setup/baseTokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../src/generator/safetensors';
import {
  conditionIds, EMPTY_PROMPT_TOKEN, encodeIds, encodePrompts, selectPrompts, type EncoderRun,
} from '../../src/model/encoder';
import { EngineError } from '../../src/model/errors';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = join(ROOT, 'test/fixtures/conditions');
const MODEL = join(ROOT, 'models/base');
/** max |onnx - fixture| / max |fixture|; measured about 2e-6 (see the console line). */
const TOLERANCE = 1e-4;
/** The fp16-compute graph (fp16 weights, activations and KV; RMSNorm statistics in fp32). */
const F16_TOLERANCE = 2e-2;

interface Cases {
  weights_sha256: string;
  encoder: { layer: number; max_tokens: number; pooling: string; template: string };
  cases: { prompt: string; text: string; ids: number[] }[];
}
const fx = JSON.parse(readFileSync(join(FIXTURE, 'cases.json'), 'utf8')) as Cases;
const expected = parseSafetensors(readFileSync(join(FIXTURE, 'embeddings.safetensors')), 'embeddings.safetensors');
const L = fx.encoder.max_tokens;
const [N, , C] = expected.info('embeddings').shape as [number, number, number];
const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as { num_hidden_layers: number; num_key_value_heads: number; head_dim: number };

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}

/** The engine's encoder run (src/model/hiddenStates.ts) on onnxruntime-node: empty past, last_hidden_state only. */
function hiddenStates(session: ort.InferenceSession, kv: 'float32' | 'float16'): EncoderRun {
  return async (ids, mask, batch, seq) => {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [batch, seq]),
      attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
    };
    const dims = [batch, config.num_key_value_heads, 0, config.head_dim];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const k of ['key', 'value']) {
        feeds[`past_key_values.${l}.${k}`] = kv === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
      }
    }
    const out = await session.run(feeds, ['last_hidden_state']);
    const h = out['last_hidden_state']!;
    expect(h.dims).toEqual([batch, seq, C]);
    return h.data as Float32Array;
  };
}

describe('prompt-condition encoder (models/base/decoder.onnx last_hidden_state, onnxruntime-node) vs test/fixtures/conditions', () => {
  let tokenizer: PreTrainedTokenizer;
  let session: ort.InferenceSession;
  let run: EncoderRun;
  const errors: Record<string, number> = {};
  const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false });

  beforeAll(async () => {
    expect(sha256(join(MODEL, 'model.safetensors'))).toBe(fx.weights_sha256);
    tokenizer = await loadBaseTokenizer();
    session = await ort.InferenceSession.create(join(MODEL, 'decoder.onnx'), { executionProviders: ['cpu'] });
    run = hiddenStates(session, 'float32');
  }, 300_000);

  afterAll(async () => {
    await session?.release();
    console.log(`last_hidden_state vs fixture, max|onnx-fixture|/max|fixture|: ${JSON.stringify(errors)}`);
  });

  it('the fixture is the generator config the engine assumes (layer -1, L 32, no pooling, plain)', () => {
    expect(fx.encoder).toEqual({ layer: -1, max_tokens: 32, pooling: 'none', template: 'plain' });
    expect([N, C]).toEqual([fx.cases.length, 512]);
  });

  it('transformers.js gives the fixture token ids (no special tokens, first L, empty -> <|endoftext|>)', () => {
    const emptyId = tokenizer.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
    const ids = conditionIds(encode, fx.cases.map((c) => c.text), L, emptyId);
    expect(ids).toEqual(fx.cases.map((c) => c.ids));
    expect(fx.cases.map((c) => c.prompt)).toEqual(fx.cases.map((c) => c.text)); // template "plain"
    // template "chat" (trainer/generator/conditions.py): the markup tokens are single special ids, then the prompt's
    const [chat] = conditionIds(encode, ['is the sun a star?'], L, emptyId, 'chat');
    const im = tokenizer.convert_tokens_to_ids(['<|im_start|>', '<|im_end|>']);
    expect(chat![0]).toBe(im[0]);
    expect(chat).toContain(im[1]);
    expect(chat!.length).toBeLessThan(fx.cases[1]!.ids.length + 8);
  });

  it('decoder.onnx on the fixture ids (one right-padded batch) gives the fixture embeddings', async () => {
    const got = await encodeIds(run, fx.cases.map((c) => c.ids), L, C);
    const want = expected.float32('embeddings');
    expect(got.length).toBe(want.length);
    errors.batch = relativeError(got, want);
    expect(errors.batch).toBeLessThan(TOLERANCE);
    fx.cases.forEach((c, i) => {
      const pad = got.subarray((i * L + c.ids.length) * C, (i + 1) * L * C);
      expect(pad.every((v) => v === 0)).toBe(true);
    });
  });

  it('each prompt alone gives the same rows as in the batch (padding does not leak)', async () => {
    const want = expected.float32('embeddings');
    let worst = 0;
    for (const [i, c] of fx.cases.entries()) {
      const one = await encodeIds(run, [c.ids], L, C);
      worst = Math.max(worst, relativeError(one, want.subarray(i * L * C, (i + 1) * L * C)));
    }
    errors.single = worst;
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('encodePrompts: P prompts of text -> (P, L, C); more than P: the first P; fewer: a clear error', async () => {
    const texts = fx.cases.map((c) => c.prompt);
    const eight = [...texts, texts[1]!];
    const emptyId = tokenizer.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
    const shape = { promptCount: 8, maxTokens: L, channels: C };
    const out = await encodePrompts(run, encode, emptyId, [...eight, 'an extra prompt that is not used'], shape);
    expect(out.shape).toEqual([8, L, C]);
    expect(out.prompts).toEqual(eight);
    expect(out.ids).toEqual([...fx.cases.map((c) => c.ids), fx.cases[1]!.ids]);
    const want = expected.float32('embeddings');
    errors.encodePrompts = Math.max(
      relativeError(out.condition.subarray(0, N * L * C), want),
      relativeError(out.condition.subarray(N * L * C), want.subarray(L * C, 2 * L * C)),
    );
    expect(errors.encodePrompts).toBeLessThan(TOLERANCE);

    expect(() => selectPrompts(texts, 8)).toThrowError(EngineError);
    expect(() => selectPrompts(texts, 8)).toThrowError(/needs 8 prompts.*got 7.*Add 1 more/);
    await expect(encodePrompts(run, encode, emptyId, texts.slice(0, 2), shape)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('decoder_f16.onnx (fp16 compute) gives them too, within the fp16 tolerance', async () => {
    const f16 = await ort.InferenceSession.create(join(MODEL, 'decoder_f16.onnx'), { executionProviders: ['cpu'] });
    try {
      const got = await encodeIds(hiddenStates(f16, 'float16'), fx.cases.map((c) => c.ids), L, C);
      errors.f16 = relativeError(got, expected.float32('embeddings'));
      expect(errors.f16).toBeLessThan(F16_TOLERANCE);
    } finally {
      await f16.release();
    }
  });
});
