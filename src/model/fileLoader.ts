/**
 * The files of one model load, fetched through the model cache (src/model/modelCache.ts) and
 * recorded: where each came from and how many bytes crossed the network, so the page can say "loaded
 * from this browser's storage" and the load benchmark can count bytes by kind.
 */
import { fetchModelFile, parseJson, type ByteProgress } from './modelCache';
import { manifestEntry, modelFileKind, type ModelFileKind, type ModelManifest } from './modelFiles';

export interface LoadedFile {
  /** Path below the models folder (or the URL for a file outside it). */
  path: string;
  kind: ModelFileKind;
  bytes: number;
  source: 'cache' | 'network';
  networkBytes: number;
  /** Downloaded bytes stored in the cache for the next visit. */
  keptBytes: number;
}

export interface LoadSummary {
  files: LoadedFile[];
  /** Bytes of model files that came over the network in this load. */
  networkBytes: number;
  /** Bytes of model files read from the cache. */
  cachedBytes: number;
  /** Downloaded bytes now kept in the cache for the next visit (decided by the load, not read back later). */
  keptBytes: number;
  /** For people: a damaged cached file downloaded again, no room to keep the files, ... */
  notes: string[];
}

export class FileLoader {
  private readonly files: LoadedFile[] = [];
  private readonly notes: string[] = [];

  constructor(
    private readonly modelsUrl: string,
    /** The files' hashes; files not in it (or all, with `useCache` false) are fetched without the cache. */
    private readonly manifest: ModelManifest | undefined,
    private readonly useCache = true,
  ) {}

  async bytes(url: string, onProgress?: (p: ByteProgress) => void): Promise<Uint8Array> {
    const entry = this.useCache ? manifestEntry(this.manifest, this.modelsUrl, url) : undefined;
    const got = await fetchModelFile(url, entry, onProgress);
    const base = new URL(this.modelsUrl, globalThis.location?.href).href;
    const href = new URL(url, base).href;
    const path = entry?.path ?? (href.startsWith(base) ? href.slice(base.length) : href);
    this.files.push({ path, kind: entry?.kind ?? modelFileKind(path), bytes: got.bytes.byteLength, source: got.source, networkBytes: got.networkBytes, keptBytes: got.keptBytes });
    if (got.note && !this.notes.includes(got.note)) this.notes.push(got.note);
    return got.bytes;
  }

  async json<T>(url: string): Promise<T> {
    return parseJson<T>(await this.bytes(url), url);
  }

  summary(): LoadSummary {
    let networkBytes = 0;
    let cachedBytes = 0;
    let keptBytes = 0;
    for (const f of this.files) {
      networkBytes += f.networkBytes;
      keptBytes += f.keptBytes;
      if (f.source === 'cache') cachedBytes += f.bytes;
    }
    return { files: this.files.map((f) => ({ ...f })), networkBytes, cachedBytes, keptBytes, notes: [...this.notes] };
  }
}
