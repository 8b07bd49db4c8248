/**
 * Reads a real file of ../shared/datasets in place (never copied into the repository).
 * Location: env DND_DATASETS_DIR, default ../shared/datasets relative to the repository root.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPromptFile } from '../../src/prompts/readPromptFile';
import { samplePrompts } from '../../src/prompts/summary';

const repoRoot = resolve(import.meta.dirname, '../..');
const datasetsDir = resolve(repoRoot, process.env.DND_DATASETS_DIR ?? '../shared/datasets');
const arcEasyTest = resolve(datasetsDir, 'ARC-Easy/test.jsonl');
const present = existsSync(arcEasyTest);

if (!present) {
  console.warn(`Skipping shared dataset test: ${arcEasyTest} not found (set DND_DATASETS_DIR to the datasets folder).`);
}

describe.skipIf(!present)(`shared dataset ${arcEasyTest}`, () => {
  it('reads every line as a {prompt, response, system} record', () => {
    const bytes = readFileSync(arcEasyTest);
    const lineCount = bytes.toString('utf8').split('\n').filter((line) => line.trim()).length;
    const result = readPromptFile({ name: 'ARC-Easy/test.jsonl', bytes: new Uint8Array(bytes) });
    expect(result.format).toBe('jsonl');
    expect(result.warningCount).toBe(0);
    expect(result.recordsRead).toBe(lineCount);
    expect(result.records.length + result.duplicatesDropped).toBe(lineCount);
    for (const record of result.records) {
      expect(record.prompt.trim().length).toBeGreaterThan(0);
      expect(record.response).toMatch(/^\[.+\]$/); // the datasets' bracketed-answer convention
    }
    expect(result.records[0]!.source).toEqual({ file: 'ARC-Easy/test.jsonl', line: 1 });
    expect(samplePrompts(result.records, 16, 1).records).toHaveLength(16);
  });
});

describe.skipIf(!present)('every shared dataset file', () => {
  it('reads with no warnings and one record per line', () => {
    const files = readdirSync(datasetsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => ['train.jsonl', 'test.jsonl'].map((split) => join(entry.name, split)))
      .filter((path) => existsSync(resolve(datasetsDir, path)));
    expect(files.length).toBeGreaterThan(0);
    for (const path of files) {
      const bytes = readFileSync(resolve(datasetsDir, path));
      const result = readPromptFile({ name: path, bytes: new Uint8Array(bytes) });
      const lines = bytes.toString('utf8').split('\n').filter((line) => line.trim()).length;
      expect({ path, warnings: result.warningCount, read: result.recordsRead }).toEqual({ path, warnings: 0, read: lines });
    }
  });
});
