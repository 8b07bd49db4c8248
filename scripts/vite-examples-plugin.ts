/**
 * Vite plugin: the example prompt files (scripts/examples-catalog.ts) served by the dev server and
 * emitted into the production bundle as `examples/index.json` + `examples/<Task>.jsonl`. Their
 * content comes from the datasets folder at build time and is never part of the repository.
 *
 * The folder: option `datasetsDir`, else env DND_DATASETS, else ../shared/datasets beside the
 * project root; read when the build or dev server starts (so a test can set DND_DATASETS first).
 */
import { resolve } from 'node:path';
import type { Plugin } from 'vite';
import { EXAMPLES_INDEX_PATH } from '../src/examples/types.ts';
import { buildExamplesCatalog, heldOutTasksFromFile, type ExamplesCatalog } from './examples-catalog.ts';

export interface ExamplesPluginOptions {
  datasetsDir?: string;
  /** The zoo configuration whose held-out tasks become examples (default trainer/configs/zoo.json). */
  zooConfig?: string;
  maxLines?: number;
}

export function examplesPlugin(options: ExamplesPluginOptions = {}): Plugin {
  let root = process.cwd();
  let base = '/';

  const catalog = (): ExamplesCatalog => {
    const datasetsDir = options.datasetsDir ?? process.env.DND_DATASETS ?? resolve(root, '../shared/datasets');
    let tasks: string[];
    try {
      tasks = heldOutTasksFromFile(resolve(root, options.zooConfig ?? 'trainer/configs/zoo.json'));
    } catch (error) {
      const reason = `The zoo configuration could not be read (${error instanceof Error ? error.message : String(error)}), so no example files are included.`;
      return { index: { available: false, reason, examples: [], skipped: [] }, files: new Map() };
    }
    return buildExamplesCatalog({ datasetsDir: resolve(root, datasetsDir), tasks, ...(options.maxLines ? { maxLines: options.maxLines } : {}) });
  };

  return {
    name: 'dnd-examples',
    configResolved(config) {
      root = config.root;
      base = config.base;
    },
    configureServer(server) {
      // Read on each request: the dev server picks up a datasets folder that appears later.
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        if (!path.startsWith(`${base}examples/`)) return next();
        const wanted = decodeURIComponent(path.slice(base.length));
        const { index, files } = catalog();
        const body = wanted === EXAMPLES_INDEX_PATH ? JSON.stringify(index) : files.get(wanted);
        if (body === undefined) {
          // A 404, not the SPA fallback page, so the app reports a missing example clearly.
          res.statusCode = 404;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end(`No example file ${wanted}.`);
          return;
        }
        res.setHeader('Content-Type', wanted.endsWith('.json') ? 'application/json' : 'application/jsonl; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end(body);
      });
    },
    generateBundle() {
      const { index, files } = catalog();
      if (!index.available) this.warn(index.reason);
      this.emitFile({ type: 'asset', fileName: EXAMPLES_INDEX_PATH, source: JSON.stringify(index) });
      for (const [fileName, source] of files) this.emitFile({ type: 'asset', fileName, source });
    },
  };
}
