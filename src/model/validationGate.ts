/**
 * Examples mode's validation gate (trainer/evaluate/examples_eval.py `validation_gate`): the person's
 * file has more answered rows than the condition uses, so the adapter's strength is measured rather
 * than predicted. For each scale s of the manifest's `examples.grid` the adapter with every B times s
 * scores the validation rows teacher-forced, as the trainer's evaluation scores a response
 * (scoring.py `response_rows`): the user turn rendered with the chat template and left-truncated to
 * `maxPromptTokens`, then the response's ids and `<|im_end|>`; the row's NLL is the sum over those
 * target tokens. A scale's value is the token-weighted mean (all rows' summed NLL over all their
 * tokens); the gate is the scale with the least value, ties (within TIE) going to the smaller scale,
 * so 0 (the base model) wins unless the adapter measurably helps.
 *
 * The trainer scores every token of a response; a row longer than the model's context (prompt and
 * response beyond `max_position_embeddings`) is cut at the context here.
 */
import { renderChatPrompt } from '../evaluate/scoring';
import type { AnsweredRow } from '../prompts/answered';
import type { CancelToken } from './generate';
import { forcedNll } from './logits';
import type { ModelSession, ort } from './session';

export type { AnsweredRow };

/** Costs this close are one tie (trainer: `x <= best + 1e-9`). */
export const VALIDATION_TIE = 1e-9;

export interface ValidationGateResult {
  /** The chosen scale: every B of the adapter is multiplied by it. */
  value: number;
  /** The scales tried (manifest `examples.grid`). */
  grid: number[];
  /** Mean response NLL (per token) at each scale of `grid`. */
  nll: number[];
  /** Rows scored and their target tokens. */
  rows: number;
  tokens: number;
  /**
   * 'held-out': answered rows that are not in the condition (what the trainer does); 'condition': the set had
   * no other answered rows, so the condition's own rows were scored, an optimistic choice.
   */
  source: 'held-out' | 'condition';
}

/** The grid scale with the least NLL, the smaller one on a tie. */
export function chooseScale(grid: readonly number[], nll: readonly number[]): number {
  const best = Math.min(...nll);
  const at = nll.findIndex((x) => x <= best + VALIDATION_TIE);
  return grid[at] as number;
}

export interface ScoringRow {
  promptIds: number[];
  targets: number[];
}

/** The ids a row is scored on: the rendered user turn (last `maxPromptTokens`), then response + `<|im_end|>`. */
export function scoringRow(encode: (text: string) => number[], imEnd: number, row: AnsweredRow, maxPromptTokens: number): ScoringRow {
  return { promptIds: encode(renderChatPrompt(row.prompt)).slice(-maxPromptTokens), targets: [...encode(row.response), imEnd] };
}

/**
 * The mean response NLL of `rows` at each scale of `grid`; `feedsAt(s, use)` lends the LoRA inputs of the
 * adapter at scale s for the duration of `use`.
 */
export async function validationNll(
  model: ModelSession,
  rows: readonly ScoringRow[],
  grid: readonly number[],
  feedsAt: <T>(scale: number, use: (feeds: Record<string, ort.Tensor>) => Promise<T>) => Promise<T>,
  cancel?: CancelToken,
): Promise<{ nll: number[]; tokens: number }> {
  const maxPositions = model.info.config.max_position_embeddings;
  let tokens = 0;
  const nll: number[] = [];
  for (const scale of grid) {
    let sum = 0;
    let count = 0;
    await feedsAt(scale, async (feeds) => {
      for (const row of rows) {
        // the last target is predicted at position prompt + targets - 1 (< max positions)
        const targets = row.targets.slice(0, Math.max(1, maxPositions - row.promptIds.length + 1));
        const got = await forcedNll(model, row.promptIds, targets, feeds, cancel);
        sum += got.sum;
        count += got.count;
      }
    });
    tokens = count;
    nll.push(sum / Math.max(count, 1));
  }
  return { nll, tokens };
}
