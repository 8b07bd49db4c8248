// Scoring rules of the Evaluate screen, on items shaped like the trainer's task files
// (trainer/tasks/staged.py: {prompt, response, system}; kinds mcq / yesno / classification / math).
import { describe, expect, it } from 'vitest';
import {
  accuracyOf, candidatesFor, defaultMaxTokens, detectScoringKind, normaliseAnswer, parseChoice, parseNumber, scoreAnswer,
  type ScoringPlan,
} from '../../src/evaluate/scoring';

const MCQ_PROMPT = 'Which planet is known as the red planet?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn\nAnswer with the letter in brackets.';
const mcq: ScoringPlan = detectScoringKind(['[B]', '[A]', '[D]']);
const yesno: ScoringPlan = detectScoringKind(['[True]', '[False]', '[True]']);
const sentiment: ScoringPlan = detectScoringKind(['[positive]', '[negative]', '[neutral]', '[positive]']);
const math: ScoringPlan = detectScoringKind([
  'Tom has 3 apples and buys 4 more, so 3 + 4 = 7. The answer is 7.',
  'Half of 1,250 is 625.\n#### 625',
  'The temperature drops from 2 to -3.5 degrees. The answer is -3.5',
]);

describe('detectScoringKind', () => {
  it('reads the kind from the responses like trainer infer_kind', () => {
    expect(mcq.kind).toBe('mcq');
    expect(yesno.kind).toBe('yesno');
    expect(sentiment.kind).toBe('classification');
    expect(sentiment.labels).toEqual(['[negative]', '[neutral]', '[positive]']);
    expect(math.kind).toBe('math');
    expect(detectScoringKind(['Paris', 'The capital is Rome.']).kind).toBe('exact');
    expect(detectScoringKind([]).kind).toBe('exact');
  });

  it('needs every response to fit, and a marker on most math answers', () => {
    // One free-text answer among the labels: not a choice set.
    expect(detectScoringKind(['[A]', '[B]', 'I think A']).kind).toBe('exact');
    // Numbers without "The answer is"/"####" on most of them: not math (the trainer's rule).
    expect(detectScoringKind(['It costs 5 dollars.', 'About 12.', 'The answer is 3']).kind).toBe('exact');
    // Surrounding whitespace does not matter.
    expect(detectScoringKind([' [True]\n', '[False]']).kind).toBe('yesno');
    // More than 20 distinct labels is not a classification.
    expect(detectScoringKind(Array.from({ length: 21 }, (_, i) => `[label${i}]`)).kind).toBe('exact');
    expect(detectScoringKind(['[A]', '[B]']).reason).toMatch(/letter/);
  });
});

describe('choice answers', () => {
  it('takes the option letters of an mcq prompt as candidates', () => {
    expect(candidatesFor(mcq, MCQ_PROMPT)).toEqual(['[A]', '[B]', '[C]', '[D]']);
    expect(candidatesFor(mcq, 'Pick one. choices: A: red, B: blue, C: green')).toEqual(['[A]', '[B]', '[C]']);
    // No "X: " option lines: the letters of the set's responses.
    expect(candidatesFor(mcq, 'Which is larger, (A) 3 or (B) 5?')).toEqual(['[A]', '[B]', '[D]']);
    expect(candidatesFor(yesno, 'Is water wet?')).toEqual(['[True]', '[False]']);
  });

  it('scores the first bracketed candidate, case-insensitively', () => {
    const item = { prompt: MCQ_PROMPT, response: '[B]' };
    expect(scoreAnswer(mcq, item, '[B]')).toEqual({ ok: true, predicted: '[B]', expected: '[B]', rule: 'bracket' });
    expect(scoreAnswer(mcq, item, 'The answer is [b] Mars.')).toMatchObject({ ok: true, predicted: '[B]', rule: 'bracket' });
    expect(scoreAnswer(mcq, item, '[C]')).toMatchObject({ ok: false, predicted: '[C]', rule: 'bracket' });
  });

  it('with several brackets takes the first that is a candidate', () => {
    const item = { prompt: MCQ_PROMPT, response: '[B]' };
    // "[E]" and "[maybe]" are not options of this prompt; "[B]" is the first that is.
    expect(scoreAnswer(mcq, item, '[E] no, [maybe] [B] or [A]')).toMatchObject({ ok: true, predicted: '[B]', rule: 'bracket' });
    expect(scoreAnswer(mcq, item, '[A] or [B]')).toMatchObject({ ok: false, predicted: '[A]' });
  });

  it('falls back to a bare first word', () => {
    const item = { prompt: MCQ_PROMPT, response: '[B]' };
    expect(scoreAnswer(mcq, item, 'B. Mars is red.')).toMatchObject({ ok: true, predicted: '[B]', rule: 'first-word' });
    expect(scoreAnswer(yesno, { prompt: 'Is the sky blue?', response: '[True]' }, '  true, because of scattering')).toMatchObject({ ok: true, predicted: '[True]', rule: 'first-word' });
    expect(scoreAnswer(sentiment, { prompt: 'Review: loved it', response: '[positive]' }, 'Positive!')).toMatchObject({ ok: true, rule: 'first-word' });
    // Only the first word counts: "Mars" is not a candidate, the later "B" is not looked at.
    expect(scoreAnswer(mcq, item, 'Mars, so B')).toEqual({ ok: false, predicted: null, expected: '[B]', rule: 'none' });
  });

  it('finds no answer in empty or unrelated text', () => {
    expect(parseChoice('', ['[A]', '[B]'])).toEqual({ answer: null, rule: 'none' });
    expect(parseChoice('I am not sure [unsure]', ['[True]', '[False]'])).toEqual({ answer: null, rule: 'none' });
    expect(scoreAnswer(yesno, { prompt: 'Is 7 prime?', response: '[True]' }, 'Prime numbers are')).toMatchObject({ ok: false, rule: 'none' });
  });

  it('reads a label with spaces inside the brackets', () => {
    expect(parseChoice('[ positive ]', ['[negative]', '[positive]'])).toEqual({ answer: '[positive]', rule: 'bracket' });
  });
});

describe('math answers', () => {
  it('prefers the number after "The answer is", then "####", else the last number', () => {
    expect(parseNumber('3 + 4 = 7. The answer is 7.')).toEqual({ value: 7, rule: 'answer-is' });
    expect(parseNumber('the answer is: $12')).toEqual({ value: 12, rule: 'answer-is' });
    expect(parseNumber('Work: 10 - 4 = 6\n#### 6')).toEqual({ value: 6, rule: 'hash' });
    expect(parseNumber('He had 5, then 8, finally 11 apples')).toEqual({ value: 11, rule: 'last-number' });
    // The last "The answer is" wins over an earlier one and over later bare numbers.
    expect(parseNumber('The answer is 3. No wait, the answer is 4. Check: 2 + 2 = 4, 9')).toEqual({ value: 4, rule: 'answer-is' });
  });

  it('handles negative and decimal numbers and thousands separators', () => {
    expect(parseNumber('The answer is -3.5')).toEqual({ value: -3.5, rule: 'answer-is' });
    expect(parseNumber('#### -12')).toEqual({ value: -12, rule: 'hash' });
    expect(parseNumber('The answer is 1,234,567.')).toEqual({ value: 1234567, rule: 'answer-is' });
    expect(parseNumber('It went from 0.25 to -0.75')).toEqual({ value: -0.75, rule: 'last-number' });
    expect(parseNumber('a total of 12,500 people')).toEqual({ value: 12500, rule: 'last-number' });
    expect(parseNumber('The answer is .5')).toEqual({ value: 0.5, rule: 'answer-is' });
  });

  it('finds no number in text without digits', () => {
    expect(parseNumber('I do not know.')).toEqual({ value: null, rule: 'none' });
    expect(parseNumber('')).toEqual({ value: null, rule: 'none' });
  });

  it('compares numerically with the trainer tolerance', () => {
    const item = { prompt: 'What is half of 1,250?', response: 'Half of 1,250 is 625.\n#### 625' };
    expect(scoreAnswer(math, item, 'The answer is 625.0')).toEqual({ ok: true, predicted: '625', expected: '625', rule: 'answer-is' });
    expect(scoreAnswer(math, item, '625.00001')).toMatchObject({ ok: true, rule: 'last-number' });
    expect(scoreAnswer(math, item, 'The answer is 626')).toMatchObject({ ok: false, predicted: '626' });
    expect(scoreAnswer(math, item, 'about six hundred')).toEqual({ ok: false, predicted: null, expected: '625', rule: 'none' });
    const negative = { prompt: 'From 2 down by 5.5?', response: 'The answer is -3.5' };
    expect(scoreAnswer(math, negative, '#### -3.5')).toMatchObject({ ok: true, rule: 'hash' });
    expect(scoreAnswer(math, negative, 'The answer is 3.5')).toMatchObject({ ok: false });
    const big = { prompt: 'Population?', response: 'The answer is 1,000,000' };
    expect(scoreAnswer(math, big, 'It is 1000000')).toMatchObject({ ok: true, rule: 'last-number' });
  });
});

describe('exact match', () => {
  const plan = detectScoringKind(['Paris', 'Blue whale']);
  it('ignores case, punctuation and whitespace', () => {
    expect(normaliseAnswer('  The  Blue-Whale!\n')).toBe('the blue whale');
    expect(scoreAnswer(plan, { prompt: 'Capital of France?', response: 'Paris' }, 'paris.')).toEqual({ ok: true, predicted: 'paris', expected: 'paris', rule: 'exact' });
    expect(scoreAnswer(plan, { prompt: 'Largest animal?', response: 'Blue whale' }, 'blue   WHALE')).toMatchObject({ ok: true });
  });
  it('needs the whole answer, not a part of it', () => {
    expect(scoreAnswer(plan, { prompt: 'Capital of France?', response: 'Paris' }, 'The capital is Paris.')).toMatchObject({ ok: false, rule: 'exact' });
    // An empty reference never matches (nothing to compare with).
    expect(scoreAnswer(plan, { prompt: 'x', response: '...' }, '')).toMatchObject({ ok: false });
  });
});

describe('accuracyOf', () => {
  it('gives the count, the accuracy and the binomial standard error', () => {
    expect(accuracyOf([true, false, true, true])).toEqual({ correct: 3, n: 4, accuracy: 0.75, standardError: Math.sqrt((0.75 * 0.25) / 4) });
    expect(accuracyOf([])).toEqual({ correct: 0, n: 0, accuracy: 0, standardError: 0 });
    expect(accuracyOf([true, true]).standardError).toBe(0);
  });
  it('keeps the trainer token budgets', () => {
    expect(defaultMaxTokens('mcq')).toBe(8);
    expect(defaultMaxTokens('math')).toBe(64);
  });
});
