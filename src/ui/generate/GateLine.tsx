import type { GateResult } from '../../worker/engineClient';
import { readableTask } from './taskNames';

/** g as a whole percentage; a small non-zero g is "under 1%", never a misleading 0%. */
export function strengthText(value: number): string {
  if (value >= 1) return 'full strength (100%)';
  const percent = Math.round(value * 100);
  return percent === 0 ? 'under 1% strength' : `${percent}% strength`;
}

/**
 * The gate's nearest training tasks in words (src/ui/generate/taskNames.ts): the family or dataset,
 * then what the task does; the raw id as each item's tooltip.
 */
function NearestTasks({ ids }: { ids: readonly string[] }) {
  return (
    <ul className="gate-line__tasks" data-testid="gate-tasks">
      {ids.map((id) => {
        const task = readableTask(id);
        return (
          <li key={id} title={id} data-testid="gate-task">
            {task.what ? (
              <>
                <strong>{task.group}</strong>: {task.what}
              </>
            ) : (
              task.group
            )}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * A version-2 generator's gate in plain words: how strongly the adapter is applied (the gate's g
 * multiplies its weight change) and which of the generator's training tasks the prompts resemble.
 * Nothing for a generator without a gate (its adapters are applied in full).
 */
export function GateLine({ gate }: { gate: GateResult | null }) {
  if (!gate) return null;
  const synthetic = gate.neighbours.some((id) => readableTask(id).group.endsWith('(synthetic)'));
  return (
    <div className="gate-line" data-testid="generated-gate" data-strength={gate.value}>
      {gate.value === 0 ? (
        <p>
          <strong>The generator found nothing in these prompts it can help with</strong>, so the adapter is applied at 0% strength: it
          equals the base model. Your prompts are most like these of its training tasks:
        </p>
      ) : (
        <p>
          <strong>Applied at {strengthText(gate.value)}</strong> — your prompts are most like these of the generator’s training tasks:
        </p>
      )}
      <NearestTasks ids={gate.neighbours} />
      <p className="hint">
        The generator sizes each adapter by how much an adapter helped on the training tasks most like your prompts, when they were held
        out: 100% is the adapter as generated, 0% the base model unchanged. The download holds the adapter as applied.
        {synthetic ? ' “Synthetic” tasks were made up by the trainer, each to teach one behaviour.' : ''} Point at a task for its id in
        the generator’s files.
      </p>
    </div>
  );
}
