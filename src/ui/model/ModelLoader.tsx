import { useRef } from 'react';
import { lastFullDownload, useDownloads } from '../../store/downloads';
import { downloadSize, loadModel, useEngine } from '../../store/engine';
import { useModelAutoLoad } from '../../store/modelAutoLoad';
import { BackendPicker } from './BackendPicker';
import { DownloadSize, describeKinds } from './DownloadSize';
import { formatBytes } from './format';
import { ModelStorage } from './ModelStorage';

/**
 * "Load model" with the backend choice, byte progress and the measured download size (what the
 * browser measured, never a figure written here), the backend notice once loaded, and a readable
 * error with Retry.
 *
 * Load, Try again and Load again are replaced by what they start, so the card itself takes focus
 * when one is pressed: keyboard focus stays on the model's card (whose status line is announced)
 * while it loads and once it is ready, instead of falling to the top of the page.
 */
export function ModelLoader() {
  const status = useEngine((s) => s.status);
  const progress = useEngine((s) => s.progress);
  const info = useEngine((s) => s.info);
  const error = useEngine((s) => s.loadError);
  const bytes = useEngine((s) => s.bytes);
  const fetched = useEngine((s) => s.fetched);
  const size = downloadSize(fetched);
  const card = useRef<HTMLElement>(null);
  const load = () => {
    card.current?.focus({ preventScroll: true });
    void loadModel();
  };
  const autoLoad = useModelAutoLoad((s) => s.started);
  const downloaded = useDownloads((s) => s.tally);

  return (
    <section ref={card} tabIndex={-1} className="card model-loader" aria-label="Base model" data-testid="model-loader" data-status={status}>
      {status === 'idle' && (
        <>
          <p data-testid="model-size-note">{idleSizeNote()}</p>
          <BackendPicker onLoad={load} />
          <button type="button" className="button button--primary" data-testid="load-model" onClick={load}>
            Load model
          </button>
          <ModelStorage load={null} />
        </>
      )}
      {status === 'loading' && (
        <div data-testid="model-progress">
          {autoLoad && (
            <p data-testid="model-autoload">
              <strong>Loading the model kept in this browser</strong>: its files are read from this browser&apos;s storage, nothing to download.
            </p>
          )}
          <p aria-live="polite">{progress?.message ?? 'Starting the model worker…'}</p>
          {bytes && bytes.total > 0 ? (
            <progress className="model-loader__bar" max={bytes.total} value={bytes.loaded} aria-label={`Downloading ${fileName(bytes.file)}`} />
          ) : (
            <progress className="model-loader__bar" aria-label="Loading the model" />
          )}
          {bytes && (
            <p className="hint" data-testid="model-bytes">
              {fileName(bytes.file)}: {bytes.cached ? `${formatBytes(bytes.loaded)}, read from this browser's storage` : formatBytes(bytes.loaded)}
              {!bytes.cached && bytes.total > 0 && ` of ${formatBytes(bytes.total)}`}
              {size.files > 1 && ` (model files so far: ${size.files}, ${formatBytes(size.bytes)})`}
            </p>
          )}
        </div>
      )}
      {status === 'ready' && info && (
        <div data-testid="model-ready">
          <p>
            <strong>Model loaded</strong> on <span data-testid="model-backend">{info.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}</span> in{' '}
            {(info.initMs / 1000).toFixed(1)} s.
          </p>
          {downloaded && <DownloadSize tally={downloaded} />}
          {info.notice && (
            <p className="model-loader__notice" data-testid="model-notice">
              {info.notice}
            </p>
          )}
          <ModelStorage load={info.loadedFiles} />
          <BackendPicker compact onLoad={load} />
        </div>
      )}
      {status === 'error' && error && (
        <>
          <div role="alert" className="inline-alert" data-testid="model-error" data-code={error.code}>
            <p>
              <strong>{error.code === 'worker-crashed' ? 'Model worker crashed.' : 'The model did not load.'}</strong> {error.message}
            </p>
            <button type="button" className="button" data-testid="retry-load-model" onClick={load}>
              Try again
            </button>
          </div>
          <BackendPicker onLoad={load} />
        </>
      )}
    </section>
  );
}

/** Before a load: what the last load that downloaded the model here measured, or that it will be shown. */
function idleSizeNote(): string {
  const last = lastFullDownload();
  const what = 'The base model (which also encodes prompts) and the parameter generator are downloaded once and started in a worker when you ask';
  if (!last) return `${what}; the download size is shown as the files arrive.`;
  return `${what}: the last time this browser downloaded them, the page downloaded ${formatBytes(last.bytes)} in all (${describeKinds(last)}).`;
}

function fileName(file: string): string {
  return file.split('/').pop() || file;
}
