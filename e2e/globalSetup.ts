import type { TestProject } from 'vitest/node';
import { startAppServer } from './server';

declare module 'vitest' {
  export interface ProvidedContext {
    appUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startAppServer();
  project.provide('appUrl', server.url);
  return server.close;
}
