import { useId, useRef, useState, type ChangeEvent } from 'react';
import { dismissAdapterError, exportAdapter, importAdapterFile, removeAdapter, renameAdapter, useEngine, type AdapterRow } from '../../store/engine';
import { describeOrigin, formatBytes } from './format';
import { KeptAdapterList } from './KeptAdapterList';
import { ModelLoader } from './ModelLoader';
import { RenameField } from './RenameField';
import { AdapterInspector } from '../inspect/AdapterInspector';

/** Import PEFT adapters, list them with where each came from, rename, download as PEFT zips, remove. */
export function AdaptersScreen() {
  const status = useEngine((s) => s.status);
  const adapters = useEngine((s) => s.adapters);
  const error = useEngine((s) => s.adapterError);
  const restoreErrors = useEngine((s) => s.restoreErrors);
  const busy = useEngine((s) => s.adapterBusy);
  const inputId = useId();
  const ready = status === 'ready';
  const [inspecting, setInspecting] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const renameButtons = useRef(new Map<string, HTMLButtonElement>());
  const inspectButtons = useRef(new Map<string, HTMLButtonElement>());
  // an adapter that was removed (or lost with the engine) is no longer inspected
  const inspected = adapters.some((a) => a.id === inspecting) ? inspecting : null;
  const closeInspector = () => {
    if (inspected) inspectButtons.current.get(inspected)?.focus();
    setInspecting(null);
  };

  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.target.files ?? []);
    event.target.value = '';
    void (async () => {
      for (const file of files) await importAdapterFile(file);
    })();
  };

  return (
    <div className="model-screen" data-testid="adapters-screen">
      <h2>Adapters</h2>
      <ModelLoader />
      <section className="card" aria-labelledby="import-adapter-heading">
        <h3 id="import-adapter-heading">Import a LoRA adapter</h3>
        <p className="hint">
          A PEFT adapter as a .zip holding adapter_config.json and adapter_model.safetensors, trained for this base
          model. {ready ? 'You can also drop the .zip anywhere on this page while this tab is open.' : 'Load the model first.'}
        </p>
        <div className="file-picker">
          <input
            id={inputId}
            type="file"
            accept=".zip,application/zip"
            multiple
            disabled={!ready || busy}
            className="visually-hidden file-picker__input"
            data-testid="adapter-file-input"
            onChange={onChange}
          />
          <label htmlFor={inputId} className={`button button--primary${!ready || busy ? ' button--disabled' : ''}`} data-testid="choose-adapter">
            {busy ? 'Importing…' : 'Choose adapter .zip…'}
          </label>
        </div>
        {error && (
          <div role="alert" className="inline-alert" data-testid="adapter-error" data-code={error.code}>
            <p>
              <strong>{error.file ? `${error.file} was not imported.` : 'That did not work.'}</strong> {error.message}
            </p>
            <button type="button" className="button button--quiet" onClick={dismissAdapterError}>
              Dismiss
            </button>
          </div>
        )}
        {restoreErrors.length > 0 && (
          <div role="alert" className="inline-alert" data-testid="adapter-restore-errors">
            <p>
              <strong>Some saved adapters could not be imported again:</strong>
            </p>
            <ul>
              {restoreErrors.map((e) => (
                <li key={e}>{e}</li>
              ))}
            </ul>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="adapter-list-heading">
        <h3 id="adapter-list-heading">{ready ? 'Loaded adapters' : 'Your adapters'}</h3>
        {adapters.length === 0 ? (
          <KeptAdapterList status={status} restoreFailed={restoreErrors.length > 0} />
        ) : (
          <table className="adapter-table" data-testid="adapter-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Source</th>
                <th scope="col">Rank</th>
                <th scope="col">Size (float32)</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {adapters.map((a) => (
                <tr key={a.id} data-testid="adapter-row" data-adapter-id={a.id}>
                  <th scope="row">
                    {renaming === a.id ? (
                      <AdapterRename
                        adapter={a}
                        onDone={() => {
                          setRenaming(null);
                          requestAnimationFrame(() => renameButtons.current.get(a.id)?.focus());
                        }}
                      />
                    ) : (
                      <span data-testid="adapter-name">{a.name}</span>
                    )}
                  </th>
                  <td data-testid="adapter-source" data-source={a.origin.kind} data-label="Source">
                    {describeOrigin(a.origin)}
                  </td>
                  <td data-label="Rank">{a.rank}</td>
                  <td data-label="Size (float32)">{formatBytes(a.bytes)}</td>
                  <td className="adapter-table__actions">
                    <div className="adapter-table__buttons">
                      <button
                        type="button"
                        className="button"
                        data-testid="rename-adapter"
                        aria-label={`Rename ${a.name}`}
                        aria-expanded={renaming === a.id}
                        ref={keepIn(renameButtons.current, a.id)}
                        onClick={() => setRenaming(renaming === a.id ? null : a.id)}
                      >
                        Rename
                      </button>
                      <button
                        type="button"
                        className="button"
                        data-testid="inspect-adapter"
                        aria-expanded={inspected === a.id}
                        aria-label={`Inspect ${a.name}: norms, heatmaps, similarity`}
                        ref={keepIn(inspectButtons.current, a.id)}
                        onClick={() => setInspecting(inspected === a.id ? null : a.id)}
                      >
                        Inspect
                      </button>
                      <button type="button" className="button" data-testid="export-adapter" aria-label={`Download ${a.name} as a PEFT zip`} onClick={() => void exportAdapter(a)}>
                        Download
                      </button>
                      <button type="button" className="button button--quiet" data-testid="remove-adapter" aria-label={`Remove ${a.name}`} onClick={() => void removeAdapter(a.id)}>
                        Remove
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="hint adapter-note">
          Imported and generated adapters are kept in this browser and imported again when the model is next loaded;
          Remove deletes the saved copy too. Generate new ones from your prompts on the Generate tab.
        </p>
      </section>
      {inspected && <AdapterInspector adapterId={inspected} onClose={closeInspector} focusOnOpen />}
    </div>
  );
}

/** A ref callback keeping a row's button in `map` (to give focus back to it), forgetting it on unmount. */
function keepIn(map: Map<string, HTMLButtonElement>, id: string): (element: HTMLButtonElement | null) => void {
  return (element) => {
    if (element) map.set(id, element);
    else map.delete(id);
  };
}

/** The name cell while renaming: Enter renames (engine and saved copy), Escape keeps the name. */
function AdapterRename({ adapter, onDone }: { adapter: AdapterRow; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <RenameField
      name={adapter.name}
      label={`New name for ${adapter.name}`}
      testId="adapter-rename"
      autoFocus
      hideLabel
      error={error}
      onDone={onDone}
      onRename={async (name) => {
        const failure = await renameAdapter(adapter.id, name);
        setError(failure?.message ?? null);
        return failure === null;
      }}
    />
  );
}
