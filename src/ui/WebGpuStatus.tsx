import { useEffect, useState } from 'react';
import { describeWebGpuSupport, type WebGpuSupport } from '../gpu/support';

/** One line saying what this browser's WebGPU can do (tested by e2e/app.e2e.ts). */
export function WebGpuStatus() {
  const [support, setSupport] = useState<WebGpuSupport | null>(null);
  useEffect(() => {
    let live = true;
    describeWebGpuSupport(navigator).then(
      (result) => live && setSupport(result),
      (error: unknown) =>
        live &&
        setSupport({
          available: false,
          shaderF16: false,
          message: `WebGPU could not be checked: ${error instanceof Error ? error.message : String(error)}`,
        }),
    );
    return () => {
      live = false;
    };
  }, []);
  const tone = support === null ? 'pending' : support.available ? 'ok' : 'warn';
  return (
    <p role="status" className={`gpu-status gpu-status--${tone}`} data-testid="webgpu-status">
      {support === null ? 'Checking WebGPU…' : support.message}
    </p>
  );
}
