// The result card's mode line (src/ui/generate/ModeLine.tsx) rendered to HTML: prompts mode; examples
// mode with the validation gate's strength (0 is the base model, never "under 1%"), the loss it chose on,
// how many rows, and the optimistic case when the condition's own rows were scored.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ModeLine } from '../../src/ui/generate/ModeLine';
import type { GeneratedAdapterSummary } from '../../src/worker/engineClient';

const adapter = (over: Partial<GeneratedAdapterSummary>): GeneratedAdapterSummary => ({
  id: 'adapter-1', name: 'h (generated)', source: 'generated', rank: 8, alpha: 16, scale: 2, targetModules: [], parameters: 0,
  gate: null, mode: 'prompts', validation: null, answerFeatures: null, ...over,
});
const grid = [0, 0.25, 0.5, 0.75, 1];
const text = (a: GeneratedAdapterSummary) => renderToStaticMarkup(createElement(ModeLine, { adapter: a, promptCount: 8, setName: 'h.jsonl' }))
  .replace(/<[^>]+>/g, '').replace(/&#x27;|’/g, "'");

describe('ModeLine', () => {
  it('prompts mode says so', () => {
    expect(text(adapter({}))).toContain('Made from 8 prompts (prompts mode: the prompts alone, without answers).');
  });

  it('examples mode: the strength the validation chose, the loss there and at 0, on how many held-out rows', () => {
    const out = text(adapter({ mode: 'examples', validation: { value: 0.5, grid, nll: [0.7, 0.65, 0.6, 0.62, 0.7], rows: 6, tokens: 24, source: 'held-out' } }));
    expect(out).toContain('Made in examples mode: the generator read 8 of your prompts with their answers (from h.jsonl).');
    expect(out).toContain('Applied at 50% strength: the strength whose answers had the least loss on 6 other answered rows — 0.600 per token, against 0.700 for the base model (24 answer tokens).');
    expect(out).toContain('50% (chosen)');
    expect(out).not.toContain('optimistic');
  });

  it('examples mode at 0: the base model unchanged; at 1: full strength', () => {
    expect(text(adapter({ mode: 'examples', validation: { value: 0, grid, nll: [0.6, 0.7, 0.8, 0.9, 1], rows: 3, tokens: 9, source: 'held-out' } })))
      .toContain("Applied at 0% strength (the base model unchanged): the strength whose answers had the least loss on 3 other answered rows — 0.600 per token, the base model's own");
    expect(text(adapter({ mode: 'examples', validation: { value: 1, grid, nll: [1, 0.9, 0.8, 0.7, 0.6], rows: 1, tokens: 4, source: 'held-out' } })))
      .toContain('Applied at full strength (100%): the strength whose answers had the least loss on 1 other answered row');
  });

  it('no other answered rows: scored on the condition, said to be optimistic', () => {
    const out = text(adapter({ mode: 'examples', validation: { value: 0.25, grid, nll: [1, 0.9, 0.95, 1, 1.1], rows: 8, tokens: 30, source: 'condition' } }));
    expect(out).toContain('the least loss on the 8 rows in the condition');
    expect(out).toContain('an optimistic choice, since the adapter was made from them');
  });
});
