import { useEffect, useId, useRef } from 'react';
import { getEngineClient, useEngine } from '../../store/engine';
import type { AdapterDetails } from '../../worker/engineClient';
import { AdapterComparisonView } from './AdapterComparisonView';
import { MatrixHeatmaps } from './MatrixHeatmaps';
import { NormChart } from './NormChart';
import { formatNorm } from './format';
import { useEngineQuery } from './useEngineQuery';
import './inspect.css';

export interface AdapterInspectorProps {
  /** An adapter id from the engine's registry. */
  adapterId: string;
  /** Shows a Close button when given. */
  onClose?: () => void;
  /** Moves keyboard focus to the inspector's heading when it opens (e.g. after pressing Inspect). */
  focusOnOpen?: boolean;
}

/**
 * "See it happen": what a LoRA changes in the base model, without running it. The norm of each
 * layer's and module's weight change, heatmaps of A, B and ΔW of one module, and the cosine
 * similarity with another adapter (e.g. a trained LoRA imported on the Adapters tab). All numbers
 * come from the worker (Engine.adapterDetails / adapterMatrices / compareAdapters).
 */
export function AdapterInspector(props: AdapterInspectorProps) {
  // a fresh panel per adapter: no selection or answer of the previous one carries over
  return <InspectorPanel key={props.adapterId} {...props} />;
}

function InspectorPanel({ adapterId, onClose, focusOnOpen = false }: AdapterInspectorProps) {
  const status = useEngine((s) => s.status);
  const adapters = useEngine((s) => s.adapters);
  const headingId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const row = adapters.find((a) => a.id === adapterId);
  // Asked again when the adapter list changes (a rename, or a removal that makes the id unknown).
  const listKey = adapters.map((a) => `${a.id}:${a.name}`).join(',');
  const query = useEngineQuery<AdapterDetails>(status === 'ready' ? `${adapterId}|${listKey}` : null, () => getEngineClient().adapterDetails(adapterId));

  useEffect(() => {
    if (focusOnOpen) headingRef.current?.focus();
  }, [focusOnOpen, adapterId]);

  const name = row?.name ?? (query.state === 'done' ? query.value.name : adapterId);
  return (
    <section className="card adapter-inspector" aria-labelledby={headingId} data-testid="adapter-inspector" data-adapter-id={adapterId}>
      <div className="adapter-inspector__header">
        <h3 id={headingId} ref={headingRef} tabIndex={-1}>
          Inspect {name}
        </h3>
        {onClose && (
          <button type="button" className="button button--quiet" data-testid="inspector-close" onClick={onClose}>
            Close
          </button>
        )}
      </div>
      {status !== 'ready' ? (
        <p className="inspect-empty" data-testid="inspector-not-ready">Load the model to inspect adapters.</p>
      ) : query.state === 'error' ? (
        <p role="alert" className="inline-alert" data-testid="inspector-error" data-code={query.error.code}>
          {query.error.message}
        </p>
      ) : query.state !== 'done' || !row ? (
        <p className="hint" aria-live="polite">Reading the adapter…</p>
      ) : (
        <InspectorBody details={query.value} />
      )}
      {status === 'ready' && row && query.state === 'done' && <AdapterComparisonView adapter={row} adapters={adapters} />}
    </section>
  );
}

function InspectorBody({ details }: { details: AdapterDetails }) {
  const chartHeadingId = useId();
  const adapted = details.norms.filter((n) => n.present).length;
  return (
    <>
      <p className="inspect-summary" data-testid="inspector-summary">
        {details.source === 'generated' ? 'Generated' : 'Imported'} LoRA, rank {details.rank}, lora_alpha {formatNorm(details.alpha)}, so
        ΔW = {formatNorm(details.scale)} · B·A. It changes {adapted} of the {details.layers * details.modules.length} modules
        ({details.layers} layers x {details.modules.length} target modules).
      </p>
      <section className="inspect-section" aria-labelledby={chartHeadingId}>
        <h4 id={chartHeadingId}>How much each layer and module changes</h4>
        <NormChart layers={details.layers} modules={details.modules} norms={details.norms} />
      </section>
      <MatrixHeatmaps adapterId={details.id} adapterName={details.name} layers={details.layers} modules={details.modules} norms={details.norms} />
    </>
  );
}
