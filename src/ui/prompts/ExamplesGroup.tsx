import { useEffect, useId } from 'react';
import { loadExample, loadExamplesIndex, useExamples } from '../../store/examples';
import './examples.css';

const KIND_LABELS: Record<string, string> = {
  mcq: 'multiple choice',
  yesno: 'yes / no',
  math: 'math',
  classification: 'classification',
  code: 'code',
  generation: 'free text',
};

/**
 * One button per held-out task of the evaluation: a click loads that task's example prompt file as
 * a prompt set, exactly like a picked file. Says why when the build has no examples.
 */
export function ExamplesGroup() {
  const list = useExamples((s) => s.list);
  const busy = useExamples((s) => s.busy);
  const hintId = useId();
  useEffect(() => {
    void loadExamplesIndex();
  }, []);

  return (
    <section className="card examples" aria-labelledby="examples-heading" data-testid="examples" data-status={list.status}>
      <h2 id="examples-heading">Examples</h2>
      <p id={hintId} className="hint">
        Test questions of the tasks this project&rsquo;s evaluation holds out, one file per task
        {list.status === 'ready' && ` (the first ${list.index.maxLines} of each test split)`}. The shipped generator
        never saw these questions, but it was trained on the training splits of every task, these included.
      </p>
      {(list.status === 'idle' || list.status === 'loading') && <p className="hint">Looking for example files…</p>}
      {list.status === 'unavailable' && (
        <p className="examples__unavailable" data-testid="examples-unavailable">
          <strong>No examples in this build.</strong> {list.reason}
        </p>
      )}
      {list.status === 'ready' && (
        <ul className="examples__list" aria-describedby={hintId}>
          {list.index.examples.map((entry) => {
            const loading = busy.includes(entry.task);
            return (
              <li key={entry.task}>
                <button
                  type="button"
                  className="button examples__button"
                  data-testid="example-button"
                  data-task={entry.task}
                  disabled={loading}
                  aria-label={`Load example ${entry.task}: ${entry.count} ${KIND_LABELS[entry.kind] ?? entry.kind} prompts`}
                  title={entry.license ? `License: ${entry.license}` : undefined}
                  onClick={() => void loadExample(entry)}
                >
                  <span className="examples__task">{entry.task}</span>
                  <span className="examples__meta">
                    {loading ? 'Loading…' : `${KIND_LABELS[entry.kind] ?? entry.kind} · ${entry.count}`}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
