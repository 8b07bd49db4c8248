import { useEffect, useId, useMemo, useRef } from 'react';
import { answeredRows, drawExamples, examplesUnavailable } from '../../prompts/answered';
import { sampleBatch } from '../../prompts/summary';
import { useEngine } from '../../store/engine';
import {
  cancelGeneration, isActive, loadGeneratorInfo, nextAdapterName, setNameDraft, setStepThrough, startGeneration, useAnswersFor, useGeneration,
  type RunTiming,
} from '../../store/generation';
import { useNavigation } from '../../store/navigation';
import { useSelectedPromptSet } from '../../store/promptSets';
import { useSettings } from '../../store/settings';
import { ModelLoader } from '../model/ModelLoader';
import { plural } from '../prompts/format';
import { AnswersChoice } from './AnswersChoice';
import { runTimeText } from './blockText';
import { GeneratedResult } from './GeneratedResult';
import { StageList } from './StageList';
import { StepThroughPanel } from './StepThroughPanel';
import './generate.css';

/** P prompts of the selected set -> the generator -> a LoRA adapter, shown stage by stage. */
export function GenerateScreen() {
  const modelStatus = useEngine((s) => s.status);
  const info = useEngine((s) => s.info);
  const promptSet = useSelectedPromptSet();
  const sampleSize = useSettings((s) => s.sampleSize);
  const setSampleSize = useSettings((s) => s.setSampleSize);
  const goTo = useNavigation((s) => s.goTo);
  const status = useGeneration((s) => s.status);
  const stages = useGeneration((s) => s.stages);
  const error = useGeneration((s) => s.error);
  const stepThrough = useGeneration((s) => s.stepThrough);
  const pausedLayer = useGeneration((s) => s.pausedLayer);
  const nameDraft = useGeneration((s) => s.nameDraft);
  const generatorInfo = useGeneration((s) => s.generatorInfo);
  const answersChoice = useGeneration((s) => s.answersChoice);
  const runMode = useGeneration((s) => (s.conditionRows ? 'examples' : 'prompts'));
  const resultId = useGeneration((s) => s.adapter?.id ?? null);
  const timing = useGeneration((s) => s.timing);
  const runBackend = useGeneration((s) => s.runBackend);
  const resultName = useEngine((s) => s.adapters.find((a) => a.id === resultId)?.name ?? null);
  const adapterNames = useEngine((s) => s.adapters.map((a) => a.name).join('\n'));
  const section = useNavigation((s) => s.section);
  const runButton = useRef<HTMLButtonElement>(null);
  const ids = { name: useId(), step: useId() };

  const generatorReady = modelStatus === 'ready' && info?.generator === 'ready';
  useEffect(() => {
    if (generatorReady && !generatorInfo) void loadGeneratorInfo();
  }, [generatorReady, generatorInfo]);

  // A run that ends without a result (cancelled, failed) disabled the focused button on the way:
  // give focus back to Generate instead of leaving it on <body>. (A result takes focus itself.)
  useEffect(() => {
    if ((status === 'cancelled' || status === 'error') && section === 'generate' && document.activeElement === document.body) runButton.current?.focus();
  }, [status, section]);

  const records = promptSet?.result.records;
  // The same draw as the Prompts tab shows (SampledPrompts): same records, P and seed; a set
  // shorter than P is filled by sampling with replacement (src/prompts/summary.ts sampleBatch).
  const sample = useMemo(
    () => (records && promptSet ? sampleBatch(records, sampleSize, promptSet.sampleSeed) : null),
    [records, sampleSize, promptSet],
  );
  const P = generatorInfo?.promptCount ?? 8;
  const active = isActive(status);
  // Examples mode (src/prompts/answered.ts): offered when the generator reads answers and the set has P answered rows.
  const examplesSpec = generatorInfo?.examples ?? null;
  const answered = useMemo(() => (records ? answeredRows(records).length : 0), [records]);
  const unavailable = examplesUnavailable(answered, P);
  const offered = examplesSpec !== null && unavailable === null;
  const useAnswers = promptSet ? useAnswersFor(answersChoice, promptSet.id, offered) : false;
  const draw = useMemo(
    () => (useAnswers && records && promptSet && examplesSpec ? drawExamples(records, P, examplesSpec.validationRows, promptSet.sampleSeed) : null),
    [useAnswers, records, promptSet, examplesSpec, P],
  );
  const setSize = records?.length ?? 0;
  const sampleTooSmall = sampleSize < P;
  const repeated = sample && !sampleTooSmall && !draw ? Math.max(0, P - setSize) : 0;
  const draftForSet = promptSet && nameDraft?.setId === promptSet.id ? nameDraft.name : null;
  const nameValue = draftForSet ?? (promptSet ? nextAdapterName(null, promptSet, adapterNames ? adapterNames.split('\n') : []) : '');
  const canGenerate = generatorReady && !!sample && setSize > 0 && (!!draw || !sampleTooSmall) && !active;
  const prompts = sample ? sample.records.slice(0, P).map((r) => r.prompt) : [];
  const pausedStage = stages.find((s) => s.layer === pausedLayer && pausedLayer !== null);

  return (
    <div className="model-screen generate-screen" data-testid="generate-screen" data-status={status}>
      <h2>Generate an adapter</h2>
      <p className="hint">
        The parameter generator turns {P} of your prompts into a LoRA adapter for the base model in one pass, in this browser (on the GPU
        or the CPU: see where the model runs, below). On this project’s
        zero-shot evaluation (tasks the generator never saw) the adapter depends on your prompts: it helps most with multiple-choice
        answers, little with yes/no questions (its gate turns it down there); where your task looks like nothing it trained on, its gate turns the adapter down, though not always enough (on 30% of those
        tasks it was still worse than the base model).
      </p>

      <section className="card" aria-labelledby="generate-prompts-heading" data-testid="generate-prompts">
        <h3 id="generate-prompts-heading">Prompts</h3>
        {!promptSet || !sample ? (
          <div data-testid="generate-no-prompts">
            <p>No prompts yet. Load a prompt file (or paste prompts) on the Prompts tab; {P} of them condition the generator.</p>
            <button type="button" className="button" data-testid="generate-go-prompts" onClick={() => goTo('prompts')}>
              Go to the Prompts tab
            </button>
          </div>
        ) : (
          <>
            <p data-testid="generate-prompt-source">
              {draw ? `${P} prompts with their answers` : `${Math.min(P, sample.records.length)} prompts`} from <strong>{promptSet.name}</strong> ({plural(setSize, 'prompt')} in the set, sample
              seed {promptSet.sampleSeed}). Change the set or draw another sample on the Prompts tab.
            </p>
            {repeated > 0 && (
              <p className="inline-note" role="note" data-testid="generate-short-set" data-repeated={repeated}>
                The generator takes {P} prompts and {promptSet.name} has {setSize}: all {setSize} are used, and the other {repeated}{' '}
                {repeated === 1 ? 'is a repeat' : 'are repeats'} drawn at random from them (sampling with replacement). More prompts give the
                generator more to go on: add some to this set, or merge sets, on the Prompts tab.
              </p>
            )}
            {sampleTooSmall && (
              <div className="inline-alert" role="note" data-testid="generate-sample-too-small">
                <p>
                  The generator takes exactly {P} prompts per batch; the Prompts tab is set to draw {sampleSize}.
                </p>
                <button type="button" className="button" onClick={() => setSampleSize(P)}>
                  Draw {P}
                </button>
              </div>
            )}
            {sampleSize > P && setSize > P && <p className="hint">The first {P} of the {sampleSize} sampled prompts are used.</p>}
            {promptSet && (
              <AnswersChoice
                setId={promptSet.id} setName={promptSet.name} examples={examplesSpec} promptCount={P} answered={answered} unavailable={unavailable}
                on={useAnswers} draw={draw} disabled={active}
              />
            )}
            {draw ? (
              <details className="generate-prompts__list" data-testid="generate-condition-rows">
                <summary>Show the {draw.condition.length} prompts with their answers</summary>
                <ol>
                  {draw.condition.map((r, i) => (
                    <li key={`${i}:${r.prompt.slice(0, 20)}`}>
                      {r.prompt.length > 200 ? `${r.prompt.slice(0, 200)}…` : r.prompt} <span className="hint">→ {r.response.length > 80 ? `${r.response.slice(0, 80)}…` : r.response}</span>
                    </li>
                  ))}
                </ol>
              </details>
            ) : (
              <details className="generate-prompts__list">
                <summary>Show the {prompts.length} prompts</summary>
                <ol>
                  {prompts.map((p, i) => (
                    <li key={`${i}:${p.slice(0, 20)}`}>{p.length > 200 ? `${p.slice(0, 200)}…` : p}</li>
                  ))}
                </ol>
              </details>
            )}
          </>
        )}
      </section>

      <ModelLoader />
      {modelStatus === 'ready' && info?.generator === 'unavailable' && (
        <section className="card inline-alert" role="note" data-testid="generator-unavailable">
          <p>
            <strong>The parameter generator cannot be used on this page.</strong> {info.generatorError ?? 'No reason was given.'}
          </p>
          <p>The base model and imported adapters still work on the Compare and Adapters tabs.</p>
        </section>
      )}
      {modelStatus === 'ready' && info?.generator === 'not-configured' && (
        <section className="card inline-alert" role="note" data-testid="generator-unavailable">
          <p>This page was loaded without a parameter generator, so adapters cannot be generated here. Import one on the Adapters tab.</p>
        </section>
      )}
      {generatorReady && info?.generatorBackend === 'wasm' && (
        <p className="card model-loader__notice" data-testid="generator-cpu-notice">
          The model runs on WebAssembly here, so the generator does too: its layers run on the CPU through the same WebAssembly runtime
          as the model, giving the same adapter as on a GPU.
        </p>
      )}
      {generatorReady && info?.generatorBackend === 'reference' && (
        <p className="card model-loader__notice" data-testid="generator-cpu-notice">
          The generator runs on its TypeScript reference here: the same adapter, about 40 times slower (see the note under where the
          model runs).
        </p>
      )}

      <section className="card" aria-labelledby="generate-run-heading">
        <h3 id="generate-run-heading">Run</h3>
        <div className="generate-controls">
          <div className="field generate-controls__name">
            <label htmlFor={ids.name}>Name of the new adapter</label>
            <input
              id={ids.name}
              type="text"
              value={nameValue}
              data-testid="generate-name"
              disabled={active || !promptSet}
              onChange={(event) => promptSet && setNameDraft(promptSet.id, event.target.value)}
            />
          </div>
          <div className="field field--check">
            <input id={ids.step} type="checkbox" checked={stepThrough} disabled={active} data-testid="generate-step-through" onChange={(e) => setStepThrough(e.target.checked)} />
            <label htmlFor={ids.step}>Step through (pause after each decoder block)</label>
          </div>
        </div>
        <div className="button-row">
          <button
            ref={runButton}
            type="button"
            className="button button--primary"
            data-testid="generate-run"
            disabled={!canGenerate}
            onClick={() =>
              promptSet &&
              void startGeneration({
                prompts, promptSet: { id: promptSet.id, name: promptSet.name }, repeated,
                ...(draw ? { examples: { condition: draw.condition, validation: draw.validation } } : {}),
              })
            }
          >
            {status === 'done' ? 'Generate again' : 'Generate'}
          </button>
          <button type="button" className="button" data-testid="generate-cancel" disabled={!active || status === 'cancelling'} onClick={() => void cancelGeneration()}>
            Cancel
          </button>
          {!generatorReady && modelStatus !== 'ready' && <span className="hint">Load the model first.</span>}
        </div>
        <p className="generate-status" role="status" data-testid="generate-status">
          {statusLine(status, stages, pausedLayer, resultName, timing)}
        </p>
        {error && (
          <div role="alert" className="inline-alert" data-testid="generate-error" data-code={error.code}>
            <p>
              <strong>The adapter was not generated.</strong> {error.message}
            </p>
          </div>
        )}
        {status === 'paused' && <StepThroughPanel block={generatorInfo?.blocks[pausedLayer ?? -1]} stage={pausedStage} blockCount={generatorInfo?.blocks.length ?? 0} />}
        {stages.length > 0 && <StageList stages={stages} info={generatorInfo} pausedLayer={status === 'paused' ? pausedLayer : null} mode={runMode} backend={runBackend} />}
      </section>

      {status === 'done' && <GeneratedResult />}
    </div>
  );
}

/** One short line for the polite live region: which stage runs, the pause, or the outcome. */
function statusLine(
  status: string, stages: readonly { label: string; state: string; ms: number | null }[], pausedLayer: number | null, resultName: string | null,
  timing: RunTiming | null,
): string {
  const running = stages.find((s) => s.state === 'running');
  switch (status) {
    case 'running':
      return running ? `Running: ${running.label}…` : 'Starting…';
    case 'paused':
      return `Paused after decoder block ${pausedLayer ?? ''}. Press Next or Run to end.`;
    case 'cancelling':
      return 'Cancelling… (a stage that has started finishes first; encoding the prompts is one step).';
    case 'cancelled':
      return 'Cancelled. No adapter was made.';
    case 'done':
      // the same figures, named the same way, as on the result card
      return `Done${timing ? `: ${runTimeText(timing)}` : ''}.${resultName ? ` Adapter “${resultName}” is ready.` : ''}`;
    case 'error':
      return 'Stopped by an error.';
    default:
      return '';
  }
}
