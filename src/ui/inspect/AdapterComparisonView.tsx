import { WideTable } from '../WideTable';
import { useId, useState } from 'react';
import { getEngineClient, type AdapterRow } from '../../store/engine';
import type { AdapterComparison, Similarity } from '../../worker/engineClient';
import { formatCosine } from './format';
import { adapterOptionLabel } from '../model/format';
import { useEngineQuery } from './useEngineQuery';

interface AdapterComparisonViewProps {
  adapter: AdapterRow;
  /** Every adapter in the registry (the inspected one is left out of the choices). */
  adapters: readonly AdapterRow[];
}

/** "Compare with a trained LoRA": cosine similarity of the two weight changes per layer and per module. */
export function AdapterComparisonView({ adapter, adapters }: AdapterComparisonViewProps) {
  const others = adapters.filter((a) => a.id !== adapter.id);
  const [chosen, setChosen] = useState('');
  const selectId = useId();
  const headingId = useId();
  // a chosen adapter that was removed since is no choice any more
  const otherId = others.some((a) => a.id === chosen) ? chosen : '';
  const query = useEngineQuery<AdapterComparison>(otherId ? `${adapter.id}|${otherId}` : null, () => getEngineClient().compareAdapters(adapter.id, otherId));

  return (
    <section className="inspect-section" aria-labelledby={headingId} data-testid="adapter-compare">
      <h4 id={headingId}>Compare with another LoRA</h4>
      <p className="hint">
        Cosine similarity of the two weight changes ΔW: 1 means they point the same way (one is a positive multiple of the other,
        whatever their sizes), 0 means unrelated (orthogonal) changes, −1 means exactly opposite changes.
      </p>
      {adapter.source === 'generated' && (
        <p className="hint" data-testid="compare-generated-note">
          A generated LoRA is a shared multi-task LoRA plus a prompt-dependent part (docs/zero-shot.md), so it resembles every trained
          LoRA somewhat: a high similarity to one of them does not by itself mean the prompts asked for that task.
        </p>
      )}
      {others.length === 0 ? (
        <p className="inspect-empty" data-testid="compare-empty">
          There is no other adapter to compare with. Import a trained LoRA (a PEFT .zip with adapter_config.json and
          adapter_model.safetensors) under “Import a LoRA adapter” on the Adapters tab, or generate another one; it will be listed here.
        </p>
      ) : (
        <div className="inspect-controls">
          <div className="field">
            <label className="field-label" htmlFor={selectId}>Compare {adapter.name} with</label>
            <select id={selectId} value={otherId} data-testid="compare-with" onChange={(e) => setChosen(e.target.value)}>
              <option value="">Choose an adapter…</option>
              {others.map((a) => (
                <option key={a.id} value={a.id}>
                  {adapterOptionLabel(a)}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      <div aria-live="polite" className="inspect-status">
        {(query.state === 'loading' || (query.state === 'done' && query.stale)) && <p className="hint">Comparing…</p>}
        {query.state === 'error' && (
          <p role="alert" className="inline-alert" data-testid="compare-error" data-code={query.error.code}>
            {query.error.message}
          </p>
        )}
        {query.state === 'done' && !query.stale && (
          <p data-testid="compare-overall" data-value={query.value.overall.value ?? ''}>
            All layers together: <strong>{query.value.overall.value === null ? 'no similarity' : formatCosine(query.value.overall.value)}</strong>
            {query.value.overall.value === null ? ` (${query.value.overall.reason})` : ''}
          </p>
        )}
      </div>
      {query.state === 'done' && !query.stale && <ComparisonResult comparison={query.value} />}
    </section>
  );
}

function ComparisonResult({ comparison }: { comparison: AdapterComparison }) {
  const naCount = comparison.modules.filter((m) => m.similarity.value === null).length;
  // one line per reason and module, with the layers it applies to (the engine's reason names the layer)
  const byReason = new Map<string, number[]>();
  for (const m of comparison.modules) {
    if (m.similarity.value !== null) continue;
    const reason = m.similarity.reason.replace(`layer ${m.layer} `, '');
    byReason.set(reason, [...(byReason.get(reason) ?? []), m.layer]);
  }
  const reasons = [...byReason];
  return (
    <div className="compare-result" data-testid="compare-result" data-second-id={comparison.second.id}>
      <h5>Per layer (all modules of the layer as one vector)</h5>
      <ul className="similarity-bars" data-testid="similarity-layers">
        {comparison.layers.map(({ layer, similarity }) => (
          <li key={layer} className="similarity-bars__row" data-testid="similarity-layer" data-layer={layer} data-value={similarity.value ?? ''}>
            <span className="similarity-bars__label">Layer {layer}</span>
            <SimilarityBar similarity={similarity} />
            <span className="similarity-bars__value" data-testid="similarity-layer-value">
              {similarity.value === null ? 'n/a' : formatCosine(similarity.value)}
            </span>
            {similarity.value === null && <span className="similarity-bars__reason">{similarity.reason}</span>}
          </li>
        ))}
      </ul>
      <h5>Per module</h5>
      <WideTable label="Similarity per layer and module">
        <table className="inspect-table inspect-table--grid" data-testid="similarity-modules">
          <caption className="visually-hidden">
            Cosine similarity of {comparison.first.name} and {comparison.second.name} per layer and module
          </caption>
          <thead>
            <tr>
              <th scope="col">Layer</th>
              {comparison.targets.map((m) => (
                <th key={m} scope="col">{m}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {Array.from({ length: comparison.layerCount }, (_, layer) => (
              <tr key={layer}>
                <th scope="row">{layer}</th>
                {comparison.targets.map((module) => {
                  const s = comparison.modules.find((m) => m.layer === layer && m.module === module)?.similarity;
                  return (
                    <td key={module} data-testid="similarity-module" data-layer={layer} data-module={module} data-value={s?.value ?? ''} title={s?.value === null ? s.reason : undefined}>
                      {s === undefined || s.value === null ? 'n/a' : formatCosine(s.value)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </WideTable>
      {reasons.length > 0 && (
        <div className="hint" data-testid="similarity-reasons">
          <p>
            n/a ({naCount} of {comparison.modules.length} modules): a change of size zero has no direction, so there is no similarity
            there:
          </p>
          <ul>
            {reasons.map(([reason, layers]) => (
              <li key={reason}>
                {reason} (layer{layers.length > 1 ? 's' : ''} {layers.join(', ')})
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** A bar from the centre (0) to the left (−1) or right (+1); the number beside it carries the value. */
function SimilarityBar({ similarity }: { similarity: Similarity }) {
  const v = similarity.value;
  const width = v === null ? 0 : Math.abs(v) * 50;
  return (
    <span className="similarity-bars__track" aria-hidden="true">
      <span className="similarity-bars__zero" />
      {v !== null && (
        <span
          className={`similarity-bars__fill${v < 0 ? ' similarity-bars__fill--negative' : ''}`}
          style={{ left: v < 0 ? `${50 - width}%` : '50%', width: `${width}%` }}
        />
      )}
    </span>
  );
}
