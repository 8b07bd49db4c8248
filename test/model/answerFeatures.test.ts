/**
 * The pieces of the answer gate and the validation gate that need no model (src/model/answerFeatures.ts,
 * src/model/validationGate.ts, the "chat-answer" text): the five per-position values against their
 * definitions (trainer/generator/answer_features.py `features_from_logprobs`), the zero adapter's
 * identities, the grid choice with ties, and the texts the model reads.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER_FEATURE_NAMES, answerPromptIds, meanRows, positionFeatures } from '../../src/model/answerFeatures';
import { logProbOf, logSoftmax } from '../../src/model/logits';
import { chooseScale, scoringRow } from '../../src/model/validationGate';
import { chatAnswerText } from '../../src/prompts/answered';

const base = Float32Array.of(2, 1, 0.5, -1);
const adapted = Float32Array.of(0.5, 3, 0, -2);

describe('answer features', () => {
  it('are named in the trainer\'s order', () => {
    expect(ANSWER_FEATURE_NAMES).toEqual(['base_entropy', 'adapter_entropy', 'kl', 'adapter_nll_of_base', 'agreement']);
  });

  it('one position: base and adapter entropies, KL(adapted || base), the adapter\'s NLL of the base token, agreement', () => {
    const pb = Array.from(logSoftmax(base), Math.exp);
    const pa = Array.from(logSoftmax(adapted), Math.exp);
    const h = (p: number[]) => -p.reduce((s, x) => s + x * Math.log(x), 0);
    const kl = pa.reduce((s, x, i) => s + x * Math.log(x / pb[i]!), 0);
    const got = positionFeatures(base, adapted, 0);
    expect(got[0]).toBeCloseTo(h(pb), 12);
    expect(got[1]).toBeCloseTo(h(pa), 12);
    expect(got[2]).toBeCloseTo(kl, 12);
    expect(got[3]).toBeCloseTo(-Math.log(pa[0]!), 12);
    expect(got[4]).toBe(0); // the adapter's argmax is token 1, the base token 0
    expect(positionFeatures(base, adapted, 1)[4]).toBe(1);
  });

  it('the zero adapter (adapted = base): equal entropies, KL 0, agreement 1 on a greedy token', () => {
    const got = positionFeatures(base, base, 0);
    expect(got[1]).toBe(got[0]);
    expect(got[2]).toBe(0);
    expect(got[3]).toBeCloseTo(-logProbOf(base, 0), 12);
    expect(got[4]).toBe(1);
  });

  it('log-softmax is stable for large logits and sums to 1', () => {
    const lp = logSoftmax(Float32Array.of(1000, 999, -1000));
    expect(Array.from(lp, Math.exp).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(logProbOf(Float32Array.of(1000, 999, -1000), 1)).toBeCloseTo(lp[1]!, 12);
  });

  it('the mean over every position of every prompt', () => {
    expect(meanRows([[1, 2], [3, 6], [2, 1]])).toEqual([2, 3]);
  });

  it('a prompt is read as the user turn with the assistant turn opened, its last ids kept', () => {
    const seen: string[] = [];
    const ids = answerPromptIds((t) => {
      seen.push(t);
      return [1, 2, 3, 4, 5];
    }, 'is the sun a star?', 3);
    expect(seen).toEqual(['<|im_start|>user\nis the sun a star?<|im_end|>\n<|im_start|>assistant\n']);
    expect(ids).toEqual([3, 4, 5]);
  });
});

describe('validation gate', () => {
  it('the least NLL wins; a tie (within 1e-9) goes to the smaller scale, so 0 wins unless the adapter helps', () => {
    const grid = [0, 0.25, 0.5, 0.75, 1];
    expect(chooseScale(grid, [2, 1.9, 1.5, 1.7, 2.4])).toBe(0.5);
    expect(chooseScale(grid, [1.5, 1.5 + 5e-10, 1.6, 1.7, 1.8])).toBe(0);
    expect(chooseScale(grid, [1.5, 1.6, 1.7, 1.8, 1.9])).toBe(0);
    expect(chooseScale(grid, [2, 1.9, 1.8, 1.7, 1.6])).toBe(1);
  });

  it('a row is scored as the trainer scores a response: rendered user turn (last ids), then response ids and <|im_end|>', () => {
    const enc = (t: string) => Array.from(t, (ch) => ch.charCodeAt(0));
    const row = scoringRow(enc, 2, { prompt: 'hi', response: '[A]' }, 5);
    expect(row.promptIds).toEqual(enc('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n').slice(-5));
    expect(row.targets).toEqual([...enc('[A]'), 2]);
  });

  it('examples mode renders an answered row as trainer/generator/conditions.py "chat-answer" does', () => {
    expect(chatAnswerText({ prompt: 'Q?', response: '[B]' })).toBe('<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n[B]<|im_end|>\n');
  });
});
