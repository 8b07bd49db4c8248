import type { TestProject } from 'vitest/node';
import { startAppServer } from './server';

declare module 'vitest' {
  export interface ProvidedContext {
    appUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The production build serves the committed models (models/, scripts/vite-models-plugin.ts).
  const server = await startAppServer();
  project.provide('appUrl', server.url);
  return server.close;
}
