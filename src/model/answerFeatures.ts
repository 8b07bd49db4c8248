/**
 * The "answer" gate feature (trainer/generator/answer_features.py): how the base model starts to answer
 * a person's prompts and what a generated adapter does to that start. For each prompt, rendered as the
 * app shows it to the model (the user turn alone, chat template, the assistant turn opened: trainer
 * scoring.py `prompt_ids`, left-truncated to `maxPromptTokens`):
 *
 * 1. the base model answers greedily for exactly `tokens` = M tokens (no stop token), y_1..y_M;
 * 2. the adapted model (the adapter at scale 1) reads the prompt and y teacher-forced;
 * 3. at the M positions that predict y_j, with base and adapted distributions p_b and p_a: the base
 *    entropy H(p_b), the adapter's entropy H(p_a), KL(p_a || p_b), the adapter's NLL of the base token
 *    -log p_a(y_j), and agreement (1 when argmax p_a = y_j).
 *
 * The feature is their mean over the M positions and the P prompts (a prompt that appears twice counts
 * twice, as in the trainer; it is decoded once). Computed in float64 from the graph's float32 logits.
 */
import { renderChatPrompt } from '../evaluate/scoring';
import type { CancelToken } from './generate';
import { forcedLogits, greedyLogits, logSoftmax } from './logits';
import type { ModelSession, ort } from './session';

/** The five values, in the trainer's order (`FEATURES`). */
export const ANSWER_FEATURE_NAMES = ['base_entropy', 'adapter_entropy', 'kl', 'adapter_nll_of_base', 'agreement'] as const;

export interface AnswerSettings {
  /** M: greedy base-model tokens per prompt (manifest `gate.answer.tokens`). */
  tokens: number;
  /** Ids of the rendered prompt kept, from the end (manifest `gate.answer.max_prompt_tokens`). */
  maxPromptTokens: number;
}

export interface AnswerFeatureResult {
  /** The five features (ANSWER_FEATURE_NAMES order), averaged over positions and prompts. */
  values: number[];
  /** Per prompt: the ids the model read (rendered, left-truncated). */
  promptIds: number[][];
  /** Per prompt: the base model's M greedy tokens. */
  baseTokens: number[][];
}

/** The five values at one position, from the base and adapted logits that predict the base token `y`. */
export function positionFeatures(baseLogits: ArrayLike<number>, adaptedLogits: ArrayLike<number>, y: number): number[] {
  const lpb = logSoftmax(baseLogits);
  const lpa = logSoftmax(adaptedLogits);
  let hb = 0;
  let ha = 0;
  let kl = 0;
  for (let i = 0; i < lpb.length; i++) {
    const b = lpb[i] as number;
    const a = lpa[i] as number;
    const pb = Math.exp(b);
    const pa = Math.exp(a);
    hb -= pb * b;
    ha -= pa * a;
    kl += pa * (a - b);
  }
  return [hb, ha, kl, -(lpa[y] as number), firstMax(lpa) === y ? 1 : 0];
}

/** The index of the largest value (the first of equal ones, as torch's argmax). */
function firstMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** The mean of equally long rows. */
export function meanRows(rows: readonly (readonly number[])[]): number[] {
  const width = rows[0]?.length ?? 0;
  const out = new Array<number>(width).fill(0);
  for (const r of rows) for (let i = 0; i < width; i++) out[i] = (out[i] as number) + (r[i] as number) / rows.length;
  return out;
}

/** The ids the model reads for one prompt: the user turn rendered with the chat template, the last `max` kept. */
export function answerPromptIds(encode: (text: string) => number[], prompt: string, max: number): number[] {
  return encode(renderChatPrompt(prompt)).slice(-max);
}

/**
 * The answer feature of an adapter (its LoRA inputs `adapted`) on `prompts`, against the base model
 * (`base`: the zero LoRA inputs).
 */
export async function measureAnswerFeatures(
  model: ModelSession,
  encode: (text: string) => number[],
  prompts: readonly string[],
  feeds: { base: Record<string, ort.Tensor>; adapted: Record<string, ort.Tensor> },
  settings: AnswerSettings,
  cancel?: CancelToken,
): Promise<AnswerFeatureResult> {
  if (prompts.length === 0) throw new Error('the answer feature needs at least one prompt');
  const perPrompt = new Map<string, { ids: number[]; ys: number[]; rows: number[][] }>();
  for (const prompt of prompts) {
    if (perPrompt.has(prompt)) continue;
    const ids = answerPromptIds(encode, prompt, settings.maxPromptTokens);
    const base = await greedyLogits(model, ids, settings.tokens, feeds.base, cancel);
    const adapted = await forcedLogits(model, ids, base.ids, feeds.adapted, cancel);
    const rows = base.ids.map((y, j) => positionFeatures(base.logits[j] as Float32Array, adapted[j] as Float32Array, y));
    perPrompt.set(prompt, { ids, ys: base.ids, rows });
  }
  const each = prompts.map((p) => perPrompt.get(p)!);
  return { values: meanRows(each.flatMap((e) => e.rows)), promptIds: each.map((e) => e.ids), baseTokens: each.map((e) => e.ys) };
}
