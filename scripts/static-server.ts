/**
 * A plain static file server for a build (`dist/`), behaving like the static hosts docs/hosting.md
 * describes: the files below a URL prefix (any sub-path), the cross-origin isolation headers, and a
 * file's precompressed `.br` / `.gz` copy (scripts/precompress.ts) with `Content-Encoding` when the
 * client accepts it. The e2e suite serves the production build with it under a sub-path; Vite's own
 * `npm run preview` does the same through scripts/vite-models-plugin.ts.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.jsonl': 'application/jsonl; charset=utf-8', '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream', '.safetensors': 'application/octet-stream', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
};

export interface StaticOptions {
  /** URL prefix the files are under, with slashes, e.g. `/` or `/tools/dnd-lora/`. */
  prefix: string;
  /** Send the COOP/COEP headers (default true). */
  isolation?: boolean;
}

/** The file a request maps to below `root` (index.html for a folder), or undefined. */
export function fileFor(root: string, prefix: string, url: string): string | undefined {
  let path = decodeURIComponent((url.split('?')[0] ?? '').split('#')[0] ?? '');
  if (!path.startsWith(prefix)) return undefined;
  path = path.slice(prefix.length);
  if (path === '' || path.endsWith('/')) path += 'index.html';
  const file = normalize(join(root, path));
  return file.startsWith(root) && existsSync(file) && statSync(file).isFile() ? file : undefined;
}

/**
 * How long a browser may keep a file: the build's content-hashed `assets/` for a year (a new build
 * has new names), everything else revalidated (index.html, models: the page keeps those itself).
 */
export function cacheControl(file: string): string {
  return /[\\/]assets[\\/]/.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Sends `file` (or its `.br`/`.gz` copy when `accept-encoding` allows); false when the request is
 * not a GET/HEAD. Headers: type, length, caching, isolation, `Vary: Accept-Encoding` when a copy exists.
 */
export function sendStatic(req: IncomingMessage, res: ServerResponse, file: string, isolation = true): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const accepts = String(req.headers['accept-encoding'] ?? '');
  const headers: Record<string, string> = {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': cacheControl(file), ...(isolation ? ISOLATION_HEADERS : {}),
  };
  let body = file;
  const copies = [['br', '.br'], ['gzip', '.gz']] as const;
  if (copies.some(([, ext]) => existsSync(file + ext))) headers.Vary = 'Accept-Encoding';
  for (const [encoding, ext] of copies) {
    if (accepts.includes(encoding) && existsSync(file + ext)) {
      body = file + ext;
      headers['Content-Encoding'] = encoding;
      break;
    }
  }
  headers['Content-Length'] = String(statSync(body).size);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') res.end();
  else createReadStream(body).pipe(res);
  return true;
}

/** Serves `root` under `options.prefix` on a free localhost port. */
export async function startStaticServer(root: string, options: StaticOptions): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const dir = resolve(root);
  const server = createServer((req, res) => {
    const file = fileFor(dir, options.prefix, req.url ?? '/');
    if (file && sendStatic(req, res, file, options.isolation !== false)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...(options.isolation !== false ? ISOLATION_HEADERS : {}) });
    res.end('Not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the static server has no port');
  return {
    url: `http://127.0.0.1:${address.port}${options.prefix}`,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
