import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startPromptSetPersistence } from './store/persistence';
import { App } from './ui/App';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

// Saved prompt sets come back from IndexedDB while the page renders; failures become a notice.
void startPromptSetPersistence();

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
