import { useEffect, useRef, useState } from 'react';
import { exportAdapter, useEngine } from '../../store/engine';
import { renameResult, useGeneration } from '../../store/generation';
import { useNavigation } from '../../store/navigation';
import { AdapterInspector } from '../inspect/AdapterInspector';
import { RenameField } from '../model/RenameField';
import { runTimeText } from './blockText';
import { GateLine } from './GateLine';
import { ModeLine } from './ModeLine';

/**
 * After a successful run: what was made, its name (renamable here and on the Adapters tab),
 * Compare, Download, and where the inspector goes. When it appears, it takes focus and scrolls
 * into view (the Generate button that started the run was disabled meanwhile), so keyboard and
 * screen-reader users land on the result; the status line announces it.
 */
export function GeneratedResult() {
  const adapter = useGeneration((s) => s.adapter);
  const timing = useGeneration((s) => s.timing);
  const saveError = useGeneration((s) => s.saveError);
  const renameError = useGeneration((s) => s.renameError);
  const promptSetName = useGeneration((s) => s.promptSetName);
  const repeated = useGeneration((s) => s.repeated);
  const promptCount = useGeneration((s) => s.generatorInfo?.promptCount ?? 8);
  // The registry's row: gone when the adapter was removed on the Adapters tab.
  const row = useEngine((s) => s.adapters.find((a) => a.id === adapter?.id));
  const compareWith = useNavigation((s) => s.compareWith);
  const [inspecting, setInspecting] = useState(false);
  const inspectButton = useRef<HTMLButtonElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const rowShown = row !== undefined;
  useEffect(() => {
    // Only while the Generate tab is open: a run finishing behind another tab must not pull focus.
    if (!rowShown || useNavigation.getState().section !== 'generate') return;
    heading.current?.focus({ preventScroll: true });
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    heading.current?.closest('section')?.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
  }, [adapter?.id, rowShown]);
  if (!adapter) return null;
  if (!row) {
    return (
      <section className="card" data-testid="generated-result" data-state="removed">
        <p>The adapter generated from {promptSetName} is no longer loaded (removed, or the model was loaded again: saved adapters are on the Adapters tab).</p>
      </section>
    );
  }
  return (
    <section className="card generated" aria-labelledby="generated-heading" data-testid="generated-result" data-adapter-id={row.id}>
      <h3 id="generated-heading" ref={heading} tabIndex={-1} data-testid="generated-heading">
        Adapter ready: {row.name}
      </h3>
      <p data-testid="generated-summary">
        Generated from {promptSetName}
        {repeated > 0 ? ` (with ${repeated} repeated ${repeated === 1 ? 'prompt' : 'prompts'} to make up the batch)` : ''}
        {/* the same figures, named the same way, as the status line above */}
        {timing ? `: ${runTimeText(timing)}` : ''}. Rank {row.rank}, {row.targetModules.length} modules in every layer,{' '}
        {row.parameters.toLocaleString('en')} parameters. It is listed on the Adapters tab, chosen on the Compare tab, and kept in this
        browser for your next visit.
      </p>
      <ModeLine adapter={adapter} promptCount={promptCount} setName={promptSetName} />
      {adapter.mode !== 'examples' && <GateLine gate={adapter.gate} />}
      <RenameField name={row.name} label="Rename this adapter" testId="generated-rename" onRename={renameResult} error={renameError?.message ?? null} />
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
