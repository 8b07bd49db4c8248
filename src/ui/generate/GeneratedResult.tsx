import { useRef, useState } from 'react';
import { exportAdapter, useEngine } from '../../store/engine';
import { useGeneration } from '../../store/generation';
import { useNavigation } from '../../store/navigation';
import { AdapterInspector } from '../inspect/AdapterInspector';
import { formatMs } from './blockText';

/** After a successful run: what was made, Compare, Download, and where the inspector goes. */
export function GeneratedResult() {
  const adapter = useGeneration((s) => s.adapter);
  const totalMs = useGeneration((s) => s.totalMs);
  const saveError = useGeneration((s) => s.saveError);
  const promptSetName = useGeneration((s) => s.promptSetName);
  // The registry's row: gone when the adapter was removed on the Adapters tab.
  const row = useEngine((s) => s.adapters.find((a) => a.id === adapter?.id));
  const compareWith = useNavigation((s) => s.compareWith);
  const [inspecting, setInspecting] = useState(false);
  const inspectButton = useRef<HTMLButtonElement>(null);
  if (!adapter) return null;
  if (!row) {
    return (
      <section className="card" data-testid="generated-result" data-state="removed">
        <p>The adapter generated from {promptSetName} was removed.</p>
      </section>
    );
  }
  return (
    <section className="card generated" aria-labelledby="generated-heading" data-testid="generated-result" data-adapter-id={row.id}>
      <h3 id="generated-heading">Adapter ready: {row.name}</h3>
      <p>
        Generated from {promptSetName} in {totalMs !== null ? formatMs(totalMs) : '—'}: rank {row.rank}, {row.targetModules.length} modules
        in every layer, {row.parameters.toLocaleString('en')} parameters. It is listed on the Adapters tab (source “generated”), chosen on the
        Compare tab, and kept in this browser for your next visit.
      </p>
      {saveError && (
        <p role="alert" className="inline-alert" data-testid="generated-save-error">
          It works now but could not be saved for the next visit: {saveError.message}
        </p>
      )}
      <div className="button-row">
        <button type="button" className="button button--primary" data-testid="generated-compare" onClick={() => compareWith(row.id)}>
          Compare
        </button>
        <button type="button" className="button" data-testid="generated-download" onClick={() => void exportAdapter(row)}>
          Download (PEFT zip)
        </button>
        <button
          ref={inspectButton}
          type="button"
          className="button"
          data-testid="generated-inspect"
          aria-expanded={inspecting}
          onClick={() => setInspecting((on) => !on)}
        >
          Inspect
        </button>
      </div>
      {/* The adapter inspector (src/ui/inspect/): norms, A/B/dW heatmaps, similarity. */}
      {inspecting && (
        <AdapterInspector
          adapterId={row.id}
          focusOnOpen
          onClose={() => {
            setInspecting(false);
            inspectButton.current?.focus();
          }}
        />
      )}
    </section>
  );
}
