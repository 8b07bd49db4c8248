import { useEffect, useState } from 'react';
import { describeWebGpuSupport, type WebGpuSupport } from '../gpu/support';

/** Shell of the app; the drop zone, generation and comparison screens grow from here. */
export function App() {
  const [support, setSupport] = useState<WebGpuSupport | null>(null);
  useEffect(() => {
    void describeWebGpuSupport(navigator).then(setSupport);
  }, []);
  return (
    <main>
      <h1>Drag-and-drop LoRA</h1>
      <p>Drop prompt files to generate a LoRA adapter for the base model, on your own GPU.</p>
      <p role="status" data-testid="webgpu-status">
        {support === null ? 'Checking WebGPU…' : support.message}
      </p>
    </main>
  );
}
