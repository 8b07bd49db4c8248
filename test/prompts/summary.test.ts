import { describe, expect, it } from 'vitest';
import { createRng, dedupeRecords, sampleBatch, samplePrompts, summarizePrompts } from '../../src/prompts/summary';
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

  it('bins only the range the lengths span (55-57 characters: three bins, not 0-94)', () => {
    const histogram = summarizePrompts(records(['x'.repeat(55), 'x'.repeat(56), 'x'.repeat(57), 'x'.repeat(57)])).length.histogram;
    expect(histogram).toEqual([{ from: 55, to: 56, count: 1 }, { from: 56, to: 57, count: 1 }, { from: 57, to: 58, count: 2 }]);
    const wide = summarizePrompts(records(['x'.repeat(130), 'x'.repeat(981)]), { bins: 20 }).length.histogram;
    expect(wide[0]!.from).toBeLessThanOrEqual(130);
    expect(wide[0]!.to).toBeGreaterThan(130);
    expect(wide.at(-1)!.to).toBeGreaterThan(981);
    expect(wide.at(-1)!.from).toBeLessThanOrEqual(981);
    expect(wide.length).toBeLessThanOrEqual(20);
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

describe('sampleBatch', () => {
  const five = records(['a', 'b', 'c', 'd', 'e']);

  it('is samplePrompts when the set has enough prompts', () => {
    const many = records(Array.from({ length: 50 }, (_, i) => `p${i}`));
    expect(sampleBatch(many, 8, 3)).toEqual({ ...samplePrompts(many, 8, 3), repeated: 0 });
  });

  it('fills a short set: every prompt once, then the shortfall drawn with replacement', () => {
    const batch = sampleBatch(five, 8, 11);
    expect(batch.records).toHaveLength(8);
    expect(batch.repeated).toBe(3);
    expect([...batch.indices.slice(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(batch.indices.slice(5).every((i) => i >= 0 && i < 5)).toBe(true);
    expect(sampleBatch(five, 8, 11)).toEqual(batch);
    expect(sampleBatch(records(['only']), 8, 1).records.map((r) => r.prompt)).toEqual(Array(8).fill('only'));
    expect(sampleBatch([], 8, 1)).toMatchObject({ records: [], repeated: 0 });
  });

  it('draws the repeats uniformly', () => {
    const counts = new Array<number>(5).fill(0);
    for (let seed = 0; seed < 1000; seed++) for (const i of sampleBatch(five, 8, seed).indices.slice(5)) counts[i]!++;
    for (const count of counts) expect(count).toBeGreaterThan(450); // expected 600 each
  });
});
