import { removePromptSet } from '../../store/promptActions';
import { usePromptSets } from '../../store/promptSets';
import { plural } from './format';
import { BreakableName } from '../BreakableName';
import { MergeSets } from './MergeSets';

/** The loaded sets; choosing one shows its details. */
export function PromptSetList() {
  const sets = usePromptSets((state) => state.sets);
  const selectedId = usePromptSets((state) => state.selectedId);
  const select = usePromptSets((state) => state.select);
  if (sets.length === 0) return null;
  const shownId = selectedId ?? sets[0]?.id;
  return (
    <section className="card" aria-labelledby="prompt-sets-heading">
      <h2 id="prompt-sets-heading">Your prompt sets</h2>
      <ul className="plain-list prompt-set-list" data-testid="prompt-set-list">
        {sets.map((promptSet) => {
          const current = promptSet.id === shownId;
          return (
            <li key={promptSet.id} className={`prompt-set-item${current ? ' prompt-set-item--current' : ''}`} data-testid="prompt-set-item">
              <button
                type="button"
                className="prompt-set-item__select"
                aria-current={current ? 'true' : undefined}
                onClick={() => select(promptSet.id)}
              >
                <span className="prompt-set-item__name">
                  <BreakableName name={promptSet.name} />
                </span>
                <span className="muted">
                  {plural(promptSet.result.records.length, 'prompt')} · {promptSet.result.format.toUpperCase()}
                </span>
              </button>
              <button
                type="button"
                className="button button--quiet"
                aria-label={`Remove ${promptSet.name}`}
                onClick={() => {
                  const index = sets.indexOf(promptSet);
                  removePromptSet(promptSet.id);
                  focusAfterRemoval(index);
                }}
              >
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <MergeSets />
    </section>
  );
}

/** Keep keyboard focus near where it was: the next set, the previous one, or the file picker. */
function focusAfterRemoval(index: number): void {
  requestAnimationFrame(() => {
    const remaining = document.querySelectorAll<HTMLButtonElement>('.prompt-set-item__select');
    const target = remaining[Math.min(index, remaining.length - 1)] ?? document.querySelector<HTMLButtonElement>('[data-testid="choose-files"]');
    target?.focus();
  });
}
