/**
 * Examples mode's rows (issue 16): a prompt set whose records carry answers can condition the generator
 * on prompts *with* their answers, and the answers it does not use size the adapter (the validation
 * gate, src/model/validationGate.ts) and stay scorable on the Evaluate tab.
 *
 * - An answered row is a record with a non-blank response, as the user turn alone (a system prompt is
 *   dropped: the trainer's `user_turn`) with its response as written.
 * - The condition is P answered rows drawn with the set's sample seed (`samplePrompts`, without
 *   replacement); the mode needs at least P answered rows, never repeats.
 * - The validation rows are up to V of the *other* answered rows, drawn with a seed derived from the
 *   set's (so the same set and seed always give the same split); none when there are no others.
 *
 * A row is identified by its prompt and response (`rowKey`), so the rows in a condition can be found
 * again in the set after a reload, a re-read or a merge (Evaluate leaves them out).
 */
import { samplePrompts } from './summary';
import type { PromptRecord } from './types';

export interface AnsweredRow {
  prompt: string;
  response: string;
}

/**
 * An answered row in the "chat-answer" condition template (trainer/generator/conditions.py
 * `condition_text`): the user turn, then the assistant turn with the answer, each closed.
 */
export function chatAnswerText(row: AnsweredRow): string {
  return `<|im_start|>user\n${row.prompt}<|im_end|>\n<|im_start|>assistant\n${row.response}<|im_end|>\n`;
}

/** Records with a non-blank response, as answered rows (user turn and response), in file order. */
export function answeredRows(records: readonly PromptRecord[]): AnsweredRow[] {
  return records.filter((r) => typeof r.response === 'string' && r.response.trim() !== '').map((r) => ({ prompt: r.prompt, response: r.response! }));
}

/** The identity of a row: its prompt and response. */
export function rowKey(row: { prompt: string; response?: string }): string {
  return JSON.stringify([row.prompt, row.response ?? '']);
}

export interface ExamplesDraw {
  /** The P rows that condition the generator. */
  condition: AnsweredRow[];
  /** Up to V answered rows not in the condition, for the validation gate. */
  validation: AnsweredRow[];
  /** Answered rows in the set. */
  answered: number;
}

/** Why examples mode is not offered for a set, or null when it is. */
export function examplesUnavailable(answered: number, promptCount: number): string | null {
  if (answered >= promptCount) return null;
  if (answered === 0) return 'this set has no answers (no record has a response)';
  return `the generator needs ${promptCount} answered rows and this set has ${answered}`;
}

const VALIDATION_SEED_SALT = 0x2c1b3c6d;

/** The condition and validation rows of a set for P and V, reproducible for a seed; null with fewer than P answered rows. */
export function drawExamples(records: readonly PromptRecord[], promptCount: number, validationRows: number, seed: number): ExamplesDraw | null {
  const answered = answeredRows(records);
  if (answered.length < promptCount) return null;
  const asRecords: PromptRecord[] = answered.map((r, i) => ({ prompt: r.prompt, response: r.response, source: { file: '', item: i + 1 } }));
  const picked = samplePrompts(asRecords, promptCount, seed).indices;
  const inCondition = new Set(picked);
  const rest = asRecords.filter((_, i) => !inCondition.has(i));
  const validation = samplePrompts(rest, Math.min(validationRows, rest.length), (seed ^ VALIDATION_SEED_SALT) >>> 0).records;
  return {
    condition: picked.map((i) => answered[i]!),
    validation: validation.map((r) => ({ prompt: r.prompt, response: r.response! })),
    answered: answered.length,
  };
}

/** The records that are not one of `rows` (by prompt and response), and how many were left out. */
export function withoutRows<T extends { prompt: string; response?: string }>(records: readonly T[], rows: readonly AnsweredRow[]): { kept: T[]; excluded: T[] } {
  const keys = new Set(rows.map(rowKey));
  const kept: T[] = [];
  const excluded: T[] = [];
  for (const r of records) (keys.has(rowKey(r)) ? excluded : kept).push(r);
  return { kept, excluded };
}
