import { useId, useMemo, useState } from 'react';
import { sampleBatch } from '../../prompts/summary';
import type { PromptRecord } from '../../prompts/types';
import { useNotices } from '../../store/notices';
import { usePromptSets, type PromptSet } from '../../store/promptSets';
import { clampSampleSize, MAX_SAMPLE_SIZE, useSettings } from '../../store/settings';
import { plural } from './format';
import { PromptText } from './PromptText';

/** The P prompts that will feed the generator, drawn with the set's seed; "Re-sample" draws again. */
export function SampledPrompts({ promptSet }: { promptSet: PromptSet }) {
  const sampleSize = useSettings((state) => state.sampleSize);
  const resample = usePromptSets((state) => state.resample);
  const records = promptSet.result.records;
  // O(P) even for 100k records (partial Fisher-Yates), so it is cheap on the UI thread. A set
  // shorter than P is filled by sampling with replacement, as the Generate tab does.
  const sample = useMemo(() => sampleBatch(records, sampleSize, promptSet.sampleSeed), [records, sampleSize, promptSet.sampleSeed]);
  const headingId = useId();
  const everyPrompt = sampleSize >= records.length;
  const firstRepeat = sample.records.length - sample.repeated;

  return (
    <section className="sample" aria-labelledby={headingId} data-testid="sampled-prompts">
      <h3 id={headingId}>Prompts for the generator</h3>
      <p className="hint">
        {!everyPrompt && `A random ${sampleSize} of the ${records.length.toLocaleString('en')} prompts (P = ${sampleSize}) will condition the generator. `}
        {everyPrompt && sample.repeated === 0 && `${records.length === 1 ? 'The one prompt is' : `All ${records.length} prompts are`} used (P = ${sampleSize}). `}
        This is the batch the Generate tab uses.
      </p>
      {sample.repeated > 0 && (
        <p className="inline-note" role="note" data-testid="sample-short-set">
          This set has {records.length} {records.length === 1 ? 'prompt' : 'prompts'}, fewer than P = {sampleSize}: all are used, and the other{' '}
          {sample.repeated} {sample.repeated === 1 ? 'is a repeat' : 'are repeats'} drawn at random from them (sampling with replacement), marked
          “repeat” below. Add prompts to this set (“Add new prompts to” above) or merge sets to have fewer repeats.
        </p>
      )}
      <div className="sample__controls">
        <SampleSizeField />
        <button
          type="button"
          className="button"
          data-testid="resample"
          disabled={everyPrompt && sample.repeated === 0}
          onClick={() => {
            resample(promptSet.id);
            const seed = usePromptSets.getState().sets.find((s) => s.id === promptSet.id)?.sampleSeed;
            useNotices.getState().announce(`Drew a new sample of ${plural(sampleSize, 'prompt')} (seed ${seed}).`);
          }}
        >
          Re-sample
        </button>
        <span className="muted" data-testid="sample-seed">
          Seed {promptSet.sampleSeed}
        </span>
      </div>
      <ol className="prompt-list" data-testid="sample-list">
        {sample.records.map((record, position) => (
          <li key={`${position}:${sample.indices[position]}`} className="prompt-list__item" data-testid="sample-item">
            <div className="sample__row">
              <PromptText text={record.prompt} />
              {position >= firstRepeat ? <span className="prompt-list__where">repeat</span> : <SourcePosition source={record.source} />}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

function SourcePosition({ source }: { source: PromptRecord['source'] }) {
  const where = source.line !== undefined ? `line ${source.line}` : source.item !== undefined ? `item ${source.item}` : null;
  return where ? <span className="prompt-list__where">{where}</span> : null;
}

/** P, the number of prompts per generator batch. Applied on blur or Enter so typing "16" does not flash "1". */
function SampleSizeField() {
  const sampleSize = useSettings((state) => state.sampleSize);
  const setSampleSize = useSettings((state) => state.setSampleSize);
  const [draft, setDraft] = useState<string | null>(null);
  const id = useId();
  const commit = () => {
    if (draft === null) return;
    const value = Number(draft);
    if (draft.trim() !== '' && Number.isFinite(value)) setSampleSize(clampSampleSize(value));
    setDraft(null);
  };
  return (
    <div className="field field--inline">
      <label htmlFor={id} className="field-label">
        Prompts per batch (P)
      </label>
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={1}
        max={MAX_SAMPLE_SIZE}
        value={draft ?? String(sampleSize)}
        data-testid="sample-size"
        onChange={(event) => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === 'Enter') commit();
        }}
      />
    </div>
  );
}
