/**
 * Evaluate never scores the rows an examples-mode adapter was made from (src/store/evaluation.ts
 * `scorableFor`, src/ui/evaluate/ExcludedRows.tsx `conditionOf`): rows are matched by prompt and
 * response; an adapter made from prompts alone (or imported) excludes nothing.
 */
import { describe, expect, it } from 'vitest';
import { scorableFor } from '../../src/store/evaluation';
import { conditionOf } from '../../src/ui/evaluate/ExcludedRows';
import type { AdapterRow } from '../../src/store/engine';
import type { PromptRecord } from '../../src/prompts/types';

const rec = (prompt: string, response?: string): PromptRecord => ({ prompt, source: { file: 'h.jsonl' }, ...(response === undefined ? {} : { response }) });
const records = [rec('a', '[World]'), rec('b', '[Sports]'), rec('c'), rec('d', '[Business]'), rec('e', '  ')];
const row = (origin: AdapterRow['origin']): AdapterRow => ({
  id: 'adapter-1', name: 'h (generated)', source: 'generated', rank: 8, alpha: 16, scale: 2, targetModules: [], parameters: 0, bytes: 0, origin,
});

describe('rows Evaluate scores for an adapter', () => {
  it('an examples-mode adapter: its condition rows are left out, the other answered rows kept', () => {
    const adapter = row({ kind: 'generated', promptSet: 'h.jsonl', at: 1, mode: 'examples', condition: [{ prompt: 'b', response: '[Sports]' }, { prompt: 'x', response: '[World]' }] });
    const condition = conditionOf(adapter);
    expect(condition).toHaveLength(2);
    const { kept, excluded } = scorableFor(records, condition ?? []);
    expect(kept.map((r) => r.prompt)).toEqual(['a', 'd']);
    expect(excluded.map((r) => r.prompt)).toEqual(['b']);
  });

  it('a prompts-mode, older or imported adapter excludes nothing', () => {
    expect(conditionOf(row({ kind: 'generated', promptSet: 'h.jsonl', at: 1, mode: 'prompts' }))).toBeNull();
    expect(conditionOf(row({ kind: 'generated', promptSet: 'h.jsonl', at: 1 }))).toBeNull();
    expect(conditionOf(row({ kind: 'imported', file: 'x.zip', at: 1 }))).toBeNull();
    expect(conditionOf(null)).toBeNull();
    expect(scorableFor(records).kept.map((r) => r.prompt)).toEqual(['a', 'b', 'd']);
  });
});
