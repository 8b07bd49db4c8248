/**
 * What the page shows about a prompt set (count, samples, length distribution), de-duplication,
 * and the seeded sample of P prompts that feeds the generator.
 */
import type { PromptRecord } from './types';

/** Key for "same prompt": whitespace runs collapsed and ends trimmed; the system prompt counts too. */
export function dedupeKey(record: Pick<PromptRecord, 'prompt' | 'system'>): string {
  const prompt = record.prompt.replace(/\s+/g, ' ').trim();
  const system = record.system ? record.system.replace(/\s+/g, ' ').trim() : '';
  return system ? `${system}\u0000${prompt}` : prompt;
}

export interface DedupeResult {
  records: PromptRecord[];
  duplicatesDropped: number;
}

/** Keeps the first occurrence of each prompt, in order. */
export function dedupeRecords(records: readonly PromptRecord[]): DedupeResult {
  const seen = new Set<string>();
  const kept: PromptRecord[] = [];
  for (const record of records) {
    const key = dedupeKey(record);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(record);
  }
  return { records: kept, duplicatesDropped: records.length - kept.length };
}

export type LengthUnit = 'chars' | 'tokens';

/**
 * Rough token count without a tokenizer: about 4 characters per token for English BPE
 * vocabularies. Good enough for a histogram; the encoder's tokenizer decides real truncation.
 */
export function approxTokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface HistogramBin {
  /** Inclusive lower edge. */
  from: number;
  /** Exclusive upper edge. */
  to: number;
  count: number;
}

export interface LengthStats {
  unit: LengthUnit;
  min: number;
  max: number;
  mean: number;
  median: number;
  p90: number;
  histogram: HistogramBin[];
}

export interface PromptSummary {
  count: number;
  withResponse: number;
  withSystem: number;
  /** The first `sampleCount` prompts in file order (stable, unlike the generator sample). */
  samples: PromptRecord[];
  length: LengthStats;
}

export interface SummaryOptions {
  unit?: LengthUnit;
  bins?: number;
  sampleCount?: number;
}

export function summarizePrompts(records: readonly PromptRecord[], options: SummaryOptions = {}): PromptSummary {
  const unit = options.unit ?? 'chars';
  const measure = unit === 'chars' ? (text: string) => text.length : approxTokenCount;
  const lengths = new Float64Array(records.length);
  let withResponse = 0;
  let withSystem = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    lengths[i] = measure(record.prompt);
    if (record.response !== undefined) withResponse++;
    if (record.system !== undefined) withSystem++;
  }
  return {
    count: records.length,
    withResponse,
    withSystem,
    samples: records.slice(0, options.sampleCount ?? 5),
    length: lengthStats(lengths, unit, options.bins ?? 20),
  };
}

export function lengthStats(lengths: Float64Array, unit: LengthUnit, binCount: number): LengthStats {
  if (lengths.length === 0) return { unit, min: 0, max: 0, mean: 0, median: 0, p90: 0, histogram: [] };
  const sorted = Float64Array.from(lengths).sort();
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  let sum = 0;
  for (const length of sorted) sum += length;
  const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const { start, width, bins } = binLayout(min, max, binCount);
  const histogram: HistogramBin[] = [];
  for (let b = 0; b < bins; b++) histogram.push({ from: start + b * width, to: start + (b + 1) * width, count: 0 });
  for (const length of sorted) histogram[Math.min(bins - 1, Math.floor((length - start) / width))]!.count++;
  return { unit, min, max, mean: sum / sorted.length, median: quantile(0.5), p90: quantile(0.9), histogram };
}

/**
 * Bins that cover [min, max] and no more than a bin's rounding past it: the first starts at a
 * multiple of the width at or below `min` (lengths 55-57 give bins 55, 56, 57, not 0-94), widths
 * are 1/2/5 x 10^k (readable edges), at most `binCount` bins.
 */
function binLayout(min: number, max: number, binCount: number): { start: number; width: number; bins: number } {
  const most = Math.max(1, binCount);
  for (let width = niceBinWidth(max - min + 1, most); ; width = nextNiceWidth(width)) {
    const start = Math.floor(min / width) * width;
    const bins = Math.max(1, Math.ceil((max + 1 - start) / width));
    if (bins <= most) return { start, width, bins };
  }
}

/** Smallest 1/2/5 x 10^k width that covers `span` in at most `binCount` bins. */
function niceBinWidth(span: number, binCount: number): number {
  const raw = Math.max(1, span / Math.max(1, binCount));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= raw) return step * magnitude;
  }
  return 10 * magnitude;
}

/** The next 1/2/5 x 10^k width above `width`. */
function nextNiceWidth(width: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(width) + 1e-9);
  const step = Math.round(width / magnitude);
  return step === 1 ? 2 * magnitude : step === 2 ? 5 * magnitude : 10 * magnitude;
}

/** Seeded PRNG (mulberry32): small, fast, and the same sequence in every browser and in Node. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PromptSample {
  seed: number;
  /** Positions in the input array, in sampled order. */
  indices: number[];
  records: PromptRecord[];
}

/**
 * P records drawn without replacement, reproducible for a seed ("re-sample" = new seed).
 * A partial Fisher-Yates over a *virtual* index array: only swapped positions are stored (in a Map),
 * so time and memory are O(P) even for 100k records. P >= count returns every record, shuffled.
 */
export function samplePrompts(records: readonly PromptRecord[], count: number, seed: number): PromptSample {
  const n = records.length;
  const take = Math.max(0, Math.min(Math.floor(count), n));
  const random = createRng(seed);
  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const indices: number[] = [];
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (n - i));
    const picked = at(j);
    swapped.set(j, at(i));
    indices.push(picked);
  }
  return { seed, indices, records: indices.map((index) => records[index]!) };
}

export interface PromptBatch extends PromptSample {
  /** How many entries are repeats (0 unless the set has fewer prompts than asked for). */
  repeated: number;
}

/**
 * The generator's batch of `count` prompts, reproducible for a seed. A set with at least `count`
 * prompts: `samplePrompts` (without replacement). A shorter set: every prompt once, shuffled, then
 * the shortfall drawn uniformly *with* replacement from the same prompts (same seeded generator),
 * so a 5-prompt set still conditions an 8-prompt generator; `repeated` says how many are repeats.
 */
export function sampleBatch(records: readonly PromptRecord[], count: number, seed: number): PromptBatch {
  const want = Math.max(0, Math.floor(count));
  const n = records.length;
  if (n >= want || n === 0) return { ...samplePrompts(records, want, seed), repeated: 0 };
  const all = samplePrompts(records, n, seed);
  const random = createRng(seed ^ 0x5bd1e995);
  const indices = [...all.indices];
  while (indices.length < want) indices.push(Math.floor(random() * n));
  return { seed, indices, records: indices.map((index) => records[index]!), repeated: want - n };
}

/** A fresh seed for "re-sample". */
export function newSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
