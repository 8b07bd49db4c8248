import type { GeneratedAdapterSummary } from '../../worker/engineClient';
import { strengthText } from './GateLine';

/** NLL per token for people: 3 decimals. */
function nllText(x: number): string {
  return x.toFixed(3);
}

/**
 * Which mode made the adapter, on the result card. Prompts mode: the prompts alone (the gate line says
 * how strongly it is applied). Examples mode: the prompts with their answers, sized by the validation
 * gate: the strength with the least loss on the set's other answered rows (or, when there were none, on
 * the condition's own rows, which is said to be optimistic), with the loss at every strength tried.
 */
export function ModeLine({ adapter, promptCount, setName }: { adapter: GeneratedAdapterSummary; promptCount: number; setName: string | null }) {
  const v = adapter.validation;
  if (adapter.mode !== 'examples' || !v) {
    return (
      <p className="mode-line" data-testid="generated-mode" data-mode="prompts">
        Made from <strong>{promptCount} prompts</strong> (prompts mode: the prompts alone, without answers).
      </p>
    );
  }
  const at = v.grid.indexOf(v.value);
  const chosen = v.nll[at] ?? Number.NaN;
  const base = v.nll[0] ?? Number.NaN;
  const where = v.source === 'held-out' ? `${v.rows} other answered ${v.rows === 1 ? 'row' : 'rows'}` : `the ${v.rows} rows in the condition`;
  return (
    <div className="mode-line" data-testid="generated-mode" data-mode="examples" data-strength={v.value} data-validation-rows={v.rows} data-validation-source={v.source}>
      <p>
        <strong>Made in examples mode</strong>: the generator read {promptCount} of your prompts with their answers
        {setName ? ` (from ${setName})` : ''}. <strong>Applied at {v.value === 0 ? '0% strength' : strengthText(v.value)}</strong>
        {v.value === 0 ? ' (the base model unchanged)' : ''}: the strength whose answers had the least loss on {where} —{' '}
        {nllText(chosen)} per token{at > 0 ? `, against ${nllText(base)} for the base model` : ', the base model’s own'} ({v.tokens} answer tokens).
      </p>
      {v.source === 'condition' && (
        <p className="inline-note" role="note" data-testid="generated-mode-optimistic">
          This set has no answered rows beyond the {promptCount} in the condition, so the strength was chosen on those same rows: an
          optimistic choice, since the adapter was made from them. Add more answered rows for a fair check.
        </p>
      )}
      <details>
        <summary>Loss at each strength tried</summary>
        <table className="mode-line__table" data-testid="generated-mode-table">
          <thead>
            <tr>
              <th scope="col">Strength</th>
              <th scope="col">Mean NLL per answer token</th>
            </tr>
          </thead>
          <tbody>
            {v.grid.map((s, i) => (
              <tr key={s} aria-current={s === v.value ? 'true' : undefined}>
                <td>{Math.round(s * 100)}%{s === v.value ? ' (chosen)' : ''}</td>
                <td>{nllText(v.nll[i] ?? Number.NaN)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}
