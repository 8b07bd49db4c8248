import { useEffect } from 'react';
import type { ModelStatus } from '../../store/engine';
import { refreshKeptAdapters, useKeptAdapters } from '../../store/savedAdapters';
import { describeOrigin, formatBytes } from './format';

/**
 * The adapters kept in this browser (IndexedDB) while none is in the engine: before the model has
 * loaded, and while a load imports them again. A reload then shows they are still here.
 */
export function KeptAdapterList({ status, restoreFailed }: { status: ModelStatus; restoreFailed: boolean }) {
  const kept = useKeptAdapters((s) => s.kept);
  const error = useKeptAdapters((s) => s.error);
  const ready = status === 'ready';

  useEffect(() => {
    void refreshKeptAdapters();
  }, [status]);

  if (!kept || kept.length === 0) {
    return (
      <>
        <p data-testid="no-adapters">
          {ready
            ? 'No adapters yet. Import one above.'
            : status === 'loading'
              ? 'None yet: no adapter is kept in this browser. Once the model has loaded, import one above or generate one.'
              : 'None yet: the model is not loaded, and no adapter is kept in this browser.'}
        </p>
        {error && <p className="inline-alert" role="alert">{error}</p>}
      </>
    );
  }
  const count = kept.length === 1 ? '1 adapter is' : `${kept.length} adapters are`;
  const when =
    status === 'loading' ? 'imported again as soon as the model has loaded'
    : !ready ? 'imported again when the model loads'
    : restoreFailed ? 'not all could be imported again (see above)'
    : 'being imported again';
  return (
    <>
      <p data-testid="kept-adapters-note">
        {count} kept in this browser, {when}.
      </p>
      <table className="adapter-table" data-testid="kept-adapter-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Source</th>
            <th scope="col">Kept (PEFT zip)</th>
          </tr>
        </thead>
        <tbody>
          {kept.map((a) => (
            <tr key={a.key} data-testid="kept-adapter-row">
              <th scope="row">
                <span data-testid="kept-adapter-name">{a.name}</span>
              </th>
              <td data-label="Source">{describeOrigin(a.origin)}</td>
              <td data-label="Kept (PEFT zip)">{formatBytes(a.zipBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
