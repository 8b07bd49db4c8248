/**
 * Vite plugin: the committed models, served as they are, with Node alone.
 *
 * - `virtual:dnd-model-manifest`: every served file's size and sha256 (scripts/models-manifest.ts),
 *   compiled into the page so it can use its Cache Storage copies without asking the network;
 * - start and build fail when `models/base/graphs.json` does not match the weights and config
 *   beside it (the graphs then need `python3 -m trainer web-graphs`);
 * - dev server: `models/**` straight from the repository's `models/` folder;
 * - build: `models/` copied into the output, then brotli and gzip copies of every large file
 *   (scripts/precompress.ts) for hosts that serve precompressed files (DND_SKIP_MODEL_COPY=1: neither,
 *   for test pages that serve the repository's folder);
 * - preview server: those copies, with `Content-Encoding`, to clients that accept them;
 * - dev and preview: the cross-origin isolation headers (COOP/COEP) on every response, so the
 *   WASM backend can use threads (docs/hosting.md says what a host must send).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { buildManifest, checkModelFolder, SERVED_FOLDERS } from './models-manifest.ts';
import { precompressDir } from './precompress.ts';
import { fileFor, ISOLATION_HEADERS, sendStatic } from './static-server.ts';

export { ISOLATION_HEADERS };
export const MANIFEST_MODULE = 'virtual:dnd-model-manifest';
const RESOLVED = `\0${MANIFEST_MODULE}`;

export interface ModelsPluginOptions {
  /** The models folder (default: `models` in the project root). */
  modelsDir?: string;
  /** Write .br/.gz copies into the build (default true). */
  precompress?: boolean;
}

function isolation(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
  next();
}

/** `models/<folder>/...` (below the base) from `modelsDir`; 404 for other folders or missing files. */
function modelsMiddleware(modelsDir: string, base: () => string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const prefix = `${base()}models/`;
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!path.startsWith(prefix)) return next();
    const folder = decodeURIComponent(path.slice(prefix.length)).split('/')[0] ?? '';
    const file = SERVED_FOLDERS.includes(folder) ? fileFor(modelsDir, prefix, req.url ?? '') : undefined;
    if (file && sendStatic(req, res, file)) return;
    res.statusCode = 404;
    res.end(`No model file ${path.slice(prefix.length)}.`);
  };
}

/** The build's files with their `.br`/`.gz` copies for clients that accept them (else Vite serves them). */
function precompressedMiddleware(outDir: () => string, base: () => string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const prefix = base().startsWith('/') ? base() : '/';
    const file = fileFor(outDir(), prefix, req.url ?? '');
    if (!file || !sendStatic(req, res, file)) next();
  };
}

export function modelsPlugin(options: ModelsPluginOptions = {}): Plugin {
  let root = process.cwd();
  let base = '/';
  let outDir = 'dist';
  // vitest loads this plugin too (for the manifest module) with a placeholder outDir: copy only in a build
  let building = false;
  const modelsDir = () => resolve(root, options.modelsDir ?? 'models');

  return {
    name: 'dnd-models',
    configResolved(config) {
      root = config.root;
      base = config.base;
      outDir = resolve(root, config.build.outDir);
      building = config.command === 'build';
    },
    buildStart() {
      const problems = checkModelFolder(join(modelsDir(), 'base'));
      if (problems.length > 0) this.error(`The committed model does not match its web graphs:\n  ${problems.join('\n  ')}`);
    },
    resolveId(id) {
      return id === MANIFEST_MODULE ? RESOLVED : undefined;
    },
    load(id) {
      if (id !== RESOLVED) return undefined;
      return `export default ${JSON.stringify(buildManifest(modelsDir()))};`;
    },
    configureServer(server) {
      server.middlewares.use(isolation);
      // dev serves under '/' whatever a relative base says
      server.middlewares.use(modelsMiddleware(modelsDir(), () => (base.startsWith('/') ? base : '/')));
      server.watcher.add(modelsDir());
      server.watcher.on('change', (file) => {
        if (!file.startsWith(modelsDir())) return;
        const mod = server.moduleGraph.getModuleById(RESOLVED);
        if (mod) server.moduleGraph.invalidateModule(mod);
      });
    },
    configurePreviewServer(server) {
      server.middlewares.use(isolation);
      server.middlewares.use(precompressedMiddleware(() => outDir, () => server.config.base));
    },
    closeBundle() {
      if (!building) return;
      for (const f of buildManifest(modelsDir()).files) {
        const target = join(outDir, 'models', f.path);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(join(modelsDir(), f.path), target);
      }
      if (options.precompress !== false) precompressDir(outDir, resolve(root, 'node_modules/.cache/dnd-precompress'));
    },
  };
}
