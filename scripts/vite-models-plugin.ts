/**
 * Vite plugin: the committed models, served as they are, with Node alone.
 *
 * - `virtual:dnd-model-manifest`: every served file's size and sha256 (scripts/models-manifest.ts),
 *   compiled into the page so it can use its Cache Storage copies without asking the network;
 * - start and build fail when `models/base/graphs.json` does not match the weights and config
 *   beside it (the graphs then need `python3 -m trainer.export_web`);
 * - dev server: `models/**` straight from the repository's `models/` folder;
 * - build: `models/` copied into the output, then brotli and gzip copies of every large file
 *   (scripts/precompress.ts) for hosts that serve precompressed files (DND_SKIP_MODEL_COPY=1: neither,
 *   for test pages that serve the repository's folder);
 * - preview server: those copies, with `Content-Encoding`, to clients that accept them;
 * - dev and preview: the cross-origin isolation headers (COOP/COEP) on every response, so the
 *   WASM backend can use threads (docs/hosting.md says what a host must send).
 */
import { copyFileSync, createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { buildManifest, checkModelFolder, SERVED_FOLDERS } from './models-manifest.ts';
import { precompressDir } from './precompress.ts';

export const MANIFEST_MODULE = 'virtual:dnd-model-manifest';
const RESOLVED = `\0${MANIFEST_MODULE}`;

/** The headers that make the page cross-origin isolated (SharedArrayBuffer, hence WASM threads). */
export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const TYPES: Record<string, string> = {
  '.json': 'application/json', '.jsonl': 'application/jsonl; charset=utf-8', '.onnx': 'application/octet-stream',
  '.safetensors': 'application/octet-stream', '.wasm': 'application/wasm', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
};

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

function sendFile(res: ServerResponse, path: string, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(statSync(path).size), 'Cache-Control': 'no-cache', ...extra });
  createReadStream(path).pipe(res);
}

/** `/models/...` (below `base`) from `modelsDir`. */
function modelsMiddleware(modelsDir: string, base: () => string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const prefix = `${base()}models/`;
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    if (!path.startsWith(prefix) || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const rel = path.slice(prefix.length);
    const file = normalize(join(modelsDir, rel));
    const folder = rel.split('/')[0] ?? '';
    if (!file.startsWith(modelsDir) || !SERVED_FOLDERS.includes(folder) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end(`No model file ${rel}.`);
      return;
    }
    sendFile(res, file, TYPES[extname(file)] ?? 'application/octet-stream');
  };
}

/** The build's `.br`/`.gz` copies for clients that accept them (else the next handler serves the file). */
function precompressedMiddleware(outDir: () => string, base: () => string): Connect.NextHandleFunction {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const accepts = String(req.headers['accept-encoding'] ?? '');
    let path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    const b = base().startsWith('/') ? base() : '/';
    if (!path.startsWith(b)) return next();
    path = path.slice(b.length);
    if (path === '' || path.endsWith('/')) path += 'index.html';
    const file = normalize(join(outDir(), path));
    if (!file.startsWith(outDir()) || !existsSync(file)) return next();
    for (const [encoding, ext] of [['br', '.br'], ['gzip', '.gz']] as const) {
      if (accepts.includes(encoding) && existsSync(file + ext)) {
        sendFile(res, file + ext, TYPES[extname(file)] ?? 'application/octet-stream', { 'Content-Encoding': encoding, Vary: 'Accept-Encoding' });
        return;
      }
    }
    next();
  };
}

export function modelsPlugin(options: ModelsPluginOptions = {}): Plugin {
  let root = process.cwd();
  let base = '/';
  let outDir = 'dist';
  const modelsDir = () => resolve(root, options.modelsDir ?? 'models');

  return {
    name: 'dnd-models',
    configResolved(config) {
      root = config.root;
      base = config.base;
      outDir = resolve(root, config.build.outDir);
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
      for (const f of buildManifest(modelsDir()).files) {
        const target = join(outDir, 'models', f.path);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(join(modelsDir(), f.path), target);
      }
      if (options.precompress !== false) precompressDir(outDir, resolve(root, 'node_modules/.cache/dnd-precompress'));
    },
  };
}
