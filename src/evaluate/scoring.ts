/**
 * Generate-then-parse scoring of one model answer against a reference response, mirroring the
 * trainer's evaluation (trainer/tasks/staged.py `infer_kind`, `Task.parse`, `parse_number`,
 * `answers_equal`) so a score here means what a score in reports/ means. Plain TypeScript: no DOM.
 *
 * One addition the trainer does not need: sets whose responses fit none of its accuracy kinds
 * ("generation" there, no accuracy) are scored by a normalised exact match.
 */

export type ScoringKind = 'mcq' | 'yesno' | 'classification' | 'math' | 'exact';

/** Which rule produced an item's answer, so the UI can say why it was counted right or wrong. */
export type ScoringRule = 'bracket' | 'first-word' | 'answer-is' | 'hash' | 'last-number' | 'exact' | 'none';

export interface ScoringPlan {
  kind: ScoringKind;
  /**
   * Choice kinds: the bracketed labels seen in the set's responses ("[A]", "[True]", "[positive]").
   * They are the candidates of classification items and the fallback of multiple-choice items whose
   * prompt lists no "A: ..." options.
   */
  labels: string[];
  /** One sentence on why this kind was chosen, for the screen. */
  reason: string;
}

export interface ItemScore {
  ok: boolean;
  /** The answer read from the model's text in the reference's form ("[A]", "42"), or null. */
  predicted: string | null;
  /** The reference in the same form, or null when it holds no answer of the set's kind. */
  expected: string | null;
  rule: ScoringRule;
}

export const KIND_LABELS: Readonly<Record<ScoringKind, string>> = {
  mcq: 'Multiple choice',
  yesno: 'Yes / no',
  classification: 'Classification',
  math: 'Math (numeric answer)',
  exact: 'Exact match',
};

export const RULE_LABELS: Readonly<Record<ScoringRule, string>> = {
  bracket: 'first bracketed candidate',
  'first-word': 'bare first word',
  'answer-is': 'number after "The answer is"',
  hash: 'number after "####"',
  'last-number': 'last number',
  exact: 'normalised exact match',
  none: 'no answer found',
};

export const CHOICE_KINDS: readonly ScoringKind[] = ['mcq', 'yesno', 'classification'];

export function isChoiceKind(kind: ScoringKind): boolean {
  return CHOICE_KINDS.includes(kind);
}

// The trainer's regular expressions (trainer/tasks/staged.py), in JavaScript syntax.
const OPTION_RE = /(?<![A-Za-z0-9])([A-J]):\s/g;
const BRACKET_RE = /\[([^[\]\n]{1,40})\]/g;
const FULL_BRACKET_RE = /^\[[^[\]\n]{1,40}\]$/;
const NUM_RE = /-?\d[\d,]*(?:\.\d+)?/g;
const ANSWER_IS_RE = /[Tt]he answer is\s*:?\s*\$?\s*(-?[\d,]*\.?\d+)/g;
const HASH_RE = /####\s*\$?\s*(-?[\d,]*\.?\d+)/g;
const WORD_SPLIT_RE = /[\s\][.,:;!?]+/;
/** The trainer looks at the first 200 train responses; so do we. */
const DETECT_LIMIT = 200;
const MAX_CLASS_LABELS = 20;

/** The scoring kind of a set from its reference responses (trainer/tasks/staged.py `infer_kind`). */
export function detectScoringKind(responses: readonly string[]): ScoringPlan {
  const resp = responses.slice(0, DETECT_LIMIT).map((r) => r.trim());
  const labels = [...new Set(resp.filter((r) => FULL_BRACKET_RE.test(r)))].sort();
  if (resp.length === 0) return { kind: 'exact', labels: [], reason: 'There are no responses to look at.' };
  if (resp.every((r) => r === '[True]' || r === '[False]')) {
    return { kind: 'yesno', labels, reason: 'Every response is [True] or [False].' };
  }
  if (resp.every((r) => /^\[[A-J]\]$/.test(r))) {
    return { kind: 'mcq', labels, reason: 'Every response is an option letter in brackets, like [A].' };
  }
  if (resp.every((r) => FULL_BRACKET_RE.test(r)) && labels.length <= MAX_CLASS_LABELS) {
    return { kind: 'classification', labels, reason: `Every response is one of ${labels.length} bracketed labels.` };
  }
  const marked = resp.filter((r) => /answer is|####/.test(r)).length;
  if (resp.every((r) => parseNumber(r).value !== null) && marked > Math.floor(resp.length / 2)) {
    return { kind: 'math', labels: [], reason: 'Every response holds a number, most after "The answer is" or "####".' };
  }
  return {
    kind: 'exact',
    labels: [],
    reason: 'The responses are free text (not bracketed labels or marked numbers), so answers must match them exactly after normalising.',
  };
}

/** The answer strings a choice item's model text is read against (trainer `Task.candidates`). */
export function candidatesFor(plan: ScoringPlan, prompt: string): string[] {
  if (plan.kind === 'yesno') return ['[True]', '[False]'];
  if (plan.kind === 'classification') return [...plan.labels];
  if (plan.kind === 'mcq') {
    const letters = [...new Set([...prompt.matchAll(OPTION_RE)].map((m) => m[1]!))].sort();
    // The trainer's data always lists "A: ..." options; a prompt that does not falls back to the
    // letters the set's responses use, rather than scoring every answer wrong.
    return letters.length > 0 ? letters.map((x) => `[${x}]`) : [...plan.labels];
  }
  return [];
}

/** The first bracketed candidate in the text, else a bare first word that is a candidate. */
export function parseChoice(text: string, candidates: readonly string[]): { answer: string | null; rule: ScoringRule } {
  const byLower = new Map(candidates.map((c) => [c.toLowerCase(), c]));
  for (const m of text.matchAll(BRACKET_RE)) {
    const hit = byLower.get(`[${m[1]!.trim()}]`.toLowerCase());
    if (hit !== undefined) return { answer: hit, rule: 'bracket' };
  }
  const first = text.trim().split(WORD_SPLIT_RE).find((w) => w !== '') ?? '';
  const hit = first ? byLower.get(`[${first}]`.toLowerCase()) : undefined;
  return hit !== undefined ? { answer: hit, rule: 'first-word' } : { answer: null, rule: 'none' };
}

/** The final numeric answer: after "The answer is" / "####" (the last such), else the last number. */
export function parseNumber(text: string): { value: number | null; rule: ScoringRule } {
  for (const [re, rule] of [[ANSWER_IS_RE, 'answer-is'], [HASH_RE, 'hash']] as const) {
    const found = [...text.matchAll(re)];
    if (found.length > 0) return { value: toNumber(found[found.length - 1]![1]!), rule };
  }
  const numbers = text.match(NUM_RE);
  return numbers ? { value: toNumber(numbers[numbers.length - 1]!), rule: 'last-number' } : { value: null, rule: 'none' };
}

/** Thousands separators dropped, a trailing full stop ignored (trainer `_to_float`). */
function toNumber(raw: string): number | null {
  const cleaned = raw.replace(/,/g, '').replace(/\.+$/, '');
  if (!/\d/.test(cleaned)) return null;
  const value = Number(cleaned);
  return Number.isFinite(value) ? value : null;
}

/** Case folded, punctuation removed, whitespace runs collapsed: what "the same answer" means for free text. */
export function normaliseAnswer(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\p{P}\p{S}]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

/** Relative tolerance of the trainer's `answers_equal` for numbers. */
export function numbersEqual(predicted: number, expected: number): boolean {
  return Math.abs(predicted - expected) < 1e-4 * Math.max(1, Math.abs(expected));
}

/** Scores one model answer against one reference response under the set's plan. */
export function scoreAnswer(plan: ScoringPlan, item: { prompt: string; response: string }, answer: string): ItemScore {
  if (plan.kind === 'math') {
    const expected = parseNumber(item.response).value;
    const { value, rule } = parseNumber(answer);
    return {
      ok: value !== null && expected !== null && numbersEqual(value, expected),
      predicted: value === null ? null : String(value),
      expected: expected === null ? null : String(expected),
      rule,
    };
  }
  if (isChoiceKind(plan.kind)) {
    const expected = item.response.trim();
    const { answer: predicted, rule } = parseChoice(answer, candidatesFor(plan, item.prompt));
    return { ok: predicted !== null && predicted.toLowerCase() === expected.toLowerCase(), predicted, expected, rule };
  }
  const predicted = normaliseAnswer(answer);
  const expected = normaliseAnswer(item.response);
  return { ok: expected !== '' && predicted === expected, predicted, expected, rule: 'exact' };
}

export interface Accuracy {
  correct: number;
  n: number;
  /** correct / n (0 when n = 0). */
  accuracy: number;
  /** Binomial standard error sqrt(p (1 - p) / n) of the accuracy (0 when n = 0). */
  standardError: number;
}

export function accuracyOf(oks: readonly boolean[]): Accuracy {
  const n = oks.length;
  const correct = oks.filter(Boolean).length;
  const accuracy = n === 0 ? 0 : correct / n;
  return { correct, n, accuracy, standardError: n === 0 ? 0 : Math.sqrt((accuracy * (1 - accuracy)) / n) };
}

/** Max new tokens by kind, as the trainer's evaluation (trainer/configs/zoo.json: 8, and 64 for math). */
export function defaultMaxTokens(kind: ScoringKind): number {
  return kind === 'math' ? 64 : kind === 'exact' ? 48 : 8;
}

/** The trainer keeps the last 320 prompt tokens (trainer/configs/zoo.json `max_prompt_tokens`). */
export const MAX_PROMPT_TOKENS = 320;

/**
 * The ChatML prompt the trainer scores (trainer/text/chat.py `render_prompt`): the system turn only when
 * non-empty, then the user turn and the open assistant turn. Equal to the tokenizer's chat template
 * (test/evaluate/chatPrompt.test.ts).
 */
export function renderChatPrompt(prompt: string, system?: string): string {
  const turns = system ? [['system', system], ['user', prompt]] : [['user', prompt]];
  return turns.map(([role, content]) => `<|im_start|>${role}\n${content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
}
