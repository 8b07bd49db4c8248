import { useId } from 'react';
import { setUseAnswers } from '../../store/generation';
import type { ExamplesDraw } from '../../prompts/answered';
import { plural } from '../prompts/format';

export interface AnswersChoiceProps {
  setId: string;
  setName: string;
  /** The generator's examples mode (manifest `examples`); null: it reads prompts only. */
  examples: { validationRows: number } | null;
  promptCount: number;
  /** Answered rows in the set. */
  answered: number;
  /** Why examples mode is not offered for this set (src/prompts/answered.ts `examplesUnavailable`), or null. */
  unavailable: string | null;
  /** "Use the answers" as it stands for this set. */
  on: boolean;
  /** The rows the next run would use (when on). */
  draw: ExamplesDraw | null;
  disabled: boolean;
}

/**
 * "Use the answers" (examples mode, issue 16): offered when the generator reads answered rows and the
 * set has at least P of them, on by default then; otherwise absent, with one line saying why when the
 * set has answers (or the generator could use them).
 */
export function AnswersChoice({ setId, setName, examples, promptCount, answered, unavailable, on, draw, disabled }: AnswersChoiceProps) {
  const id = useId();
  if (!examples) {
    if (answered === 0) return null;
    return (
      <p className="hint" data-testid="generate-answers-unsupported">
        {setName} has {plural(answered, 'answered row')}, but this generator reads prompts only (its manifest has no examples mode), so the
        answers are not used to make the adapter. The Evaluate tab can still score against them.
      </p>
    );
  }
  if (unavailable) {
    return (
      <p className="inline-note" role="note" data-testid="generate-answers-unavailable">
        <strong>Use the answers</strong> is not available: {unavailable}. The generator can also read prompts with their answers (examples
        mode) when a set has at least {promptCount} rows with a response; this one will use the prompts alone.
      </p>
    );
  }
  const others = draw?.validation.length ?? 0;
  return (
    <div className="answers-choice" data-testid="generate-answers">
      <div className="field field--check">
        <input id={id} type="checkbox" checked={on} disabled={disabled} data-testid="generate-use-answers" onChange={(e) => setUseAnswers(setId, e.target.checked)} />
        <label htmlFor={id}>Use the answers ({plural(answered, 'answered row')} in this set)</label>
      </div>
      {on ? (
        <p className="hint" data-testid="generate-answers-explain">
          The generator reads {promptCount} of your prompts <em>with</em> their answers (examples mode), so the adapter can pick up the answer
          format you want. Its strength is then chosen on{' '}
          {others > 0
            ? `${plural(others, 'other answered row')} (at most ${examples.validationRows}): the strength whose answers have the least loss. `
            : `the same ${promptCount} rows, because there are no other answered rows: an optimistic choice. `}
          The Evaluate tab leaves the {promptCount} rows in the condition out.
        </p>
      ) : (
        <p className="hint">Off: the generator reads {promptCount} prompts alone, as for a file without answers.</p>
      )}
    </div>
  );
}
