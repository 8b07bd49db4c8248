/**
 * Downloading model files, and keeping them for the next visit in the browser's Cache Storage.
 *
 * A file with a known sha256 (src/model/modelFiles.ts) is looked up under a key that contains the
 * hash, so a changed model is simply a miss; a hit is hashed again before it is used, and a copy
 * whose bytes do not match (a damaged entry) is dropped and downloaded again, with a note saying so.
 * A freshly downloaded file must match its hash too (else the server has other files than the page
 * was built with). Older copies of the same file are deleted once a new one is stored.
 *
 * Without Cache Storage (a page served over plain http from another host than localhost is not a
 * secure context) or without room in it, files are downloaded every time and the note says why.
 */
import { ModelLoadError, describeError } from './errors';
import type { ModelFile } from './modelFiles';

export const MODEL_CACHE = 'dnd-models-v1';

export interface ByteProgress {
  file: string;
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
  /** true: read from this browser's storage, not downloaded. */
  cached?: boolean;
}

export interface FetchedFile {
  bytes: Uint8Array;
  /** Where the bytes came from. */
  source: 'cache' | 'network';
  /** Bytes that came over the network (decoded size; 0 from the cache). */
  networkBytes: number;
  /** Downloaded bytes that this call stored in the cache for the next visit (0 from the cache). */
  keptBytes: number;
  /** For people: why the cache was not used or not filled, when that happened. */
  note?: string;
}

function fileName(url: string): string {
  return new URL(url, globalThis.location?.href).pathname.split('/').pop() ?? url;
}

/** Fetches a file with byte progress (no cache). */
export async function fetchBytes(url: string, onProgress?: (p: ByteProgress) => void, signal?: AbortSignal, expectedBytes = 0): Promise<Uint8Array> {
  let response: Response;
  try {
    // no-store: the Cache Storage copy is the one kept; the HTTP cache would keep a second one
    response = await fetch(url, { cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (e) {
    throw new ModelLoadError(url, describeError(e), e);
  }
  if (!response.ok) throw new ModelLoadError(url, `HTTP ${response.status} ${response.statusText}`);
  // content-length is the compressed size when the server compresses: prefer the known size
  const total = expectedBytes || Number(response.headers.get('content-length') ?? 0) || 0;
  const file = fileName(url);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let lastReport = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      const now = Date.now();
      if (now - lastReport > 100) {
        lastReport = now;
        onProgress?.({ file, loaded, total: Math.max(total, loaded) });
      }
    }
  } catch (e) {
    throw new ModelLoadError(url, `the download broke off after ${loaded} bytes (${describeError(e)})`, e);
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  onProgress?.({ file, loaded, total: loaded });
  return out;
}

export async function fetchJson<T>(url: string): Promise<T> {
  return parseJson<T>(await fetchBytes(url), url);
}

export function parseJson<T>(bytes: Uint8Array, url: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new ModelLoadError(url, `not valid JSON (${describeError(e)})`, e);
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function cacheStorage(): CacheStorage | undefined {
  return typeof caches === 'undefined' ? undefined : caches;
}

/** The cache key of one version of a file: its URL with the hash (a new hash never hits an old copy). */
function cacheKey(url: string, sha256: string): string {
  const u = new URL(url, globalThis.location?.href);
  u.searchParams.set('sha256', sha256);
  return u.href;
}

async function openCache(): Promise<Cache | undefined> {
  try {
    return await cacheStorage()?.open(MODEL_CACHE);
  } catch {
    return undefined; // e.g. storage disabled for this site
  }
}

/** A cached copy of `entry` that still has its hash, or why there is none usable. */
async function readCached(cache: Cache, url: string, entry: ModelFile): Promise<{ bytes?: Uint8Array; damaged?: boolean }> {
  const key = cacheKey(url, entry.sha256);
  const hit = await cache.match(key);
  if (!hit) return {};
  const bytes = new Uint8Array(await hit.arrayBuffer());
  if (bytes.byteLength === entry.bytes && (await sha256Hex(bytes)) === entry.sha256) return { bytes };
  await cache.delete(key);
  return { damaged: true };
}

/** Stores a verified download and deletes other versions of the same file; false when it could not. */
async function store(cache: Cache, url: string, entry: ModelFile, bytes: Uint8Array): Promise<boolean> {
  const key = cacheKey(url, entry.sha256);
  try {
    await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { 'content-type': 'application/octet-stream', 'x-model-bytes': String(bytes.byteLength) },
    }));
  } catch {
    return false; // quota exceeded or storage disabled
  }
  const path = new URL(key).pathname;
  for (const request of await cache.keys()) {
    const u = new URL(request.url);
    if (u.pathname === path && request.url !== key) await cache.delete(request);
  }
  return true;
}

/**
 * A model file: from the cache when a copy with the right hash is there, else downloaded (and
 * stored when `entry` gives its hash). Throws ModelLoadError when it cannot be had, or when the
 * download does not match the hash the page was built with.
 */
export async function fetchModelFile(
  url: string, entry: ModelFile | undefined, onProgress?: (p: ByteProgress) => void, signal?: AbortSignal,
): Promise<FetchedFile> {
  const name = fileName(url);
  if (!entry) {
    const bytes = await fetchBytes(url, onProgress, signal);
    return { bytes, source: 'network', networkBytes: bytes.byteLength, keptBytes: 0 };
  }
  const cache = await openCache();
  let note: string | undefined;
  if (cache) {
    const cached = await readCached(cache, url, entry);
    if (cached.bytes) {
      onProgress?.({ file: name, loaded: cached.bytes.byteLength, total: cached.bytes.byteLength, cached: true });
      return { bytes: cached.bytes, source: 'cache', networkBytes: 0, keptBytes: 0 };
    }
    if (cached.damaged) note = `The saved copy of ${name} was damaged (its sha256 did not match), so it was downloaded again.`;
  } else {
    note = 'This browser cannot keep the model files for the next visit here (no Cache Storage: the page needs https or localhost), so they are downloaded each time.';
  }
  const bytes = await fetchBytes(url, onProgress, signal, entry.bytes);
  const hash = await sha256Hex(bytes);
  if (bytes.byteLength !== entry.bytes || hash !== entry.sha256) {
    throw new ModelLoadError(url, `the server sent ${bytes.byteLength} bytes with sha256 ${hash.slice(0, 12)}..., but this page was built for ${entry.bytes} bytes with sha256 ${entry.sha256.slice(0, 12)}... (the site was updated while the page was open: reload it)`);
  }
  const kept = cache ? await store(cache, url, entry, bytes) : false;
  if (cache && !kept) {
    note = `${name} could not be kept for the next visit (the browser's storage for this site is full or disabled), so it will be downloaded again next time.`;
  }
  return { bytes, source: 'network', networkBytes: bytes.byteLength, keptBytes: kept ? bytes.byteLength : 0, ...(note ? { note } : {}) };
}

/**
 * Whether a copy of `entry` (its current hash) is kept in the model cache, without reading it: a
 * quick look, so the page can load a kept model by itself. The load still checks the bytes' hash
 * (fetchModelFile) and downloads a damaged copy again, with a note.
 */
export async function isModelFileKept(url: string, entry: ModelFile): Promise<boolean> {
  if (!cacheStorage() || !(await cacheStorage()!.has(MODEL_CACHE).catch(() => false))) return false;
  const cache = await openCache();
  return (await cache?.match(cacheKey(url, entry.sha256))) !== undefined;
}

export interface ModelCacheUsage {
  files: number;
  bytes: number;
}

/** What the model cache holds now (0 files when there is none or no Cache Storage). */
export async function modelCacheUsage(): Promise<ModelCacheUsage> {
  const storage = cacheStorage();
  if (!storage || !(await storage.has(MODEL_CACHE).catch(() => false))) return { files: 0, bytes: 0 };
  const cache = await storage.open(MODEL_CACHE);
  let bytes = 0;
  const keys = await cache.keys();
  for (const request of keys) {
    const hit = await cache.match(request);
    bytes += Number(hit?.headers.get('x-model-bytes') ?? 0);
  }
  return { files: keys.length, bytes };
}

/** Deletes every kept model file; true when there was a cache to delete. */
export async function clearModelCache(): Promise<boolean> {
  const storage = cacheStorage();
  if (!storage) return false;
  return storage.delete(MODEL_CACHE);
}
