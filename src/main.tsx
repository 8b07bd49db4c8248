import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startPromptSetPersistence } from './store/persistence';
import { App } from './ui/App';
import { getEngineClient } from './store/engine';
import { startModelAutoLoad } from './store/modelAutoLoad';
import { getPromptsClient } from './worker/promptsClient';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

// Saved prompt sets come back from IndexedDB while the page renders; failures become a notice.
void startPromptSetPersistence();
// A model whose files this browser keeps loads by itself (nothing is downloaded).
void startModelAutoLoad();

// End-to-end tests open the page with ?e2e-hooks to reach recovery paths a person cannot trigger.
if (new URLSearchParams(window.location.search).has('e2e-hooks')) {
  Object.assign(window, {
    __dndLoraTestHooks: {
      crashPromptsWorker: () => getPromptsClient().simulateCrash(),
      crashEngineWorker: () => getEngineClient().debugCrash(),
    },
  });
}

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
