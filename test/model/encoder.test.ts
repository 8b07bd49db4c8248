/**
 * The browser's prompt-condition encoder (src/model/encoder.ts) against the committed fixture
 * test/fixtures/conditions/ (trainer/generator/conditions.py on models/base, fp32 CPU): the real pipeline in
 * Node, with the engine's code and the committed model, no Python:
 *
 * - tokenization: transformers.js on models/base's tokenizer files (as the engine loads them: no
 *   special tokens, the fixture's window: the first L ids ("head") or the last W ("tail"),
 *   `<|endoftext|>` for an empty prompt) gives the fixture's ids;
 * - hidden states: the committed web graph models/base/decoder.onnx (trainer/export/web_graphs.py; weights
 *   = model.safetensors as external data) run by onnxruntime-node on the CPU, output
 *   `last_hidden_state` of one first step over the right-padded batch, gives the fixture's
 *   (7, 32, 512) within TOLERANCE, measured as max |onnx - fixture| / max |fixture| over the whole
 *   tensor (padding rows must be exactly 0); decoder_f16.onnx (fp16 compute) within F16_TOLERANCE.
 *
 * The window comes from cases.json's `encoder` (`window`, `max_input_tokens`; absent: "head", as the
 * first release wrote it). The tail window is also checked on its own: on made-up ids with a made-up
 * causal encoder (where each kept row is known by hand, as trainer/generator/conditions.py defines it),
 * and on decoder.onnx (a long prompt's kept rows are the last L states of one forward over its W ids).
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
  conditionIds, EMPTY_PROMPT_TOKEN, encodeIds, encodePrompts, idWindow, planEncoderBatches, selectPrompts, type ConditionWindow, type EncoderRun,
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
  encoder: { layer: number; max_tokens: number; pooling: string; template: string; window?: ConditionWindow; max_input_tokens?: number };
  cases: { prompt: string; text: string; ids: number[] }[];
}
const fx = JSON.parse(readFileSync(join(FIXTURE, 'cases.json'), 'utf8')) as Cases;
const expected = parseSafetensors(readFileSync(join(FIXTURE, 'embeddings.safetensors')), 'embeddings.safetensors');
const L = fx.encoder.max_tokens;
/** The fixture's window (trainer/generator/conditions.py `window_of` / `input_length`). */
const WINDOW = idWindow({ maxTokens: L, window: fx.encoder.window ?? 'head', maxInputTokens: fx.encoder.max_input_tokens ?? L });
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

  it('the fixture is the generator config the engine assumes (layer -1, L 32, no pooling, plain; head or tail window)', () => {
    expect(fx.encoder).toMatchObject({ layer: -1, max_tokens: 32, pooling: 'none', template: 'plain' });
    expect(['head', 'tail']).toContain(WINDOW.window);
    expect(WINDOW.length).toBeGreaterThanOrEqual(L);
    expect([N, C]).toEqual([fx.cases.length, 512]);
  });

  it(`transformers.js gives the fixture token ids (no special tokens, ${WINDOW.window} window of ${WINDOW.length}, empty -> <|endoftext|>)`, () => {
    const emptyId = tokenizer.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
    const ids = conditionIds(encode, fx.cases.map((c) => c.text), L, emptyId, 'plain', WINDOW);
    expect(ids).toEqual(fx.cases.map((c) => c.ids));
    expect(fx.cases.map((c) => c.prompt)).toEqual(fx.cases.map((c) => c.text)); // template "plain"
    // template "chat" (trainer/generator/conditions.py): the markup tokens are single special ids, then the prompt's
    const [chat] = conditionIds(encode, ['is the sun a star?'], L, emptyId, 'chat');
    const im = tokenizer.convert_tokens_to_ids(['<|im_start|>', '<|im_end|>']);
    expect(chat![0]).toBe(im[0]);
    expect(chat).toContain(im[1]);
    expect(chat!.length).toBeLessThan(fx.cases[1]!.ids.length + 8);
  });

  it('decoder.onnx on the fixture ids (right-padded batches of similar length) gives the fixture embeddings', async () => {
    const got = await encodeIds(run, fx.cases.map((c) => c.ids), L, C, WINDOW.length);
    const want = expected.float32('embeddings');
    expect(got.length).toBe(want.length);
    errors.batch = relativeError(got, want);
    expect(errors.batch).toBeLessThan(TOLERANCE);
    fx.cases.forEach((c, i) => {
      const pad = got.subarray((i * L + Math.min(c.ids.length, L)) * C, (i + 1) * L * C);
      expect(pad.every((v) => v === 0)).toBe(true);
    });
  });

  it('each prompt alone gives the same rows as in the batch (padding does not leak)', async () => {
    const want = expected.float32('embeddings');
    let worst = 0;
    for (const [i, c] of fx.cases.entries()) {
      const one = await encodeIds(run, [c.ids], L, C, WINDOW.length);
      worst = Math.max(worst, relativeError(one, want.subarray(i * L * C, (i + 1) * L * C)));
    }
    errors.single = worst;
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('tail window on decoder.onnx: a long prompt keeps the last L states of one forward over its last W ids', async () => {
    const long = fx.cases.find((c) => c.prompt.startsWith('Ünïcödé'))!.prompt;
    const all = encode(long);
    const W = 48;
    expect(all.length).toBeGreaterThan(W);
    const [ids] = conditionIds(encode, [long], L, 0, 'plain', { window: 'tail', length: W });
    expect(ids).toEqual(all.slice(-W));
    const got = await encodeIds(run, [ids!], L, C, W);
    const direct = await run(BigInt64Array.from(ids!, (v) => BigInt(v)), new BigInt64Array(W).fill(1n), 1, W);
    errors.tail = relativeError(got, direct.subarray((W - L) * C));
    expect(errors.tail).toBeLessThan(TOLERANCE);
    // ... which differ from a forward over the last L ids alone: the kept rows have read all W
    const short = await encodeIds(run, [ids!.slice(-L)], L, C, W);
    expect(relativeError(short, got)).toBeGreaterThan(1e-3);
  });

  it('encodePrompts: P prompts of text -> (P, L, C); more than P: the first P; fewer: a clear error', async () => {
    const texts = fx.cases.map((c) => c.prompt);
    const eight = [...texts, texts[1]!];
    const emptyId = tokenizer.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
    const shape = { promptCount: 8, maxTokens: L, channels: C, window: WINDOW.window, maxInputTokens: WINDOW.length };
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
      const got = await encodeIds(hiddenStates(f16, 'float16'), fx.cases.map((c) => c.ids), L, C, WINDOW.length);
      errors.f16 = relativeError(got, expected.float32('embeddings'));
      expect(errors.f16).toBeLessThan(F16_TOLERANCE);
    } finally {
      await f16.release();
    }
  });
});

/**
 * A made-up causal encoder: the state of position t is (the sum of ids 0..t) x 10 + channel, so a kept
 * row says which window position it is and what it has read; padding (mask 0) gives -1.
 */
const madeUpRun = (channels: number): EncoderRun => async (ids, mask, batch, seq) => {
  const out = new Float32Array(batch * seq * channels);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let t = 0; t < seq; t++) {
      sum += Number(ids[b * seq + t]);
      for (let c = 0; c < channels; c++) out[(b * seq + t) * channels + c] = mask[b * seq + t] === 1n ? sum * 10 + c : -1;
    }
  }
  return out;
};
/** Made-up tokenizer: one id per character (its code). */
const charIds = (text: string) => Array.from(text, (ch) => ch.codePointAt(0) ?? 0);

describe('condition window on made-up ids (trainer/generator/conditions.py condition_ids / encode_ids)', () => {
  const tail = { window: 'tail', length: 6 } as const;

  it('conditionIds: head keeps the first L, tail the last W; short prompts whole; empty -> the empty id', () => {
    const prompts = ['abcdefghij', 'xyz', ''];
    expect(conditionIds(charIds, prompts, 3, 99)).toEqual([charIds('abc'), charIds('xyz'), [99]]);
    expect(conditionIds(charIds, prompts, 3, 99, 'plain', tail)).toEqual([charIds('efghij'), charIds('xyz'), [99]]);
    // the template's text is cut, not the prompt: the tail of a chat turn ends with its markup
    expect(conditionIds(charIds, ['abcdefghij'], 3, 99, 'chat', tail)).toEqual([charIds('end|>\n')]);
  });

  it('encodeIds (tail): rows 0..keep-1 are the last min(n, L) states of one forward over all n ids; the rest 0', async () => {
    // ids 1..6 (n = 6 > L = 3): prefix sums 1 3 6 10 15 21, kept: positions 3, 4, 5; ids 7 8 (n = 2 < L): both, then a zero row
    const got = await encodeIds(madeUpRun(2), [[1, 2, 3, 4, 5, 6], [7, 8]], 3, 2, 6);
    expect(Array.from(got)).toEqual([100, 101, 150, 151, 210, 211, 70, 71, 150, 151, 0, 0]);
  });

  it('encodeIds (head): the n <= L states from row 0, as in version 1', async () => {
    const got = await encodeIds(madeUpRun(1), [[1, 2], [3, 4, 5]], 3, 1);
    expect(Array.from(got)).toEqual([10, 30, 0, 30, 70, 120]);
  });

  it('refuses more ids than the window, and an empty id list', async () => {
    await expect(encodeIds(madeUpRun(1), [[1, 2, 3, 4]], 3, 1)).rejects.toThrow(/1 to 3 token ids; got 4/);
    await expect(encodeIds(madeUpRun(1), [[1, 2, 3, 4, 5, 6, 7]], 3, 1, 6)).rejects.toThrow(/1 to 6 token ids; got 7/);
    await expect(encodeIds(madeUpRun(1), [[]], 3, 1, 6)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('idWindow: head is L, tail is W (default L), and W < L is refused', () => {
    expect(idWindow({ maxTokens: 32 })).toEqual({ window: 'head', length: 32 });
    expect(idWindow({ maxTokens: 32, window: 'head', maxInputTokens: 128 })).toEqual({ window: 'head', length: 32 });
    expect(idWindow({ maxTokens: 32, window: 'tail', maxInputTokens: 128 })).toEqual({ window: 'tail', length: 128 });
    expect(idWindow({ maxTokens: 32, window: 'tail' })).toEqual({ window: 'tail', length: 32 });
    expect(() => idWindow({ maxTokens: 32, window: 'tail', maxInputTokens: 16 })).toThrow(/at least the 32 tokens/);
  });

  it('encodePrompts with a tail window: the ids and the rows of the condition', async () => {
    const shape = { promptCount: 2, maxTokens: 2, channels: 1, window: 'tail' as const, maxInputTokens: 3 };
    const out = await encodePrompts(madeUpRun(1), (t) => charIds(t).map((c) => c - 96), 0, ['abcd', 'e'], shape);
    // 'abcd' -> b c d = 2 3 4 (sums 2 5 9, kept 5 9); 'e' -> 5 (kept 5, then a zero row)
    expect(out.ids).toEqual([[2, 3, 4], [5]]);
    expect(Array.from(out.condition)).toEqual([50, 90, 50, 0]);
  });
});

describe('encoder batches of similar length (planEncoderBatches)', () => {
  it('one batch when the prompts are about as long; a long prompt runs apart from short ones', () => {
    expect(planEncoderBatches([10, 12, 11, 9, 10, 15, 14, 13])).toEqual([[3, 0, 4, 2, 1, 7, 6, 5]]);
    // 7 short prompts and one of 128 ids: 8 x 128 = 1024 tokens in one batch; 16 + 7 x 15 + 16 + 128 = 265 in two
    expect(planEncoderBatches([128, 10, 12, 11, 9, 10, 15, 14])).toEqual([[4, 1, 5, 3, 2, 7, 6], [0]]);
    // the split is taken only where it saves more padding than a run costs
    expect(planEncoderBatches([20, 24])).toEqual([[0, 1]]);
    expect(planEncoderBatches([20, 24], 0)).toEqual([[0], [1]]);
    expect(planEncoderBatches([])).toEqual([]);
  });

  it('encodeIds runs the planned batches, each padded to its own longest prompt, and puts every prompt at its place', async () => {
    const calls: [number, number][] = [];
    const run = madeUpRun(1);
    const recording: EncoderRun = (ids, mask, batch, seq) => {
      calls.push([batch, seq]);
      return run(ids, mask, batch, seq);
    };
    const ids = [Array.from({ length: 40 }, (_, i) => i + 1), [1, 2], [3], [4, 5, 6]];
    const got = await encodeIds(recording, ids, 2, 1, 40);
    expect(calls).toEqual([[3, 3], [1, 40]]);
    // the same rows as one batch of all four
    expect(Array.from(got)).toEqual(Array.from(await encodeIds(run, ids, 2, 1, 40, Infinity)));
    expect(Array.from(got)).toEqual([(39 * 40) / 2 * 10, (40 * 41) / 2 * 10, 10, 30, 30, 0, 90, 150]);
  });
});
