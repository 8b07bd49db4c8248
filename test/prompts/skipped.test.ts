import { describe, expect, it } from 'vitest';
import { mergeResults } from '../../src/prompts/merge';
import { readPromptFile } from '../../src/prompts/readPromptFile';
import { addSkipped, describeSkipped, describeWarnings, skippedTotal } from '../../src/prompts/skipped';
import { fileOf } from './helpers';

describe('describeSkipped / describeWarnings', () => {
  it('counts in the unit read, with singular and plural right', () => {
    expect(describeSkipped({})).toBe('');
    expect(describeSkipped({ item: 1 })).toBe('1 item was skipped');
    expect(describeSkipped({ line: 3 })).toBe('3 lines were skipped');
    expect(describeSkipped({ line: 1, row: 1 })).toBe('1 line and 1 row were skipped');
    expect(describeSkipped({ line: 2, paragraph: 1, item: 1200 })).toBe('2 lines, 1 paragraph and 1,200 items were skipped');
  });

  it('gives notes apart from skipped parts, and a bare count for sets saved before the counts', () => {
    expect(describeWarnings({ warningCount: 2, skipped: { item: 1 } })).toBe('1 item was skipped; 1 note');
    expect(describeWarnings({ warningCount: 1, skipped: { line: 1 } })).toBe('1 line was skipped');
    expect(describeWarnings({ warningCount: 2, skipped: {} })).toBe('2 notes');
    expect(describeWarnings({ warningCount: 2 })).toBe('2 warnings');
  });

  it('adds counts, also across merged sets', () => {
    expect(addSkipped({ line: 1 }, { line: 2, row: 1 })).toEqual({ line: 3, row: 1 });
    expect(skippedTotal({ line: 3, row: 1 })).toBe(4);
    const a = readPromptFile(fileOf('a.jsonl', '{"prompt": "a"}\n{x\n'));
    const b = readPromptFile(fileOf('b.json', '[{"prompt": "b"}, {"pro'));
    const merged = mergeResults('a + b', [a, b]);
    expect(merged.skipped).toEqual({ line: 1, item: 1 });
    expect(describeWarnings(merged)).toBe('1 line and 1 item were skipped; 1 note');
    expect(mergeResults('old', [{ ...a, skipped: undefined }, b]).skipped).toBeUndefined();
  });
});
