/**
 * Big inputs: a generated ~50 MB, 100k-line JSONL must be read completely and counted right.
 * No timing assertions (CI machines vary); the durations are logged for the curious.
 */
import { describe, expect, it } from 'vitest';
import { readPromptFile, readPromptFileAsync } from '../../src/prompts/readPromptFile';
import { samplePrompts, summarizePrompts } from '../../src/prompts/summary';
import { fileOf } from './helpers';

const LINES = 100_000;
const DUPLICATE_EVERY = 50; // every 50th line repeats an earlier prompt

/** ~500 bytes per line, so 100k lines are ~50 MB. */
function bigJsonl(): Uint8Array {
  const filler = 'lorem ipsum dolor sit amet '.repeat(17);
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const id = i % DUPLICATE_EVERY === DUPLICATE_EVERY - 1 ? i - 1 : i;
    lines.push(JSON.stringify({ prompt: `Question ${id}: ${filler}`, response: `[${id % 4}]`, system: 'sys' }));
  }
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

describe('large files', () => {
  const bytes = bigJsonl();
  const expectedUnique = LINES - LINES / DUPLICATE_EVERY;

  it('generates a ~50 MB input', () => {
    expect(bytes.length).toBeGreaterThan(50_000_000);
  });

  it('reads 100k JSONL lines synchronously', () => {
    const started = performance.now();
    const result = readPromptFile(fileOf('big.jsonl', bytes));
    console.info(`sync read of ${(bytes.length / 2 ** 20).toFixed(1)} MB: ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.recordsRead).toBe(LINES);
    expect(result.duplicatesDropped).toBe(LINES / DUPLICATE_EVERY);
    expect(result.records).toHaveLength(expectedUnique);
    expect(result.records.at(-1)!.source.line).toBe(LINES - 1);

    const sample = samplePrompts(result.records, 128, 2026);
    expect(new Set(sample.indices).size).toBe(128);
    expect(summarizePrompts(result.records).count).toBe(expectedUnique);
  });

  it('reads it asynchronously, yielding to the event loop throughout', async () => {
    let timerTicks = 0;
    const timer = setInterval(() => timerTicks++, 0);
    const started = performance.now();
    const result = await readPromptFileAsync(fileOf('big.jsonl', bytes), { yieldEvery: 2000 });
    clearInterval(timer);
    console.info(`async read: ${(performance.now() - started).toFixed(0)} ms, ${timerTicks} timer ticks ran meanwhile`);
    expect(result.records).toHaveLength(expectedUnique);
    // 100k lines / 2000 per chunk = 50 pauses; a timer must have fired during most of them.
    expect(timerTicks).toBeGreaterThan(10);
  });

  it('reads a 100k-row CSV with quoted cells', () => {
    const rows = ['id,prompt,response'];
    for (let i = 0; i < LINES; i++) rows.push(`${i},"Prompt ${i}, with a comma and ""quotes""",r${i}`);
    const started = performance.now();
    const result = readPromptFile(fileOf('big.csv', rows.join('\r\n')));
    console.info(`CSV 100k rows: ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.records).toHaveLength(LINES);
    expect(result.records[5]).toMatchObject({ prompt: 'Prompt 5, with a comma and "quotes"', response: 'r5', source: { line: 7 } });
  });

  it('reads 100k plain-text lines', () => {
    const text = Array.from({ length: LINES }, (_, i) => `prompt number ${i}`).join('\n');
    const result = readPromptFile(fileOf('big.txt', text));
    expect(result.records).toHaveLength(LINES);
    expect(result.textSplit).toBe('line');
  });
});
