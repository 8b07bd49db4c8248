import { useSettings } from '../store/settings';
import { WebGpuStatus } from './WebGpuStatus';

export function AppHeader() {
  return (
    <header className="app-header">
      <div className="app-header__title">
        <h1>Drag-and-drop LoRA</h1>
        <p className="app-header__tagline">
          Drop prompt files to generate a LoRA adapter for the base model, right in this browser. Your prompts never
          leave this page.
        </p>
      </div>
      <div className="app-header__side">
        <WebGpuStatus />
        <LargeTextToggle />
      </div>
    </header>
  );
}

function LargeTextToggle() {
  const largeText = useSettings((state) => state.largeText);
  const setLargeText = useSettings((state) => state.setLargeText);
  return (
    <button
      type="button"
      className="button button--quiet"
      aria-pressed={largeText}
      data-testid="large-text-toggle"
      onClick={() => setLargeText(!largeText)}
    >
      Large text
    </button>
  );
}
