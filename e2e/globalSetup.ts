import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startAppServer } from './server';

declare module 'vitest' {
  export interface ProvidedContext {
    appUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The ONNX export and tokenizer files the pages serve (public/models/base/); fast when up to date.
  execFileSync('bash', ['scripts/prepare-models.sh'], { stdio: 'inherit' });
  const server = await startAppServer();
  project.provide('appUrl', server.url);
  return server.close;
}
