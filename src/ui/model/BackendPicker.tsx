import { useEffect, useId, useState } from 'react';
import { decideBackend, type BackendChoice, type BackendDecision } from '../../model/backendChoice';
import { loadModel, useEngine } from '../../store/engine';
import { useSettings } from '../../store/settings';

const CHOICES: ReadonlyArray<{ value: BackendChoice; label: string; help: string }> = [
  {
    value: 'auto',
    label: 'Auto',
    help: 'Your GPU when the browser has a real one; otherwise the CPU (WebAssembly), which is also faster than a software GPU adapter.',
  },
  {
    value: 'webgpu',
    label: 'WebGPU',
    help: 'Always the browser’s WebGPU adapter, even a software one (much slower). The load fails if there is none.',
  },
  {
    value: 'wasm',
    label: 'WebAssembly (CPU)',
    help: 'Always the CPU. Works in every browser; adapters are generated on the CPU too (same result).',
  },
];

const NAMES: Record<'webgpu' | 'wasm', string> = { webgpu: 'WebGPU', wasm: 'WebAssembly (CPU)' };

/** What Auto picks in this browser, asked once per page (one requestAdapter on the page thread). */
let autoDecision: Promise<BackendDecision> | null = null;

function useAutoDecision(): BackendDecision | null {
  const [decision, setDecision] = useState<BackendDecision | null>(null);
  useEffect(() => {
    let live = true;
    autoDecision ??= decideBackend('auto', navigator.gpu);
    autoDecision.then((d) => live && setDecision(d), () => undefined);
    return () => {
      live = false;
    };
  }, []);
  return decision;
}

/**
 * Where the model runs: Auto, WebGPU or WebAssembly, remembered across visits (settings store),
 * what Auto picks here and why, what the loaded model and the generator run on now, and a button
 * to load again when the choice differs from the running model (`onLoad`: the loader card's, which keeps focus).
 */
export function BackendPicker({ compact = false, onLoad = () => void loadModel() }: { compact?: boolean; onLoad?: () => void }) {
  const choice = useSettings((s) => s.backend);
  const setBackend = useSettings((s) => s.setBackend);
  const status = useEngine((s) => s.status);
  const info = useEngine((s) => s.info);
  const auto = useAutoDecision();
  const name = useId();
  const loaded = status === 'ready' && info ? info : null;
  const stale = loaded !== null && loaded.backendChoice !== choice;

  const options = (
    <fieldset className="backend-picker" data-testid="backend-choice" disabled={status === 'loading'}>
      <legend>Where the model runs</legend>
      <div className="backend-picker__options">
        {CHOICES.map((option) => (
          <label key={option.value} className="backend-picker__option">
            <input
              type="radio"
              name={name}
              value={option.value}
              checked={choice === option.value}
              data-testid={`backend-${option.value}`}
              onChange={() => setBackend(option.value)}
            />
            <span>
              <strong>{option.label}</strong>
              <span className="backend-picker__help">
                {option.help}
                {option.value === 'auto' && auto && (
                  <span data-testid="backend-auto-pick" data-backend={auto.backend}>
                    {' '}Here: {NAMES[auto.backend]}{auto.because ? `, because ${auto.because}` : ''}.
                  </span>
                )}
              </span>
            </span>
          </label>
        ))}
      </div>
      {stale && (
        <p className="backend-picker__stale">
          The model was loaded with “{labelOf(loaded.backendChoice)}”.{' '}
          <button type="button" className="button" data-testid="backend-reload" onClick={onLoad}>
            Load again with “{labelOf(choice)}”
          </button>
        </p>
      )}
    </fieldset>
  );
  if (!compact || !loaded) return options;
  // Once loaded: what runs where, in one line; the choice folds away (open while it differs).
  return (
    <div className="backend-picker--compact">
      <p className="backend-picker__now" data-testid="backend-now" data-backend={loaded.backend} data-generator={loaded.generatorBackend ?? 'none'}>
        Running on <strong>{NAMES[loaded.backend]}</strong>
        {loaded.backend === 'webgpu' ? ` (${loaded.device})` : ''}; {generatorWords(loaded.generatorBackend)}. Your choice:{' '}
        {labelOf(loaded.backendChoice)}.
      </p>
      {loaded.backend === 'webgpu' && auto?.backend === 'wasm' && auto.because && (
        <p className="model-loader__notice" data-testid="backend-software-warning">
          Slow here: {auto.because}. Auto would run everything on WebAssembly.
        </p>
      )}
      <details className="backend-picker__change" open={stale || undefined}>
        <summary>Change where the model runs</summary>
        {options}
      </details>
    </div>
  );
}

function labelOf(choice: BackendChoice): string {
  return CHOICES.find((c) => c.value === choice)?.label ?? choice;
}

function generatorWords(backend: 'webgpu' | 'wasm' | 'reference' | null): string {
  if (backend === 'webgpu') return 'the generator on WebGPU (WGSL kernels)';
  if (backend === 'wasm') return 'the generator on the CPU (WebAssembly)';
  if (backend === 'reference') return 'the generator on the CPU (its TypeScript reference, slow)';
  return 'no parameter generator';
}
