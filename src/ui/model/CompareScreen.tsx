import { useEffect, useId, useRef, useState, type RefObject } from 'react';
import type { GenerateResult } from '../../worker/engineClient';
import { getEngineClient, readableError, useEngine, type ReadableError } from '../../store/engine';
import { useNavigation } from '../../store/navigation';
import { usePromptSets } from '../../store/promptSets';
import { adapterOptionLabel, describeOrigin } from './format';
import { ModelLoader } from './ModelLoader';
import { MaxTokensField } from './MaxTokensField';
import { addPiece, finishStream, shownText, startStream, type StreamedText } from './streamedText';

interface Side {
  /** The answer's text as streamed, then the result's (src/ui/model/streamedText.ts). */
  stream: StreamedText;
  state: 'waiting' | 'running' | 'done' | 'stopped' | 'error';
  result: GenerateResult | null;
  error: ReadableError | null;
}

const EMPTY: Side = { stream: startStream(0), state: 'waiting', result: null, error: null };
const MAX_PICKER_PROMPTS = 200;

/** The same prompt through the base model and an adapter, one after the other, side by side. */
export function CompareScreen() {
  const status = useEngine((s) => s.status);
  const adapters = useEngine((s) => s.adapters);
  const sets = usePromptSets((s) => s.sets);
  const [prompt, setPrompt] = useState('');
  const [adapterId, setAdapterId] = useState('');
  const [maxTokens, setMaxTokens] = useState(64);
  const [chat, setChat] = useState(true);
  const [running, setRunning] = useState(false);
  const [base, setBase] = useState<Side>(EMPTY);
  const [adapted, setAdapted] = useState<Side>(EMPTY);
  const stopped = useRef(false);
  // Numbers each side's runs, so a late token event of an earlier run never lands in a later one.
  const runCount = useRef(0);
  // Another screen (Generate) asked to compare with a given adapter.
  const compareRequest = useNavigation((s) => s.compareRequest);
  const adapterSelect = useRef<HTMLSelectElement>(null);
  const baseAnswer = useRef<HTMLElement>(null);
  const runButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!compareRequest) return;
    setAdapterId(compareRequest.adapterId);
    // The button that asked is on a tab now hidden: focus goes to what changed, not to the top of the page.
    if (compareRequest.focus) adapterSelect.current?.focus();
  }, [compareRequest]);
  const ids = { prompt: useId(), adapter: useId(), max: useId(), pick: useId(), chat: useId(), origin: useId() };

  const ready = status === 'ready';
  const chosen = adapters.find((a) => a.id === adapterId) ?? null;
  const pickable = sets.flatMap((set) => set.result.records.slice(0, MAX_PICKER_PROMPTS).map((r, i) => ({ key: `${set.id}:${i}`, text: r.prompt, set: set.name })));

  const runSide = async (adapter: string | null, update: (fn: (s: Side) => Side) => void): Promise<boolean> => {
    const run = ++runCount.current;
    update(() => ({ ...EMPTY, stream: startStream(run), state: 'running' }));
    try {
      // Token events may arrive out of order and after the result (they travel on their own port):
      // they are placed by index, and the result's text (the decoded ids) is what stays shown.
      const result = await getEngineClient().generate(prompt, { adapter, maxTokens, chat }, (t) =>
        update((s) => ({ ...s, stream: addPiece(s.stream, run, t.index, t.text) })),
      );
      update((s) => ({ ...s, stream: finishStream(s.stream, run, result.text), result, state: result.stopReason === 'cancelled' ? 'stopped' : 'done' }));
      return result.stopReason !== 'cancelled';
    } catch (error) {
      const e = readableError(error);
      update((s) => ({ ...s, state: e.code === 'cancelled' ? 'stopped' : 'error', error: e.code === 'cancelled' ? null : e }));
      return false;
    }
  };

  const run = async () => {
    if (!ready || running || prompt.trim() === '') return;
    stopped.current = false;
    // Run is disabled while the answers stream: focus moves from it to the base model's answer.
    if (document.activeElement === runButton.current) baseAnswer.current?.focus();
    setRunning(true);
    setAdapted(chosen ? EMPTY : { ...EMPTY });
    try {
      const baseOk = await runSide(null, setBase);
      if (chosen && baseOk && !stopped.current) await runSide(chosen.id, setAdapted);
      else if (chosen) setAdapted((s) => ({ ...s, state: 'stopped' }));
    } finally {
      setRunning(false);
    }
  };

  const stop = () => {
    stopped.current = true;
    void getEngineClient().cancel();
  };

  return (
    <div className="model-screen" data-testid="compare-screen">
      <h2>Compare base and adapted answers</h2>
      <ModelLoader />
      <section className="card" aria-labelledby="compare-form-heading">
        <h3 id="compare-form-heading">Ask both</h3>
        <form
          className="compare-form"
          onSubmit={(event) => {
            event.preventDefault();
            void run();
          }}
        >
          {pickable.length > 0 && (
            <div className="field">
              <label htmlFor={ids.pick}>Take a prompt from your prompt sets</label>
              <select
                id={ids.pick}
                data-testid="compare-prompt-picker"
                value=""
                onChange={(event) => {
                  const item = pickable.find((p) => p.key === event.target.value);
                  if (item) setPrompt(item.text);
                }}
              >
                <option value="">Choose a prompt…</option>
                {pickable.map((p) => (
                  <option key={p.key} value={p.key}>
                    {p.set}: {p.text.length > 80 ? `${p.text.slice(0, 80)}…` : p.text}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label htmlFor={ids.prompt}>Prompt</label>
            <textarea
              id={ids.prompt}
              rows={3}
              value={prompt}
              data-testid="compare-prompt"
              onChange={(event) => setPrompt(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                  event.preventDefault();
                  void run();
                }
              }}
            />
          </div>
          <div className="compare-form__row">
            <div className="field compare-form__adapter">
              <label htmlFor={ids.adapter}>Adapter</label>
              <select
                id={ids.adapter}
                ref={adapterSelect}
                data-testid="compare-adapter"
                value={chosen ? chosen.id : ''}
                aria-describedby={chosen ? ids.origin : undefined}
                onChange={(event) => setAdapterId(event.target.value)}
              >
                <option value="">None (base model only)</option>
                {adapters.map((a) => (
                  <option key={a.id} value={a.id}>
                    {adapterOptionLabel(a)}
                  </option>
                ))}
              </select>
              {chosen && (
                <span className="hint" id={ids.origin} data-testid="compare-adapter-origin">
                  {describeOrigin(chosen.origin)}
                </span>
              )}
            </div>
            <MaxTokensField id={ids.max} label="Max new tokens" value={maxTokens} max={1024} testId="compare-max-tokens" onChange={setMaxTokens} />
            <div className="field field--check">
              <input id={ids.chat} type="checkbox" checked={chat} data-testid="compare-chat" onChange={(event) => setChat(event.target.checked)} />
              <label htmlFor={ids.chat}>Chat format (the prompt as a user message)</label>
            </div>
          </div>
          <div className="button-row">
            <button ref={runButton} type="submit" className="button button--primary" data-testid="compare-run" disabled={!ready || running || prompt.trim() === ''}>
              Run
            </button>
            <button type="button" className="button" data-testid="compare-stop" disabled={!running} onClick={stop}>
              Stop
            </button>
            {!ready && <span className="hint">Load the model first.</span>}
          </div>
        </form>
      </section>
      <div className="compare-answers">
        <Answer title="Base model" side={base} testId="answer-base" focusRef={baseAnswer} />
        <Answer title={chosen ? `With ${chosen.name}` : 'With an adapter'} side={adapted} testId="answer-adapted" note={chosen ? undefined : 'Choose an adapter (import one on the Adapters tab) to compare.'} />
      </div>
      <p className="hint">
        Greedy decoding, base first, then adapted: the engine runs one generation at a time. Adapters generated on the
        Generate tab are listed here too.
      </p>
    </div>
  );
}

interface AnswerProps {
  title: string;
  side: Side;
  testId: string;
  note?: string;
  /** Set on the answer that takes focus when Run is pressed (it is focusable from script only). */
  focusRef?: RefObject<HTMLElement | null>;
}

function Answer({ title, side, testId, note, focusRef }: AnswerProps) {
  const r = side.result;
  return (
    <section ref={focusRef} tabIndex={focusRef ? -1 : undefined} className="card answer" aria-label={title} data-testid={testId} data-state={side.state}>
      <h3>{title}</h3>
      {note && side.state === 'waiting' && <p className="hint">{note}</p>}
      <pre className="answer__text" data-testid={`${testId}-text`}>
        {shownText(side.stream)}
        {side.state === 'running' && <span className="answer__cursor" aria-hidden="true">▍</span>}
      </pre>
      {side.error && (
        <p role="alert" className="inline-alert" data-testid={`${testId}-error`}>
          {side.error.message}
        </p>
      )}
      {/* Only the short status is announced, not every streamed token. */}
      <p className="hint" role="status" data-testid={`${testId}-stats`}>
        {side.state === 'running' && 'Generating…'}
        {side.state === 'stopped' && 'Stopped.'}
        {r && side.state === 'done' && `${r.ids.length} tokens, ${r.tokensPerSecond.toFixed(1)} tokens/s (${r.backend}), stopped by ${r.stopReason}.`}
        {r && side.state === 'stopped' && ` ${r.ids.length} tokens, ${r.tokensPerSecond.toFixed(1)} tokens/s.`}
      </p>
    </section>
  );
}
