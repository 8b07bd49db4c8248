/**
 * Builds the engine test page (e2e/pages/engine.html, production build with the app's Vite config)
 * and serves it, cross-origin isolated as the app is, with the committed model files (models/) and
 * the generation fixture. Used by e2e/engine.e2e.ts and scripts/bench-decode.ts.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { build } from 'vite';
import { ISOLATION_HEADERS } from '../../scripts/vite-models-plugin';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'build/e2e-pages');

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css', '.onnx': 'application/octet-stream', '.safetensors': 'application/octet-stream',
};

export async function buildPages(): Promise<void> {
  process.env.DND_SKIP_MODEL_COPY = '1';
  await build({
    configFile: join(ROOT, 'vite.config.ts'),
    root: ROOT,
    logLevel: 'warn',
    build: {
      outDir: OUT,
      emptyOutDir: true,
      copyPublicDir: false,
      rollupOptions: { input: { engine: join(ROOT, 'e2e/pages/engine.html') } },
    },
  });
}

/** URL prefix -> directory. */
const MOUNTS: [string, string][] = [
  ['/models/', join(ROOT, 'models')],
  // the transformers.js peer of the decode benchmark (scripts/bench-decode.ts builds it with Python)
  ['/tjs-peer/', join(ROOT, 'build/tjs-peer')],
  ['/fixtures/', join(ROOT, 'test/fixtures')],
  // random-weight generators for the real base, one folder each, written at test time (e2e/engine.e2e.ts)
  ['/generators/', join(ROOT, 'build/e2e-generators')],
  ['/', OUT],
];

export async function servePages(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    for (const [prefix, dir] of MOUNTS) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir)) break;
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': statSync(file).size,
        'cache-control': 'no-store',
        ...ISOLATION_HEADERS,
      });
      createReadStream(file).pipe(res);
      return;
    }
    if (process.env.SERVE_LOG) console.log('404', path);
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/e2e/pages/engine.html`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
