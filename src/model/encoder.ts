/**
 * The prompt-condition encoder: P prompts -> the generator's (P, L, C) float32 condition, computed
 * as trainer/generator/conditions.py computes it for training (DESIGN §2.2, `kind: decoder-hidden-states`):
 *
 * 1. text: the prompt alone (template "plain", what generator.json ships: no system prompt, no chat
 *    markup); template "chat" (`<|im_start|>user\n{prompt}<|im_end|>\n`) is mirrored too;
 * 2. ids: the tokenizer's ids without special tokens; window "head" (manifest version 1): the first
 *    L kept; window "tail" (version 2): the last W = `max_input_tokens` (W >= L); an empty prompt
 *    becomes the one id of `<|endoftext|>` (`condition_ids`);
 * 3. one causal forward of the base model (the web graph's `last_hidden_state`,
 *    trainer/export/web_graphs.py) over all of those ids, the final RMSNorm output (`layer -1`), float32; the P prompts run in
 *    batches of similar length (`planEncoderBatches`: padding costs as much as real tokens, a batch
 *    has a fixed cost), each right-padded with id 0 and `attention_mask` 0 (real tokens never attend to padding: causal
 *    attention, right padding, so a prompt's rows do not depend on its batch);
 * 4. no pooling: the hidden states of each prompt's last min(n, L) ids at rows 0.., zero rows after
 *    them (`encode_ids`; with "head", n <= L, so all n rows). In a causal model those last positions
 *    have read the whole window: a tail condition sees a prompt's end and, through attention, its start.
 *
 * No ORT import here (only types): the engine runs it on onnxruntime-web (the model's backend), the
 * Node test (test/model/encoder.test.ts) on onnxruntime-node.
 */
import { BadRequestError } from './errors';

/** The condition the generator reads: P prompts x L tokens x C channels (generator.json `encoder`). */
export interface ConditionShape {
  promptCount: number;
  maxTokens: number;
  channels: number;
  /** trainer/generator/conditions.py `condition_text`; default "plain". */
  template?: ConditionTemplate;
  /** Which ids of a prompt are read: default "head" (the first L). */
  window?: ConditionWindow;
  /** W: with window "tail", how many ids (the last W, W >= L) run through the encoder; default L. */
  maxInputTokens?: number;
}

export type ConditionTemplate = 'plain' | 'chat';

/** trainer/generator/conditions.py `window_of`: the first L ids ("head") or the last W ("tail"). */
export type ConditionWindow = 'head' | 'tail';

/** The window of a prompt's ids that the encoder reads (trainer/generator/conditions.py `input_length`). */
export interface IdWindow {
  window: ConditionWindow;
  /** "head": L; "tail": W. */
  length: number;
}

/** The id window of a condition shape: the first L, or the last W (refusing W < L). */
export function idWindow(shape: Pick<ConditionShape, 'maxTokens' | 'window' | 'maxInputTokens'>): IdWindow {
  const window = shape.window ?? 'head';
  if (window === 'head') return { window, length: shape.maxTokens };
  if (window !== 'tail') throw new BadRequestError(`Unknown condition window "${String(window)}" (head | tail).`);
  const length = shape.maxInputTokens ?? shape.maxTokens;
  if (!Number.isInteger(length) || length < shape.maxTokens) {
    throw new BadRequestError(`The encoder input (max_input_tokens = ${length}) must be at least the ${shape.maxTokens} tokens kept per prompt.`);
  }
  return { window, length };
}

/** trainer/generator/conditions.py `condition_text`. */
export function conditionText(prompt: string, template: ConditionTemplate = 'plain'): string {
  if (template === 'plain') return prompt;
  if (template === 'chat') return `<|im_start|>user\n${prompt}<|im_end|>\n`;
  throw new BadRequestError(`Unknown condition template "${String(template)}" (plain | chat).`);
}

/** trainer/configs/generator.json: P = 8, L = 32 (C = the base model's hidden size). */
export const DEFAULT_PROMPT_COUNT = 8;
export const DEFAULT_MAX_TOKENS = 32;
/** The id an empty prompt is encoded as (trainer/generator/conditions.py `condition_ids`). */
export const EMPTY_PROMPT_TOKEN = '<|endoftext|>';

export interface EncodedPrompts {
  /** (P, L, C) row-major float32: the generator's condition (B = 1). */
  condition: Float32Array;
  shape: [number, number, number];
  /** The prompts encoded, in order (the first P of those given). */
  prompts: string[];
  /** The token ids fed to the encoder per prompt (<= L each with "head", <= W with "tail"; the last
   *  min(n, L) give the rows of `condition`, rows beyond are zero). */
  ids: number[][];
  ms: number;
}

/**
 * Runs the encoder (the model session, src/model/hiddenStates.ts) on one right-padded batch: `input_ids` and `attention_mask` int64 [batch, seq];
 * returns `last_hidden_state` [batch, seq, C] as float32 (row-major).
 */
export type EncoderRun = (inputIds: BigInt64Array, attentionMask: BigInt64Array, batch: number, seq: number) => Promise<Float32Array>;

/**
 * The prompts the condition is made of: exactly P are needed. More than P: the first P in the
 * caller's order are used (a caller that wants a random subset samples first, as the UI does with
 * src/prompts `samplePrompts(records, P, seed)`); fewer: an error saying how many are needed.
 */
export function selectPrompts(prompts: readonly string[], promptCount: number): string[] {
  if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string')) {
    throw new BadRequestError('Prompts must be a list of strings.');
  }
  if (prompts.length < promptCount) {
    throw new BadRequestError(
      `The generator needs ${promptCount} prompts to make an adapter; got ${prompts.length}. Add ${promptCount - prompts.length} more.`,
    );
  }
  return prompts.slice(0, promptCount);
}

/**
 * trainer/generator/conditions.py `condition_ids`: the template's text, ids without special tokens,
 * the first L (`maxTokens`, window "head") or the last W (`window` "tail"); an empty result is `[emptyId]`.
 */
export function conditionIds(
  encode: (text: string) => number[], prompts: readonly string[], maxTokens: number, emptyId: number, template: ConditionTemplate = 'plain',
  window: IdWindow = { window: 'head', length: maxTokens },
): number[][] {
  const n = window.length;
  return prompts.map((p) => {
    const all = encode(conditionText(p, template));
    const ids = window.window === 'head' ? all.slice(0, n) : all.slice(Math.max(0, all.length - n));
    return ids.length > 0 ? ids : [emptyId];
  });
}

/**
 * What one more encoder run costs, in padded tokens: a run reads every weight of the model once
 * whatever its size (measured on onnxruntime-web's WASM backend: a 1-token run takes about as long
 * as 8 tokens of a large batch), so a batch is split only where that saves more padding than this.
 */
export const BATCH_OVERHEAD_TOKENS = 16;

/**
 * Groups prompts of `lengths` tokens into batches that minimise the tokens the encoder computes:
 * each batch is padded to its longest prompt and costs `overheadTokens` more. The best grouping of
 * prompts sorted by length into consecutive runs (dynamic programming, P^2 steps). Returns the
 * batches as indices into `lengths`, shortest first.
 */
export function planEncoderBatches(lengths: readonly number[], overheadTokens = BATCH_OVERHEAD_TOKENS): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
  const n = order.length;
  // best[j]: least cost of the j shortest prompts; cut[j]: where their last batch starts
  const best = new Array<number>(n + 1).fill(Infinity);
  const cut = new Array<number>(n + 1).fill(0);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    const longest = lengths[order[j - 1] as number] as number;
    for (let i = 0; i < j; i++) {
      const cost = (best[i] as number) + overheadTokens + (j - i) * longest;
      if (cost < (best[j] as number)) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const batches: number[][] = [];
  for (let j = n; j > 0; j = cut[j] as number) batches.unshift(order.slice(cut[j] as number, j));
  return batches;
}

/**
 * trainer/generator/conditions.py `encode_ids` (layer -1, pooling none) on the encoder graph: (n, L, C).
 * Each row of `ids` (1 to `maxInputTokens` ids, default L) runs through the encoder whole, in a
 * right-padded batch of prompts of similar length (`planEncoderBatches`); the hidden states of its
 * last min(n, L) ids go to rows 0.. of its (L, C) block.
 */
export async function encodeIds(
  run: EncoderRun, ids: readonly number[][], maxTokens: number, channels: number, maxInputTokens = maxTokens,
  overheadTokens = BATCH_OVERHEAD_TOKENS,
): Promise<Float32Array> {
  const out = new Float32Array(ids.length * maxTokens * channels);
  if (ids.length === 0) return out;
  for (const row of ids) {
    if (row.length === 0 || row.length > maxInputTokens) throw new BadRequestError(`Each prompt needs 1 to ${maxInputTokens} token ids; got ${row.length}.`);
  }
  for (const members of planEncoderBatches(ids.map((r) => r.length), overheadTokens)) {
    const rows = members.map((i) => ids[i] as number[]);
    const batch = rows.length;
    const seq = Math.max(...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    rows.forEach((row, b) => {
      row.forEach((id, j) => {
        inputIds[b * seq + j] = BigInt(id);
        mask[b * seq + j] = 1n;
      });
    });
    const hidden = await run(inputIds, mask, batch, seq);
    if (hidden.length !== batch * seq * channels) {
      throw new BadRequestError(`The encoder returned ${hidden.length} values; expected ${batch} x ${seq} x ${channels}.`);
    }
    rows.forEach((row, b) => {
      // the last keep = min(n, L) positions of the prompt at its rows 0..keep-1; the rest of its L
      // rows stay 0 (as the padded rows the trainer zeroes)
      const keep = Math.min(row.length, maxTokens);
      const from = b * seq + row.length - keep;
      out.set(hidden.subarray(from * channels, (from + keep) * channels), (members[b] as number) * maxTokens * channels);
    });
  }
  return out;
}

/** Prompts -> the generator's condition: select P, tokenize as the trainer, run the encoder. */
export async function encodePrompts(
  run: EncoderRun,
  encode: (text: string) => number[],
  emptyId: number,
  prompts: readonly string[],
  shape: ConditionShape,
): Promise<EncodedPrompts> {
  const t0 = performance.now();
  const used = selectPrompts(prompts, shape.promptCount);
  const window = idWindow(shape);
  const ids = conditionIds(encode, used, shape.maxTokens, emptyId, shape.template ?? 'plain', window);
  const condition = await encodeIds(run, ids, shape.maxTokens, shape.channels, window.length);
  return {
    condition, shape: [shape.promptCount, shape.maxTokens, shape.channels], prompts: used, ids, ms: performance.now() - t0,
  };
}
