import { useEffect, useId, useMemo, useRef, useState, type RefObject } from 'react';
import { KIND_LABELS, defaultMaxTokens } from '../../evaluate/scoring';
import { useEngine } from '../../store/engine';
import {
  clearEvaluation, isRunning, planFor, scorableFor, scorableRecords, startEvaluation, stopEvaluation, summarize, useEvaluation, type EvaluationRun,
} from '../../store/evaluation';
import { ExcludedRows, conditionOf, validationScoredIn } from './ExcludedRows';
import { useSelectedPromptSet } from '../../store/promptSets';
import { chooseEvaluateAdapter, rememberEvaluateAdapter, useEvaluateAdapters } from '../../store/evaluateAdapter';
import { ModelLoader } from '../model/ModelLoader';
import { AccuracyChart } from './AccuracyChart';
import { EvaluationTable } from './EvaluationTable';
import './evaluate.css';
import { adapterOptionLabel } from '../model/format';
import { MaxTokensField } from '../model/MaxTokensField';
import { adapterChoiceNote } from './adapterNote';

const DEFAULT_COUNT = 20;

/** Base vs adapter accuracy on the items of the selected prompt set that carry a reference response. */
export function EvaluateScreen() {
  const set = useSelectedPromptSet();
  const status = useEngine((s) => s.status);
  const adapters = useEngine((s) => s.adapters);
  const run = useEvaluation((s) => s.run);
  const startError = useEvaluation((s) => s.startError);
  const running = isRunning(run);
  const ids = { count: useId(), adapter: useId(), max: useId(), adapterNote: useId() };

  const records = set?.result.records;
  const scorable = useMemo(() => (records ? scorableRecords(records) : []), [records]);
  const plan = useMemo(() => (records ? planFor(records) : null), [records]);
  const [count, setCount] = useState(DEFAULT_COUNT);
  // The adapter last used with this set, else the newest generated from it, else the first (src/store/evaluateAdapter.ts).
  const rememberedKey = useEvaluateAdapters((s) => (set ? s.bySet[set.id] : undefined));
  const [maxTokens, setMaxTokens] = useState(8);

  // A new set (or a new read of it) brings its own token budget.
  useEffect(() => {
    if (plan) setMaxTokens(defaultMaxTokens(plan.kind));
  }, [plan]);

  const ready = status === 'ready';
  const choice = set ? chooseEvaluateAdapter(set, adapters, rememberedKey) : null;
  const chosen = choice?.adapter ?? null;
  // examples mode: the rows in the adapter's condition are never scored (they would flatter it)
  const condition = conditionOf(chosen);
  const split = useMemo(() => (records ? scorableFor(records, condition ?? []) : { kept: [], excluded: [] }), [records, condition]);
  const total = split.kept.length;
  const n = Math.min(Math.max(1, count), Math.max(1, total));
  const canRun = ready && !running && chosen !== null && total > 0 && set !== undefined;

  // Run is disabled while the run goes on: focus moves from it to the results once they are shown.
  const runButton = useRef<HTMLButtonElement>(null);
  const resultsHeading = useRef<HTMLHeadingElement>(null);
  const focusResults = useRef(false);
  useEffect(() => {
    if (!focusResults.current || !run) return;
    focusResults.current = false;
    resultsHeading.current?.focus();
  }, [run]);

  const run_ = () => {
    if (!canRun || !set || !chosen) return;
    focusResults.current = document.activeElement === runButton.current;
    rememberEvaluateAdapter(set.id, chosen);
    void startEvaluation({
      setId: set.id, setName: set.name, records: set.result.records, count: n, adapterId: chosen.id, adapterName: chosen.name, maxTokens,
      ...(condition ? { exclude: condition } : {}),
    });
  };

  return (
    <div className="model-screen evaluate-screen" data-testid="evaluate-screen">
      <h2>Evaluate base and adapted answers</h2>
      <ModelLoader />
      <section className="card" aria-labelledby="evaluate-setup-heading">
        <h3 id="evaluate-setup-heading">What to score</h3>
        {!set ? (
          <p data-testid="evaluate-no-set">Load a prompt file with reference responses on the Prompts tab first.</p>
        ) : scorable.length === 0 ? (
          <div className="inline-alert" role="note" data-testid="evaluate-no-responses">
            <p>
              <strong>“{set.name}” has no responses</strong>, so there is nothing to score the answers against.
            </p>
            <p>Responses come from:</p>
            <ul>
              <li>JSONL or JSON records with a <code>response</code> field (or <code>completion</code>, <code>output</code>, <code>answer</code>, <code>chosen</code>, <code>target</code>);</li>
              <li>chat records (<code>messages</code> / <code>conversations</code>) with an assistant turn after the user turn;</li>
              <li>CSV or TSV files with a response column (choose it on the Prompts tab).</li>
            </ul>
            <p>Plain text files hold prompts only.</p>
          </div>
        ) : (
          <>
            <p data-testid="evaluate-set-info">
              Prompt set <strong>{set.name}</strong>: {scorable.length.toLocaleString('en')} of {set.result.records.length.toLocaleString('en')} prompts have a response.
            </p>
            {chosen && condition && (
              <ExcludedRows
                adapterName={chosen.name} excluded={split.excluded.map((r) => r.prompt)} conditionSize={condition.length} left={total}
                validated={validationScoredIn(chosen, split.kept)}
              />
            )}
            {plan && (
              <p data-testid="evaluate-kind" data-kind={plan.kind}>
                Scoring: <strong>{KIND_LABELS[plan.kind]}</strong>. <span className="hint">{plan.reason}</span>
              </p>
            )}
            <form
              className="evaluate-form"
              onSubmit={(event) => {
                event.preventDefault();
                run_();
              }}
            >
              <div className="field">
                <label htmlFor={ids.count}>Items to score (1–{total})</label>
                <input
                  id={ids.count}
                  type="number"
                  min={1}
                  max={total}
                  value={n}
                  data-testid="evaluate-count"
                  onChange={(event) => setCount(Math.round(Number(event.target.value) || 1))}
                />
              </div>
              <div className="field">
                <label htmlFor={ids.adapter}>Adapter</label>
                <select
                  id={ids.adapter}
                  data-testid="evaluate-adapter"
                  value={chosen?.id ?? ''}
                  disabled={adapters.length === 0}
                  aria-describedby={choice ? ids.adapterNote : undefined}
                  onChange={(event) => {
                    const picked = adapters.find((a) => a.id === event.target.value);
                    if (picked) rememberEvaluateAdapter(set.id, picked);
                  }}
                >
                  {adapters.length === 0 && <option value="">No adapters</option>}
                  {adapters.map((a) => (
                    <option key={a.id} value={a.id}>
                      {adapterOptionLabel(a)}
                    </option>
                  ))}
                </select>
              </div>
              <MaxTokensField id={ids.max} label="Max new tokens per answer" value={maxTokens} max={512} testId="evaluate-max-tokens" onChange={setMaxTokens} />
              <div className="button-row evaluate-form__buttons">
                <button ref={runButton} type="submit" className="button button--primary" data-testid="evaluate-run" disabled={!canRun}>
                  Run
                </button>
                <button type="button" className="button" data-testid="evaluate-stop" disabled={!running || run?.status === 'stopping'} onClick={stopEvaluation}>
                  Stop
                </button>
              </div>
            </form>
            {choice && (
              <p className="hint" id={ids.adapterNote} data-testid="evaluate-adapter-reason" data-reason={choice.reason}>
                {adapterChoiceNote(choice, set.name)}
              </p>
            )}
            {startError && !running && (
              <p role="alert" className="inline-alert" data-testid="evaluate-start-error" data-code={startError.code}>
                <strong>The run did not start.</strong> {startError.message}
              </p>
            )}
            {!ready && <p className="hint">Load the model first (above); the adapters appear once it is loaded.</p>}
            {ready && adapters.length === 0 && (
              <p className="hint" data-testid="evaluate-no-adapter">
                There is no adapter to evaluate yet: generate one on the <strong>Generate</strong> tab, or import a PEFT adapter zip on the <strong>Adapters</strong> tab.
              </p>
            )}
          </>
        )}
        <p className="hint">
          Each prompt goes to the model in its chat format (with its system prompt when the file has one), answered greedily, first by the base model, then
          with the adapter; the answer is read and compared as the project&apos;s trainer does (see docs/evaluate.md). On this project&apos;s zero-shot
          evaluation (reports/zero-shot.md) generated adapters depend on the prompts and help most with multiple-choice answers, little with yes/no questions; on a
          task unlike any the generator trained on they can still be worse than the base model, which is what this tab lets you check.
        </p>
      </section>
      {run && <RunResults run={run} headingRef={resultsHeading} />}
    </div>
  );
}

function RunResults({ run, headingRef }: { run: EvaluationRun; headingRef: RefObject<HTMLHeadingElement | null> }) {
  const summary = summarize(run);
  const total = run.items.length;
  const n = summary.complete.length;
  const running = isRunning(run);
  const partial = run.items.filter((it) => (it.base === null) !== (it.adapted === null)).length;
  return (
    <section className="card" aria-labelledby="evaluate-results-heading" data-testid="evaluate-results" data-status={run.status}>
      <h3 id="evaluate-results-heading" ref={headingRef} tabIndex={-1} data-testid="evaluate-results-heading">
        Results: {run.setName}, base model vs {run.adapterName}
      </h3>
      <p className="hint">
        {KIND_LABELS[run.plan.kind]} scoring, at most {run.maxTokens} new tokens per answer.
        {run.excluded.length > 0 && (
          <span data-testid="evaluate-results-excluded" data-excluded={run.excluded.length}>
            {' '}
            {run.excluded.length} {run.excluded.length === 1 ? 'row' : 'rows'} in {run.adapterName}’s condition left out.
          </span>
        )}
      </p>
      <div className="evaluate-progress">
        <ProgressRow label="Base model" done={summary.baseDone} total={total} testId="evaluate-progress-base" />
        <ProgressRow label={`With ${run.adapterName}`} done={summary.adaptedDone} total={total} testId="evaluate-progress-adapted" />
      </div>
      <p role="status" data-testid="evaluate-status">
        {run.status === 'running' && run.current && `Item ${run.current.item + 1} of ${total}: ${run.current.side === 'base' ? 'base model' : run.adapterName} answering…`}
        {run.status === 'running' && !run.current && 'Starting…'}
        {run.status === 'stopping' && 'Stopping after the current step…'}
        {run.status === 'done' && `Done: ${n} of ${total} items scored.`}
        {run.status === 'stopped' && `Stopped: ${n} of ${total} items scored on both sides; the results so far are kept.`}
        {run.status === 'error' && `Stopped by an error after ${n} of ${total} items; the results so far are kept.`}
      </p>
      {run.error && (
        <p role="alert" className="inline-alert" data-testid="evaluate-error" data-code={run.error.code}>
          {run.error.message}
        </p>
      )}
      {n > 0 ? (
        <div className="evaluate-summary">
          <AccuracyChart
            n={n}
            bars={[
              { key: 'base', label: 'Base model', value: summary.base },
              { key: 'adapted', label: run.adapterName, value: summary.adapted },
            ]}
          />
          <dl className="evaluate-numbers" data-testid="evaluate-numbers">
            <div>
              <dt>Base model</dt>
              <dd data-testid="evaluate-accuracy-base">
                {summary.base.correct} of {n} right ({(summary.base.accuracy * 100).toFixed(1)}% ± {(summary.base.standardError * 100).toFixed(1)})
              </dd>
            </div>
            <div>
              <dt>With {run.adapterName}</dt>
              <dd data-testid="evaluate-accuracy-adapted">
                {summary.adapted.correct} of {n} right ({(summary.adapted.accuracy * 100).toFixed(1)}% ± {(summary.adapted.standardError * 100).toFixed(1)})
              </dd>
            </div>
            <div>
              <dt>Items that differ</dt>
              <dd>
                {summary.adapterOnly} right only with the adapter, {summary.baseOnly} right only with the base model
              </dd>
            </div>
          </dl>
          <p className="hint evaluate-uncertainty" data-testid="evaluate-uncertainty">
            n = {n}. The ± is one binomial standard error, √(p(1−p)/n): with {n} {n === 1 ? 'item' : 'items'} one answer moves an accuracy by{' '}
            {(100 / n).toFixed(1)} points, so a difference smaller than about two standard errors may be chance. Score more items for a firmer answer.
            {partial > 0 && ` ${partial} item${partial === 1 ? '' : 's'} answered by one side only ${partial === 1 ? 'is' : 'are'} not counted.`}
          </p>
        </div>
      ) : (
        !running && <p className="hint">No item was answered by both sides, so there is no accuracy to show.</p>
      )}
      <div className="evaluate-table-wrap">
        <EvaluationTable run={run} />
      </div>
      {!running && (
        <div className="button-row">
          <button type="button" className="button button--quiet" data-testid="evaluate-clear" onClick={clearEvaluation}>
            Clear results
          </button>
        </div>
      )}
    </section>
  );
}

function ProgressRow({ label, done, total, testId }: { label: string; done: number; total: number; testId: string }) {
  return (
    <div className="evaluate-progress__row">
      <span className="evaluate-progress__label">{label}</span>
      <progress max={total} value={done} aria-label={`${label}: ${done} of ${total} items`} data-testid={testId} data-done={done} data-total={total} />
      <span className="evaluate-progress__count">
        {done} / {total}
      </span>
    </div>
  );
}
