import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';

/**
 * Builds the app once and serves the production bundle on a free localhost port. The bundle goes
 * to a fresh temporary folder, so two e2e runs on one machine never overwrite each other's build.
 */
export async function startAppServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const outDir = mkdtempSync(join(tmpdir(), 'dnd-e2e-dist-'));
  // The Examples buttons (scripts/vite-examples-plugin.ts) get the made-up fixture datasets, never
  // shared/datasets: CI has none, and e2e/examples.e2e.ts checks the fixture's counts.
  process.env.DND_DATASETS = resolve('test/fixtures/datasets-mini');
  await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
    logLevel: 'warn',
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  return {
    url,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
