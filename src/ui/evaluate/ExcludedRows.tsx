import { withoutRows, type AnsweredRow } from '../../prompts/answered';
import type { AdapterRow } from '../../store/engine';

/** The answered rows in an adapter's condition (examples mode), or null for any other adapter. */
export function conditionOf(adapter: AdapterRow | null): AnsweredRow[] | null {
  const origin = adapter?.origin;
  return origin?.kind === 'generated' && origin.mode === 'examples' && origin.condition ? origin.condition : null;
}

/** How many of `kept` the validation gate of an examples-mode adapter scored (0 for any other adapter). */
export function validationScoredIn(adapter: AdapterRow | null, kept: readonly { prompt: string; response?: string }[]): number {
  const origin = adapter?.origin;
  const rows = origin?.kind === 'generated' ? origin.validationRows : undefined;
  return rows ? withoutRows(kept, rows).excluded.length : 0;
}

/**
 * Evaluate never scores the rows an examples-mode adapter was made from (the generator read them with
 * their answers): says how many of this set's rows are left out, and which.
 */
export function ExcludedRows({ adapterName, excluded, conditionSize, left, validated }: {
  adapterName: string; excluded: string[]; conditionSize: number; left: number;
  /** How many of the rows left to score also chose the adapter's strength (the validation gate). */
  validated: number;
}) {
  return (
    <div className="inline-note" role="note" data-testid="evaluate-excluded" data-excluded={excluded.length} data-validated={validated}>
      <p>
        <strong>
          {excluded.length} {excluded.length === 1 ? 'row is' : 'rows are'} left out
        </strong>
        : “{adapterName}” was made in examples mode from {conditionSize} prompts with their answers
        {excluded.length < conditionSize ? ` (${excluded.length} of them are in this set)` : ''}, and scoring those would flatter it.{' '}
        {left > 0 ? `${left} ${left === 1 ? 'row is' : 'rows are'} left to score.` : 'No row is left to score: choose another set or adapter.'}
        {validated > 0 &&
          ` ${validated} of them chose its strength (the validation gate scored them), so on those it may look slightly better than it is.`}
      </p>
      {excluded.length > 0 && (
        <details>
          <summary>Show the rows left out</summary>
          <ol data-testid="evaluate-excluded-list">
            {excluded.map((p, i) => (
              <li key={`${i}:${p.slice(0, 20)}`}>{p.length > 160 ? `${p.slice(0, 160)}…` : p}</li>
            ))}
          </ol>
        </details>
      )}
    </div>
  );
}
