import { describe, expect, it } from 'vitest';
import { createRng, dedupeRecords, samplePrompts, summarizePrompts } from '../../src/prompts/summary';
import type { PromptRecord } from '../../src/prompts/types';

const records = (prompts: string[], system?: string): PromptRecord[] =>
  prompts.map((prompt, i) => ({ prompt, ...(system ? { system } : {}), source: { file: 'f', line: i + 1 } }));

describe('dedupeRecords', () => {
  it('drops exact duplicates after whitespace normalisation, keeping the first', () => {
    const input = records(['Hello  world', ' Hello world\n', 'hello world', 'Hello\tworld', 'other']);
    const { records: kept, duplicatesDropped } = dedupeRecords(input);
    expect(kept.map((r) => r.source.line)).toEqual([1, 3, 5]);
    expect(duplicatesDropped).toBe(2);
  });

  it('treats the same prompt under different system prompts as different', () => {
    const input = [...records(['q'], 'be brief'), ...records(['q'], 'be verbose'), ...records(['q'], 'be  brief')];
    expect(dedupeRecords(input).duplicatesDropped).toBe(1);
  });
});

describe('summarizePrompts', () => {
  it('counts, samples and bins lengths', () => {
    const input = records(['a', 'bb', 'ccc', 'x'.repeat(100)]);
    input[0]!.response = 'r';
    const summary = summarizePrompts(input, { bins: 10, sampleCount: 2 });
    expect(summary.count).toBe(4);
    expect(summary.withResponse).toBe(1);
    expect(summary.samples.map((r) => r.prompt)).toEqual(['a', 'bb']);
    expect(summary.length).toMatchObject({ unit: 'chars', min: 1, max: 100, median: 3 });
    expect(summary.length.mean).toBeCloseTo(26.5);
    const histogram = summary.length.histogram;
    expect(histogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(4);
    expect(histogram[0]).toEqual({ from: 0, to: 20, count: 3 });
    expect(histogram.at(-1)!.count).toBe(1);
    expect(histogram.length).toBeLessThanOrEqual(10);
  });

  it('measures approximate tokens on request, and handles no records', () => {
    expect(summarizePrompts(records(['12345678']), { unit: 'tokens' }).length.max).toBe(2);
    expect(summarizePrompts([]).length.histogram).toEqual([]);
  });
});

describe('samplePrompts', () => {
  const many = records(Array.from({ length: 100_000 }, (_, i) => `prompt ${i}`));

  it('is reproducible for a seed and changes with the seed', () => {
    const a = samplePrompts(many, 32, 7);
    const b = samplePrompts(many, 32, 7);
    const c = samplePrompts(many, 32, 8);
    expect(a.indices).toEqual(b.indices);
    expect(a.indices).not.toEqual(c.indices);
    expect(a.records.map((r) => r.prompt)).toEqual(a.indices.map((i) => `prompt ${i}`));
  });

  it('samples without replacement, all of them when P >= count', () => {
    const sample = samplePrompts(many, 5000, 123);
    expect(new Set(sample.indices).size).toBe(5000);
    const all = samplePrompts(records(['a', 'b', 'c']), 10, 1);
    expect([...all.indices].sort()).toEqual([0, 1, 2]);
    expect(samplePrompts(many, 0, 1).records).toEqual([]);
    expect(samplePrompts([], 5, 1).records).toEqual([]);
  });

  it('is roughly uniform', () => {
    const counts = new Array<number>(10).fill(0);
    const ten = records(Array.from({ length: 10 }, (_, i) => String(i)));
    for (let seed = 0; seed < 2000; seed++) counts[samplePrompts(ten, 3, seed).indices[0]!]!++;
    for (const count of counts) expect(count).toBeGreaterThan(120); // expected 200 each
  });

  it('uses a deterministic generator in [0, 1)', () => {
    const random = createRng(42);
    const values = Array.from({ length: 1000 }, random);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, createRng(42))).toEqual(values);
  });
});
