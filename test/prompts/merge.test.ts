import { describe, expect, it } from 'vitest';
import { mergeResults, sameRecords } from '../../src/prompts/merge';
import { readPromptFile } from '../../src/prompts/readPromptFile';
import { fileOf, jsonl } from './helpers';

describe('mergeResults', () => {
  const a = readPromptFile(fileOf('a.txt', 'one\ntwo\nthree\n'));
  const b = readPromptFile(fileOf('b.jsonl', jsonl([{ prompt: 'three' }, { prompt: 'four' }]) + '{bad\n'));

  it('keeps every part in order, drops duplicates across parts, and sums the counts', () => {
    const merged = mergeResults('a + b', [a, b]);
    expect(merged.fileName).toBe('a + b');
    expect(merged.records.map((r) => r.prompt)).toEqual(['one', 'two', 'three', 'four']);
    // each record still says where it came from
    expect(merged.records.map((r) => `${r.source.file}:${r.source.line}`)).toEqual(['a.txt:1', 'a.txt:2', 'a.txt:3', 'b.jsonl:2']);
    expect(merged.recordsRead).toBe(5);
    expect(merged.duplicatesDropped).toBe(1);
    expect(merged.warningCount).toBe(1);
    expect(merged.warnings[0]!.message).toMatch(/^b\.jsonl: Line 3 is not valid JSON/);
    expect(merged.csv).toBeUndefined();
  });

  it('recognises the same prompts read twice', () => {
    const again = readPromptFile(fileOf('a.txt', 'one\n  two\nthree'));
    expect(sameRecords(a.records, again.records)).toBe(true);
    expect(sameRecords(a.records, b.records)).toBe(false);
    expect(sameRecords(a.records, a.records.slice(1))).toBe(false);
  });
});
