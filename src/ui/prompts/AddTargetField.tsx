import { useId } from 'react';
import { usePromptSets } from '../../store/promptSets';
import { plural } from './format';

/**
 * Where files (picked or dropped) and pasted text go: a new set, or appended to one of the loaded
 * sets (so a short set can be topped up). Remembered until changed or that set is removed.
 */
export function AddTargetField() {
  const sets = usePromptSets((state) => state.sets);
  const target = usePromptSets((state) => state.addTargetId);
  const setTarget = usePromptSets((state) => state.setAddTarget);
  const id = useId();
  if (sets.length === 0) return null;
  return (
    <div className="field add-target">
      <label htmlFor={id} className="field-label">
        Add new prompts to
      </label>
      <select id={id} data-testid="add-target" value={target ?? ''} onChange={(event) => setTarget(event.target.value || null)}>
        <option value="">a new set (one per file or paste)</option>
        {sets.map((set) => (
          <option key={set.id} value={set.id}>
            {set.name} ({plural(set.result.records.length, 'prompt')}), appended
          </option>
        ))}
      </select>
    </div>
  );
}
