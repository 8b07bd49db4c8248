import { useEffect, useId, useState } from 'react';
import { describeWebGpuSupport, type WebGpuSupport } from '../gpu/support';
import type { BackendChoice } from '../model/backendChoice';
import { useSettings } from '../store/settings';

/**
 * The header badge: a few plain words on where the model will run (GPU, or CPU), from this
 * browser's WebGPU and the backend choice; the details (which adapter, why) show on hover or focus.
 * Tested by e2e/app.e2e.ts and e2e/newUser.e2e.ts.
 */
export function WebGpuStatus() {
  const [support, setSupport] = useState<WebGpuSupport | null>(null);
  const choice = useSettings((state) => state.backend);
  const detailsId = useId();
  useEffect(() => {
    let live = true;
    describeWebGpuSupport(navigator).then(
      (result) => live && setSupport(result),
      (error: unknown) =>
        live &&
        setSupport({
          kind: 'none',
          shaderF16: false,
          label: 'GPU unknown',
          details: `WebGPU could not be checked (${error instanceof Error ? error.message : String(error)}); the model runs on the CPU under Auto.`,
        }),
    );
    return () => {
      live = false;
    };
  }, []);
  const badge = support === null ? null : badgeFor(support, choice);
  const tone = badge === null ? 'pending' : badge.tone;
  return (
    <div className={`gpu-status gpu-status--${tone}`} data-testid="webgpu-status" data-kind={support?.kind ?? 'pending'}>
      {/* A button so keyboard users reach the details; it does nothing else. */}
      <button type="button" className="gpu-status__badge" aria-describedby={detailsId} data-testid="webgpu-badge">
        {badge === null ? 'Checking for a GPU…' : badge.label}
      </button>
      <p role="tooltip" id={detailsId} className="gpu-status__details" data-testid="webgpu-details">
        {badge === null ? 'Asking the browser for a WebGPU adapter.' : badge.details}
      </p>
    </div>
  );
}

interface Badge {
  label: string;
  details: string;
  tone: 'ok' | 'warn' | 'info';
}

/** The badge for what the browser has and what the person chose (Auto, WebGPU, WebAssembly). */
export function badgeFor(support: WebGpuSupport, choice: BackendChoice): Badge {
  if (choice === 'wasm') {
    return { label: 'CPU (your choice)', tone: 'ok', details: `You chose WebAssembly: the model runs on the CPU. ${support.details}` };
  }
  if (support.kind === 'software' && choice === 'webgpu') {
    return { label: 'Software GPU: slow', tone: 'warn', details: `You chose WebGPU. ${support.details}` };
  }
  return { label: support.label, tone: support.kind === 'gpu' ? 'ok' : 'info', details: support.details };
}
