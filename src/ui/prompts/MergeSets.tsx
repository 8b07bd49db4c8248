import { useId, useState } from 'react';
import { mergePromptSets } from '../../store/promptActions';
import { usePromptSets } from '../../store/promptSets';
import { plural } from './format';
import { BreakableName } from '../BreakableName';

/** "Merge sets…": tick two or more loaded sets, name the result; a new set is made, the parts stay. */
export function MergeSets() {
  const sets = usePromptSets((state) => state.sets);
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [name, setName] = useState('');
  const nameId = useId();
  if (sets.length < 2) return null;
  const picked = sets.filter((s) => chosen.has(s.id));
  const defaultName = picked.map((s) => s.name).join(' + ') || 'Merged set';
  if (!open) {
    return (
      <button type="button" className="button button--quiet" data-testid="merge-open" onClick={() => setOpen(true)}>
        Merge sets…
      </button>
    );
  }
  return (
    <form
      className="merge-sets"
      data-testid="merge-sets"
      onSubmit={(event) => {
        event.preventDefault();
        if (mergePromptSets(picked.map((s) => s.id), name.trim() || defaultName)) {
          setOpen(false);
          setChosen(new Set());
          setName('');
        }
      }}
    >
      <fieldset>
        <legend>Merge these sets into a new one</legend>
        {sets.map((set) => (
          <label key={set.id} className="field--check merge-sets__item">
            <input
              type="checkbox"
              checked={chosen.has(set.id)}
              data-testid="merge-choice"
              onChange={(event) => {
                const next = new Set(chosen);
                if (event.target.checked) next.add(set.id);
                else next.delete(set.id);
                setChosen(next);
              }}
            />
            <span>
              <BreakableName name={set.name} /> <span className="muted">({plural(set.result.records.length, 'prompt')})</span>
            </span>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={nameId} className="field-label">
          Name of the merged set
        </label>
        <input id={nameId} type="text" value={name} placeholder={defaultName} data-testid="merge-name" onChange={(event) => setName(event.target.value)} />
      </div>
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={picked.length < 2} data-testid="merge-submit">
          Merge {picked.length >= 2 ? plural(picked.length, 'set') : 'sets'}
        </button>
        <button type="button" className="button button--quiet" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <p className="hint">Duplicate prompts across the sets are kept once. The sets you merge stay as they are.</p>
    </form>
  );
}
