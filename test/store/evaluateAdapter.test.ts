// The Evaluate tab's default adapter for a prompt set (src/store/evaluateAdapter.ts) and the line that
// says why (src/ui/evaluate/adapterNote.ts): last used with the set, else the newest generated from
// it, else the first; remembered by origin, so a reload (new engine ids) keeps the choice.
import { describe, expect, it } from 'vitest';
import type { AdapterOrigin, AdapterRow } from '../../src/store/engine';
import { adapterKey, chooseEvaluateAdapter, generatedFrom } from '../../src/store/evaluateAdapter';
import { adapterChoiceNote } from '../../src/ui/evaluate/adapterNote';
import { formatWhen } from '../../src/ui/model/format';

function row(id: string, name: string, origin: AdapterOrigin): AdapterRow {
  return {
    id, name, origin, source: origin.kind, rank: 8, alpha: 16, scale: 2, targetModules: ['q_proj'], parameters: 10, bytes: 40,
  };
}

const QUIZ = { id: 'set-quiz', name: 'quiz.jsonl' };
const ARITH = { id: 'set-arith', name: 'arith.jsonl' };
const arith = row('adapter-1', 'arith (generated)', { kind: 'generated', promptSet: 'arith.jsonl', promptSetId: 'set-arith', at: 1000 });
const quiz = row('adapter-2', 'quiz (generated)', { kind: 'generated', promptSet: 'quiz.jsonl', promptSetId: 'set-quiz', at: 2000 });
const quiz2 = row('adapter-3', 'quiz (generated 2)', { kind: 'generated', promptSet: 'quiz.jsonl', promptSetId: 'set-quiz', at: 3000 });
const imported = row('adapter-4', 'fixture', { kind: 'imported', file: 'fixture.zip', at: 4000 });

describe('Evaluate: which adapter a prompt set gets', () => {
  it('the one generated from the set, not the first of the list', () => {
    const choice = chooseEvaluateAdapter(QUIZ, [arith, quiz, imported], undefined);
    expect(choice?.adapter.id).toBe('adapter-2');
    expect(choice?.reason).toBe('generated');
  });

  it('the newest of several generated from the set', () => {
    const choice = chooseEvaluateAdapter(QUIZ, [quiz2, arith, quiz], undefined);
    expect(choice?.adapter.id).toBe('adapter-3');
    expect(choice?.generatedCount).toBe(2);
    expect(adapterChoiceNote(choice!, QUIZ.name)).toMatch(/^Chosen: “quiz \(generated 2\)”, the newest of the 2 adapters generated from quiz\.jsonl, \d+ \w+, \d\d:\d\d\.$/);
  });

  it('the one last used with the set beats the generated one, after a reload too (new engine ids, same origin)', () => {
    const remembered = adapterKey(arith);
    const reloaded = [{ ...arith, id: 'adapter-7' }, { ...quiz, id: 'adapter-8' }];
    const choice = chooseEvaluateAdapter(QUIZ, reloaded, remembered);
    expect(choice?.adapter.id).toBe('adapter-7');
    expect(choice?.reason).toBe('last-used');
    expect(adapterChoiceNote(choice!, QUIZ.name)).toMatch(/^Chosen: “arith \(generated\)”, the adapter you last used with quiz\.jsonl \(Generated from arith\.jsonl, /);
  });

  it('a remembered adapter that is gone falls back to the generated one', () => {
    expect(chooseEvaluateAdapter(QUIZ, [arith, quiz], 'imported@999')?.adapter.id).toBe('adapter-2');
  });

  it('the first when nothing was generated from or used with the set, and says so', () => {
    const choice = chooseEvaluateAdapter({ id: 'set-other', name: 'other.txt' }, [imported, arith], undefined);
    expect(choice?.adapter.id).toBe('adapter-4');
    expect(choice?.reason).toBe('first');
    expect(adapterChoiceNote(choice!, 'other.txt')).toBe(
      `Chosen: “fixture”, the first in the list: no adapter here was generated from other.txt or used with it (Imported from fixture.zip, ${formatWhen(4000)}).`,
    );
    expect(chooseEvaluateAdapter(QUIZ, [], undefined)).toBeNull();
  });

  it('matches a set by id, and by name only for origins saved before ids were kept', () => {
    expect(generatedFrom(arith, ARITH)).toBe(true);
    expect(generatedFrom(arith, { id: 'set-new', name: 'arith.jsonl' })).toBe(false);
    const legacy = row('adapter-5', 'old', { kind: 'generated', promptSet: 'arith.jsonl', at: 10 });
    expect(generatedFrom(legacy, { id: 'set-new', name: 'arith.jsonl' })).toBe(true);
    expect(generatedFrom(imported, ARITH)).toBe(false);
  });

  it('names adapters by origin (kind and time), or by engine id when the time is unknown', () => {
    expect(adapterKey(quiz)).toBe('generated@2000');
    expect(adapterKey(row('adapter-6', 'x', { kind: 'imported', file: null, at: null }))).toBe('id:adapter-6');
  });
});
