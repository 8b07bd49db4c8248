/**
 * Reading the model's next-token distributions along a sequence, through the same decode loop that
 * generates text (src/model/generate.ts: prefill, then one token per step with the KV cache, the
 * adapter's LoRA inputs on every step). The web graphs return the last position's logits only, so the
 * distribution that predicts token j of a continuation is the logits of step j:
 *
 * - `greedyLogits`: the model answers greedily for exactly `steps` tokens (no stop token) and every
 *   step's logits are kept (the answer gate's base model: trainer/generator/answer_features.py
 *   `base_answers`, whose positions it then reads again teacher-forced; with a causal model they are
 *   the same distributions);
 * - `forcedLogits`: a given continuation is fed token by token (teacher forcing) and the logits
 *   that predict each of its tokens are kept;
 * - `forcedNll`: the same, keeping only the summed negative log-probability of the given tokens
 *   (trainer/evaluate/scoring.py `sequence_logprobs`: a response's NLL).
 *
 * A cancel request is honoured before the next step (CancelledError).
 */
import { decode, type CancelToken } from './generate';
import { CancelledError } from './errors';
import { argmax } from './sampling';
import type { ModelSession, ort } from './session';

type Feeds = Record<string, ort.Tensor>;

/** log-softmax of one row of logits, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = (logits[i] as number) - lse;
  return out;
}

/** log p(token) under one row of logits (float64). */
export function logProbOf(logits: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  return (logits[token] as number) - max - Math.log(sum);
}

async function run(
  model: ModelSession, promptIds: readonly number[], steps: number, feeds: Feeds, choose: (logits: Float32Array, j: number) => number, cancel?: CancelToken,
): Promise<number[]> {
  const result = await decode(model, promptIds, { loraFeeds: feeds, maxTokens: steps, stopIds: new Set(), pick: choose, ...(cancel ? { cancel } : {}) });
  if (result.stopReason === 'cancelled') throw new CancelledError('Generating the adapter');
  return result.ids;
}

/** The model's `steps` greedy tokens after `promptIds` (no stop token) and the logits of every step (copies). */
export async function greedyLogits(
  model: ModelSession, promptIds: readonly number[], steps: number, feeds: Feeds, cancel?: CancelToken,
): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const logits: Float32Array[] = [];
  const ids = await run(model, promptIds, steps, feeds, (row) => {
    logits.push(row.slice());
    return argmax(row);
  }, cancel);
  return { ids, logits };
}

/** The logits that predict each token of `continuation` after `promptIds` (copies; fewer when the context fills). */
export async function forcedLogits(
  model: ModelSession, promptIds: readonly number[], continuation: readonly number[], feeds: Feeds, cancel?: CancelToken,
): Promise<Float32Array[]> {
  const logits: Float32Array[] = [];
  await run(model, promptIds, continuation.length, feeds, (row, j) => {
    logits.push(row.slice());
    return continuation[j] as number;
  }, cancel);
  return logits;
}

/** Summed -log p of each token of `targets` after `promptIds`, teacher-forced, and how many were scored. */
export async function forcedNll(
  model: ModelSession, promptIds: readonly number[], targets: readonly number[], feeds: Feeds, cancel?: CancelToken,
): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  await run(model, promptIds, targets.length, feeds, (row, j) => {
    const target = targets[j] as number;
    sum -= logProbOf(row, target);
    count++;
    return target;
  }, cancel);
  return { sum, count };
}
