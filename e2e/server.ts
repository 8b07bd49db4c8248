import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { startStaticServer } from '../scripts/static-server';

/** The sub-path the e2e suite serves the build under: the build must not assume it sits at `/`. */
export const APP_PREFIX = '/tools/dnd-lora/';

/**
 * Builds the app once (`dist/` as `npm run build` makes it: relative base, models copied, .br/.gz
 * copies) into a fresh temporary folder, so two e2e runs never overwrite each other's build, and
 * serves it like a static host would (scripts/static-server.ts): under APP_PREFIX, with the
 * cross-origin isolation headers and the precompressed copies.
 */
export async function startAppServer(options: { modelsDir?: string } = {}): Promise<{ url: string; outDir: string; close: () => Promise<void> }> {
  const outDir = mkdtempSync(join(tmpdir(), 'dnd-e2e-dist-'));
  // The Examples buttons (scripts/vite-examples-plugin.ts) get the made-up fixture datasets, never
  // shared/datasets: CI has none, and e2e/examples.e2e.ts checks the fixture's counts.
  process.env.DND_DATASETS = resolve('test/fixtures/datasets-mini');
  // Another models folder (vite.config.ts DND_MODELS_DIR) for this build only.
  if (options.modelsDir) process.env.DND_MODELS_DIR = resolve(options.modelsDir);
  try {
    await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    delete process.env.DND_MODELS_DIR;
  }
  const server = await startStaticServer(outDir, { prefix: APP_PREFIX });
  return {
    url: server.url,
    outDir,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
