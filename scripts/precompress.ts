/**
 * Brotli and gzip copies beside the files of a build (`x.wasm` -> `x.wasm.br`, `x.wasm.gz`), for
 * static hosts that serve precompressed files (nginx `brotli_static`/`gzip_static`, Caddy
 * `precompressed`, `npm run preview` here). The ONNX runtime's WASM binary shrinks about 5x, the
 * fp16 weights about 8%. Compressing the 53 MB weights takes seconds, so results are kept in a cache
 * folder keyed by the file's sha256 and reused by the next build.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Files worth compressing (everything the app fetches except images). */
const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.json', '.jsonl', '.wasm', '.onnx', '.safetensors', '.txt', '.svg']);
const MIN_BYTES = 1024;

export interface PrecompressResult {
  files: number;
  /** Bytes before and after brotli, over the compressed files. */
  bytes: number;
  brotliBytes: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? walk(path) : e.isFile() ? [path] : [];
  });
}

function cached(cacheDir: string, key: string, make: () => Buffer): Buffer {
  const path = join(cacheDir, key);
  if (existsSync(path)) return readFileSync(path);
  const out = make();
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${path}.tmp`, out);
  renameSync(`${path}.tmp`, path);
  return out;
}

export function precompressDir(dir: string, cacheDir: string): PrecompressResult {
  const result: PrecompressResult = { files: 0, bytes: 0, brotliBytes: 0 };
  for (const path of walk(dir)) {
    if (!COMPRESSIBLE.has(extname(path)) || statSync(path).size < MIN_BYTES) continue;
    const data = readFileSync(path);
    const sha = createHash('sha256').update(data).digest('hex');
    const br = cached(cacheDir, `${sha}.br`, () => brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }));
    const gz = cached(cacheDir, `${sha}.gz`, () => gzipSync(data, { level: 9 }));
    // a copy that does not save anything is left out (the host then sends the file as it is)
    if (br.length < data.length) writeFileSync(`${path}.br`, br);
    if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    result.files += 1;
    result.bytes += data.length;
    result.brotliBytes += Math.min(br.length, data.length);
  }
  return result;
}
