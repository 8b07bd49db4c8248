import { loadModel, useEngine } from '../../store/engine';
import { formatBytes } from './format';

/** "Load model" with byte progress, the backend notice once loaded, and a readable error with Retry. */
export function ModelLoader() {
  const status = useEngine((s) => s.status);
  const progress = useEngine((s) => s.progress);
  const info = useEngine((s) => s.info);
  const error = useEngine((s) => s.loadError);
  const bytes = useEngine((s) => s.bytes);

  return (
    <section className="card model-loader" aria-label="Base model" data-testid="model-loader" data-status={status}>
      {status === 'idle' && (
        <>
          <p>The base model (about 110 MB) is downloaded and started in a worker when you ask for it.</p>
          <button type="button" className="button button--primary" data-testid="load-model" onClick={() => void loadModel()}>
            Load model
          </button>
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
            </p>
          )}
        </div>
      )}
      {status === 'ready' && info && (
        <div data-testid="model-ready">
          <p>
            <strong>Model loaded</strong> on{' '}
            <span data-testid="model-backend">{info.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}</span>
            {info.backend === 'webgpu' && ` (${info.device})`}, in{' '}
            {(info.initMs / 1000).toFixed(1)} s.
          </p>
          {info.notice && (
            <p className="model-loader__notice" data-testid="model-notice">
              {info.notice}
            </p>
          )}
        </div>
      )}
      {status === 'error' && error && (
        <div role="alert" className="inline-alert" data-testid="model-error" data-code={error.code}>
          <p>
            <strong>{error.code === 'worker-crashed' ? 'Model worker crashed.' : 'The model did not load.'}</strong> {error.message}
          </p>
          <button type="button" className="button" data-testid="retry-load-model" onClick={() => void loadModel()}>
            Try again
          </button>
        </div>
      )}
    </section>
  );
}

function fileName(file: string): string {
  return file.split('/').pop() || file;
}
