import { useRef } from 'react';
import { downloadSize, lastDownloadSize, loadModel, useEngine } from '../../store/engine';
import { BackendPicker } from './BackendPicker';
import { formatBytes } from './format';
import { ModelStorage } from './ModelStorage';

/**
 * "Load model" with the backend choice, byte progress and the measured download size (what the
 * loader reported, never a figure written here), the backend notice once loaded, and a readable
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
          <p aria-live="polite">{progress?.message ?? 'Starting the model worker…'}</p>
          {bytes && bytes.total > 0 ? (
            <progress className="model-loader__bar" max={bytes.total} value={bytes.loaded} aria-label={`Downloading ${fileName(bytes.file)}`} />
          ) : (
            <progress className="model-loader__bar" aria-label="Loading the model" />
          )}
          {bytes && (
            <p className="hint" data-testid="model-bytes">
              {fileName(bytes.file)}: {formatBytes(bytes.loaded)}
              {bytes.total > 0 && ` of ${formatBytes(bytes.total)}`}
              {size.files > 1 && ` (${formatBytes(size.bytes)} in ${size.files} files so far)`}
            </p>
          )}
        </div>
      )}
      {status === 'ready' && info && (
        <div data-testid="model-ready">
          <p>
            <strong>Model loaded</strong> on <span data-testid="model-backend">{info.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}</span> in{' '}
            {(info.initMs / 1000).toFixed(1)} s
            {size.files > 0 && (
              <span data-testid="model-download-size" data-bytes={size.bytes}>
                {' '}
                ({formatBytes(size.bytes)} fetched in {size.files} {size.files === 1 ? 'file' : 'files'})
              </span>
            )}
            .
          </p>
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

/** Before the first load: the size the last load in this browser measured, or that it will be shown. */
function idleSizeNote(): string {
  const last = lastDownloadSize();
  const what = 'The base model (which also encodes prompts) and the parameter generator are downloaded once and started in a worker when you ask';
  if (!last) return `${what}; the download size is shown as the files arrive.`;
  return last.files === 0
    ? `${what}: the last load in this browser read them from its storage and downloaded nothing.`
    : `${what}: the last load in this browser fetched ${formatBytes(last.bytes)} in ${last.files} files.`;
}

function fileName(file: string): string {
  return file.split('/').pop() || file;
}
