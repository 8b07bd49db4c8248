import { useEffect } from 'react';
import { clearModelStorage, refreshModelStorage, useModelStorage } from '../../store/modelStorage';
import type { LoadSummary } from '../../worker/engineClient';
import { formatBytes } from './format';

/**
 * Where the model files came from in this load (downloaded, or this browser's storage with nothing
 * downloaded) and what the browser keeps for the next visit, with "Clear downloaded models". How many
 * bytes came over the network is the loader's measured line (DownloadSize), not repeated here.
 */
export function ModelStorage({ load }: { load: LoadSummary | null }) {
  const usage = useModelStorage((s) => s.usage);
  const clearing = useModelStorage((s) => s.clearing);
  const cleared = useModelStorage((s) => s.cleared);
  const error = useModelStorage((s) => s.error);

  useEffect(() => {
    void refreshModelStorage();
  }, [load]);

  return (
    <div className="model-storage" data-testid="model-storage">
      {load && (
        <p className="hint" data-testid="model-source" data-source={load.networkBytes === 0 ? 'cache' : load.cachedBytes === 0 ? 'network' : 'mixed'}>
          {load.networkBytes === 0
            ? `Model files loaded from this browser's storage: none downloaded (${formatBytes(load.cachedBytes)} kept here).`
            : load.cachedBytes === 0
              ? `Model files downloaded${load.keptBytes > 0 ? ' and kept in this browser for the next visit' : ''}.`
              : `Some model files came from this browser's storage (${formatBytes(load.cachedBytes)}), the others were downloaded${load.keptBytes > 0 ? ' and kept for the next visit' : ''}.`}
        </p>
      )}
      {load?.notes.map((note) => (
        <p key={note} className="model-loader__notice" data-testid="model-storage-note">{note}</p>
      ))}
      {usage && usage.files > 0 && (
        <p className="model-storage__row">
          <span className="hint" data-testid="model-storage-usage">{formatBytes(usage.bytes)} of models kept in this browser.</span>{' '}
          <button type="button" className="button" data-testid="clear-models" disabled={clearing} onClick={() => void clearModelStorage()}>
            {clearing ? 'Clearing…' : 'Clear downloaded models'}
          </button>
        </p>
      )}
      {cleared && usage?.files === 0 && (
        <p className="hint" role="status" data-testid="models-cleared">
          Removed {formatBytes(cleared.bytes)} of downloaded models; the next load downloads them again.
        </p>
      )}
      {error && <p role="alert" className="inline-alert">{error}</p>}
    </div>
  );
}
