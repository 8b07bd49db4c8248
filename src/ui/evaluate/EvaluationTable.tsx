import { RULE_LABELS } from '../../evaluate/scoring';
import type { EvaluationItem, EvaluationRun, SideAnswer, SideName } from '../../store/evaluation';

const LONG = 160;

/** A long prompt shows its start; the rest opens on demand (keyboard: the summary is a button). */
function LongText({ text }: { text: string }) {
  if (text.length <= LONG) return <span className="eval-text">{text}</span>;
  return (
    <details className="eval-long">
      <summary className="eval-text">{text.slice(0, LONG)}…</summary>
      <span className="eval-text">{text}</span>
    </details>
  );
}

function AnswerCell({ answer, pending, label, testId }: { answer: SideAnswer | null; pending: 'running' | 'waiting' | 'stopped'; label: string; testId: string }) {
  if (!answer) {
    return (
      <td data-label={label} data-testid={testId} data-ok="" className="eval-answer eval-answer--pending">
        <span className="hint">{pending === 'running' ? 'Generating…' : pending === 'stopped' ? 'Not run' : 'Waiting'}</span>
      </td>
    );
  }
  const { score } = answer;
  return (
    <td data-label={label} data-testid={testId} data-ok={score.ok ? 'true' : 'false'} data-rule={score.rule} className="eval-answer">
      <span className={`eval-mark ${score.ok ? 'eval-mark--ok' : 'eval-mark--wrong'}`} data-testid="eval-mark">
        {score.ok ? '✓ right' : '✗ wrong'}
      </span>
      <span className="eval-answer__text">{answer.text === '' ? <em>(empty answer)</em> : <LongText text={answer.text} />}</span>
      <span className="hint eval-answer__rule">
        {score.rule === 'none' ? 'No answer found' : `Read as ${score.predicted === '' ? '(nothing)' : score.predicted} · ${RULE_LABELS[score.rule]}`}
        {answer.stopReason === 'max-tokens' && ` · cut at ${answer.tokens} tokens`}
      </span>
    </td>
  );
}

function pendingOf(run: EvaluationRun, item: number, side: SideName): 'running' | 'waiting' | 'stopped' {
  if (run.current?.item === item && run.current.side === side) return 'running';
  return run.status === 'running' || run.status === 'stopping' ? 'waiting' : 'stopped';
}

/** Per item: prompt, reference, and each side's answer with whether it was scored right and why. */
export function EvaluationTable({ run }: { run: EvaluationRun }) {
  return (
    <table className="eval-table" data-testid="eval-table">
      <caption className="visually-hidden">Answers per item, base model and {run.adapterName}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Prompt</th>
          <th scope="col">Reference</th>
          <th scope="col">Base model</th>
          <th scope="col">With {run.adapterName}</th>
        </tr>
      </thead>
      <tbody>
        {run.items.map((item: EvaluationItem, i) => (
          <tr key={item.index} data-testid="eval-row" data-complete={item.base && item.adapted ? 'true' : 'false'}>
            <th scope="row" data-label="Item">{i + 1}</th>
            <td data-label="Prompt">
              {item.system && <span className="hint eval-system">System: {item.system.length > 80 ? `${item.system.slice(0, 80)}…` : item.system}</span>}
              <LongText text={item.prompt} />
            </td>
            <td data-label="Reference">
              <LongText text={item.reference} />
            </td>
            <AnswerCell answer={item.base} pending={pendingOf(run, i, 'base')} label="Base model" testId="eval-base" />
            <AnswerCell answer={item.adapted} pending={pendingOf(run, i, 'adapted')} label={`With ${run.adapterName}`} testId="eval-adapted" />
          </tr>
        ))}
      </tbody>
    </table>
  );
}
