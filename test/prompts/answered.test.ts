/**
 * Examples mode's rows (src/prompts/answered.ts): which records count as answered, the condition and
 * validation split (P rows with the set's seed, up to V others, never overlapping, the same for the same
 * seed), why the mode is not offered, and leaving the condition's rows out (Evaluate).
 */
import { describe, expect, it } from 'vitest';
import { answeredRows, drawExamples, examplesUnavailable, rowKey, withoutRows } from '../../src/prompts/answered';
import type { PromptRecord } from '../../src/prompts/types';

const rec = (prompt: string, response?: string, system?: string): PromptRecord => ({
  prompt, source: { file: 'f.jsonl', line: 1 }, ...(response === undefined ? {} : { response }), ...(system ? { system } : {}),
});
const set = (n: number, answered: number): PromptRecord[] =>
  Array.from({ length: n }, (_, i) => rec(`headline ${i}`, i < answered ? `[${['World', 'Sports', 'Business'][i % 3]}]` : undefined));

describe('answered rows', () => {
  it('keep records with a non-blank response, as the user turn (the system prompt dropped) and the response as written', () => {
    const rows = answeredRows([rec('a', ' [x] '), rec('b', '   '), rec('c'), rec('d', '[y]', 'Reply in brackets.')]);
    expect(rows).toEqual([{ prompt: 'a', response: ' [x] ' }, { prompt: 'd', response: '[y]' }]);
  });

  it('the mode needs P answered rows, and says why not', () => {
    expect(examplesUnavailable(0, 8)).toMatch(/no answers/);
    expect(examplesUnavailable(5, 8)).toBe('the generator needs 8 answered rows and this set has 5');
    expect(examplesUnavailable(8, 8)).toBeNull();
    expect(drawExamples(set(20, 7), 8, 16, 1)).toBeNull();
  });
});

describe('drawExamples', () => {
  it('P condition rows and up to V others, disjoint, all answered; reproducible for a seed, another seed another draw', () => {
    const records = set(40, 30);
    const d = drawExamples(records, 8, 16, 12345)!;
    expect(d.answered).toBe(30);
    expect(d.condition).toHaveLength(8);
    expect(d.validation).toHaveLength(16);
    const keys = new Set(d.condition.map(rowKey));
    expect(keys.size).toBe(8);
    expect(d.validation.some((r) => keys.has(rowKey(r)))).toBe(false);
    expect(new Set(d.validation.map(rowKey)).size).toBe(16);
    expect([...d.condition, ...d.validation].every((r) => r.response.startsWith('['))).toBe(true);
    expect(drawExamples(records, 8, 16, 12345)).toEqual(d);
    expect(drawExamples(records, 8, 16, 999)!.condition).not.toEqual(d.condition);
  });

  it('with fewer other rows than V, all of them; with none, no validation rows (the engine then validates on the condition)', () => {
    expect(drawExamples(set(12, 12), 8, 16, 3)!.validation).toHaveLength(4);
    expect(drawExamples(set(12, 8), 8, 16, 3)!.validation).toEqual([]);
    expect(drawExamples(set(30, 30), 8, 0, 3)!.validation).toEqual([]);
  });
});

describe('withoutRows', () => {
  it('leaves out records whose prompt and response are a condition row, however the set was read', () => {
    const records = [rec('a', '[x]'), rec('b', '[y]'), rec('c', '[z]'), rec('a2', '[x]')];
    const { kept, excluded } = withoutRows(records, [{ prompt: 'b', response: '[y]' }, { prompt: 'a', response: '[other]' }]);
    expect(kept.map((r) => r.prompt)).toEqual(['a', 'c', 'a2']);
    expect(excluded.map((r) => r.prompt)).toEqual(['b']);
  });
});
