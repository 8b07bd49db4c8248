/**
 * The page's one model engine (EngineClient, src/worker/engineClient.ts): loading the base model on
 * demand with byte progress, the adapter registry as the UI shows it, and the adapters a person
 * imported or generated, kept in IndexedDB (the zip bytes and the source label) and imported again
 * after the next model load.
 */
import { create } from 'zustand';
import modelManifest from 'virtual:dnd-model-manifest';
import { useNotices } from './notices';
import { useSettings } from './settings';
import type { AnsweredRow } from '../prompts/answered';
import {
  EngineClient, EngineError, type AdapterSource, type AdapterSummary, type ConditionMode, type EngineInfo, type InitProgress,
} from '../worker/engineClient';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface ReadableError {
  code: string;
  message: string;
}

/** How a generated adapter was conditioned (kept with its saved copy; absent in records saved before examples mode). */
export interface GeneratedMode {
  /** 'prompts': P prompts; 'examples': P answered rows, sized by the validation gate. */
  mode: ConditionMode;
  /** Examples mode: the answered rows in the condition (Evaluate leaves them out). */
  condition?: AnsweredRow[];
  /** Examples mode: the validation gate's scale, rows scored and whether they were held out or the condition's own. */
  validation?: { value: number; rows: number; source: 'held-out' | 'condition' };
  /** Examples mode: the answered rows the validation gate scored (they stay scorable on Evaluate, which says so). */
  validationRows?: AnsweredRow[];
}

/** Where an adapter came from, for the Adapters list and Compare (kept with its saved copy). */
export type AdapterOrigin =
  | ({ kind: 'generated'; promptSet: string | null; at: number | null } & Partial<GeneratedMode>)
  | { kind: 'imported'; file: string | null; at: number | null };

export interface AdapterRow extends AdapterSummary {
  /** Bytes of the float32 weights (A and B, all layers). */
  bytes: number;
  origin: AdapterOrigin;
}

interface EngineState {
  status: ModelStatus;
  progress: InitProgress | null;
  /** The latest byte progress, kept through the later stages (so "101.6 MB of 101.6 MB" stays shown). */
  bytes: NonNullable<InitProgress['bytes']> | null;
  /** Bytes the loader reported per file in the current (or last) load: the measured download size. */
  fetched: Record<string, number>;
  info: EngineInfo | null;
  loadError: ReadableError | null;
  adapters: AdapterRow[];
  /** The last adapter import/export/remove failure, shown on the Adapters tab. */
  adapterError: (ReadableError & { file?: string }) | null;
  /** Saved adapters that could not be imported again after a reload. */
  restoreErrors: string[];
  adapterBusy: boolean;
}

export const useEngine = create<EngineState>()(() => ({
  status: 'idle',
  progress: null,
  bytes: null,
  fetched: {},
  info: null,
  loadError: null,
  adapters: [],
  adapterError: null,
  restoreErrors: [],
  adapterBusy: false,
}));

let client: EngineClient | null = null;

export function getEngineClient(): EngineClient {
  if (!client) {
    client = new EngineClient();
    client.onCrash(onEngineCrash);
  }
  return client;
}

/**
 * The worker died (EngineClient ended it): the model must be loaded again. Nothing the person made
 * is lost: prompt sets live on the page, imported and generated adapters in IndexedDB, restored
 * by the next load.
 */
function onEngineCrash(error: EngineError): void {
  useEngine.setState({ status: 'error', loadError: { code: error.code, message: error.message }, progress: null, adapters: [], adapterBusy: false });
  useNotices.getState().push({
    tone: 'warning',
    code: 'engine-crashed',
    title: 'Model worker crashed',
    message: error.message,
    actions: [{ label: 'Load the model again', run: () => void loadModel() }],
  });
}

export function readableError(error: unknown): ReadableError {
  const readable: ReadableError =
    error instanceof EngineError ? { code: error.code, message: error.message }
    : error instanceof Error ? { code: 'internal', message: error.message || String(error) }
    : { code: 'internal', message: String(error) };
  // A lost GPU device ends this engine: show the load error (with Try again) everywhere.
  if (readable.code === 'device-lost' && useEngine.getState().status === 'ready') {
    useEngine.setState({ status: 'error', loadError: readable, adapters: [] });
  }
  return readable;
}

/** Loads the base model (or loads it again after a failure); then restores the saved adapters. */
export async function loadModel(): Promise<void> {
  if (useEngine.getState().status === 'loading') return;
  useEngine.setState({ status: 'loading', loadError: null, progress: null, bytes: null, fetched: {} });
  try {
    // relative to the page, so a build served from a sub-path finds its models
    const modelsUrl = new URL(`${import.meta.env.BASE_URL}models/`, window.location.href).href;
    const info = await getEngineClient().init(
      {
        modelsUrl,
        // The person's choice (Auto, WebGPU, WebAssembly), remembered in the settings.
        backend: useSettings.getState().backend,
        // sizes and hashes of the served files: they are kept in Cache Storage for the next visit
        manifest: modelManifest,
        // The release generator (models/generator/); without it the base model and adapters still
        // work and the Generate tab says why.
        generator: {
          manifestUrl: new URL('generator/generator.json', modelsUrl).href,
          weightsUrl: new URL('generator/generator.safetensors', modelsUrl).href,
        },
        generatorOptional: true,
      },
      (progress) => useEngine.setState((state) => ({ progress, bytes: progress.bytes ?? state.bytes, fetched: addFetched(state.fetched, progress.bytes) })),
    );
    useEngine.setState({ status: 'ready', info });
    rememberDownload(useEngine.getState().fetched);
    // for the load benchmark (scripts/bench-load.ts): navigation start -> model ready
    performance.mark('model-ready', { detail: { ...info.stagesMs, initMs: info.initMs } });
  } catch (error) {
    useEngine.setState({ status: 'error', loadError: readableError(error) });
    return;
  }
  await restoreSavedAdapters();
}

/** The per-file byte counts after a progress event (a file's count only grows; files read from the cache are not fetched). */
function addFetched(fetched: Record<string, number>, bytes: InitProgress['bytes']): Record<string, number> {
  if (!bytes || bytes.cached || bytes.loaded <= (fetched[bytes.file] ?? 0)) return fetched;
  return { ...fetched, [bytes.file]: bytes.loaded };
}

export interface DownloadSize {
  bytes: number;
  files: number;
}

/** Total of the per-file byte counts the loader reported. */
export function downloadSize(fetched: Record<string, number>): DownloadSize {
  const counts = Object.values(fetched);
  return { bytes: counts.reduce((a, b) => a + b, 0), files: counts.length };
}

const LAST_DOWNLOAD_KEY = 'dnd-lora-last-model-download';

/** What the last completed load in this browser fetched, so the next visit can say it before loading. */
function rememberDownload(fetched: Record<string, number>): void {
  const size = downloadSize(fetched); // 0 files: everything came from this browser's storage
  try {
    localStorage.setItem(LAST_DOWNLOAD_KEY, JSON.stringify(size));
  } catch {
    // storage disabled: the figure is shown once the files download instead
  }
}

export function lastDownloadSize(): DownloadSize | null {
  try {
    const saved = JSON.parse(localStorage.getItem(LAST_DOWNLOAD_KEY) ?? 'null') as Partial<DownloadSize> | null;
    return saved && typeof saved.bytes === 'number' && typeof saved.files === 'number' ? { bytes: saved.bytes, files: saved.files } : null;
  } catch {
    return null;
  }
}

/** Engine adapter id -> where it came from (the engine knows only 'generated' or 'imported'). */
const originOf = new Map<string, AdapterOrigin>();

function fallbackOrigin(summary: AdapterSummary): AdapterOrigin {
  return summary.source === 'generated' ? { kind: 'generated', promptSet: null, at: null } : { kind: 'imported', file: null, at: null };
}

export async function refreshAdapters(): Promise<void> {
  const list = await getEngineClient().listAdapters();
  useEngine.setState({ adapters: list.map((a) => ({ ...a, bytes: a.parameters * 4, origin: originOf.get(a.id) ?? fallbackOrigin(a) })) });
}

/** Engine adapter id -> IndexedDB key of its saved zip. */
const savedKeyOf = new Map<string, number>();

function adapterNameOf(fileName: string): string {
  return fileName.replace(/\.zip$/i, '') || 'adapter';
}

/** Imports a PEFT adapter zip; a refusal is shown and leaves the list as it was. */
export async function importAdapterFile(file: File): Promise<boolean> {
  if (useEngine.getState().status !== 'ready') {
    useEngine.setState({ adapterError: { code: 'not-initialized', message: 'Load the model first, then import the adapter.', file: file.name } });
    return false;
  }
  useEngine.setState({ adapterBusy: true, adapterError: null });
  try {
    const zip = new Uint8Array(await file.arrayBuffer());
    const name = adapterNameOf(file.name);
    // importAdapter transfers nothing, but keep our own copy for IndexedDB before the call.
    const saved = zip.slice();
    const summary = await getEngineClient().importAdapter(zip, name);
    const origin: AdapterOrigin = { kind: 'imported', file: file.name, at: Date.now() };
    originOf.set(summary.id, origin);
    try {
      savedKeyOf.set(summary.id, await saveAdapterZip(name, saved, origin));
    } catch {
      // Not fatal: the adapter works in this session, it just will not come back after a reload.
    }
    await refreshAdapters();
    return true;
  } catch (error) {
    useEngine.setState({ adapterError: { ...readableError(error), file: file.name } });
    return false;
  } finally {
    useEngine.setState({ adapterBusy: false });
  }
}

/** The adapter as a PEFT zip, offered as a download. */
export async function exportAdapter(adapter: AdapterSummary): Promise<void> {
  try {
    const zip = await getEngineClient().exportAdapter(adapter.id);
    const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${adapter.name}.zip`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    useEngine.setState({ adapterError: readableError(error) });
  }
}

export async function removeAdapter(id: string): Promise<void> {
  try {
    await getEngineClient().removeAdapter(id);
    const key = savedKeyOf.get(id);
    savedKeyOf.delete(id);
    originOf.delete(id);
    if (key !== undefined) await deleteSavedAdapter(key).catch(() => undefined);
    await refreshAdapters();
  } catch (error) {
    useEngine.setState({ adapterError: readableError(error) });
  }
}

/**
 * Keeps a just generated adapter across reloads: its PEFT zip (exported from the engine) goes to
 * IndexedDB labelled 'generated', with the prompt set it came from. A failure is returned as a
 * readable error; the adapter still works in this session.
 */
export async function persistGeneratedAdapter(adapter: AdapterSummary, promptSet: string, how?: GeneratedMode): Promise<ReadableError | null> {
  const origin: AdapterOrigin = { kind: 'generated', promptSet, at: Date.now(), ...how };
  originOf.set(adapter.id, origin);
  try {
    const zip = await getEngineClient().exportAdapter(adapter.id);
    savedKeyOf.set(adapter.id, await saveAdapterZip(adapter.name, zip, origin));
    return null;
  } catch (error) {
    return readableError(error);
  } finally {
    await refreshAdapters().catch(() => undefined);
  }
}

/** Renames an adapter in the engine and in its saved copy. */
export async function renameAdapter(id: string, name: string): Promise<ReadableError | null> {
  try {
    const summary = await getEngineClient().renameAdapter(id, name);
    const key = savedKeyOf.get(id);
    if (key !== undefined) await renameSavedAdapter(key, summary.name).catch(() => undefined);
    await refreshAdapters();
    return null;
  } catch (error) {
    return readableError(error);
  }
}

export function dismissAdapterError(): void {
  useEngine.setState({ adapterError: null });
}

// ---------- IndexedDB: the imported zips, imported again after the model loads ----------

const DB_NAME = 'dnd-lora-adapters';
const STORE = 'adapters';

interface SavedAdapter {
  key?: number;
  name: string;
  zip: Uint8Array;
  savedAt: number;
  /** Absent in records saved before generated adapters were kept: those were imported. */
  source?: AdapterSource;
  /** Absent in records saved before origins were kept. */
  origin?: AdapterOrigin;
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'key', autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB did not open'));
  });
}

async function withStore<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = run(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    });
  } finally {
    db.close();
  }
}

async function saveAdapterZip(name: string, zip: Uint8Array, origin: AdapterOrigin): Promise<number> {
  const record: SavedAdapter = { name, zip, savedAt: Date.now(), source: origin.kind, origin };
  return Number(await withStore('readwrite', (store) => store.add(record)));
}

async function renameSavedAdapter(key: number, name: string): Promise<void> {
  const record = await withStore('readonly', (store) => store.get(key) as IDBRequest<SavedAdapter | undefined>);
  if (record) await withStore('readwrite', (store) => store.put({ ...record, name }));
}

async function deleteSavedAdapter(key: number): Promise<void> {
  await withStore('readwrite', (store) => store.delete(key));
}

async function restoreSavedAdapters(): Promise<void> {
  let saved: SavedAdapter[] = [];
  try {
    saved = await withStore('readonly', (store) => store.getAll() as IDBRequest<SavedAdapter[]>);
  } catch {
    saved = [];
  }
  // After a device loss the engine starts a fresh worker with an empty registry: forget ids it lost.
  const live = new Set((await getEngineClient().listAdapters().catch(() => [])).map((a) => a.id));
  for (const id of [...savedKeyOf.keys()]) if (!live.has(id)) savedKeyOf.delete(id);
  for (const id of [...originOf.keys()]) if (!live.has(id)) originOf.delete(id);
  const known = new Set(savedKeyOf.values());
  const failures: string[] = [];
  for (const record of saved) {
    if (record.key === undefined || known.has(record.key)) continue;
    try {
      const summary = await getEngineClient().importAdapter(record.zip.slice(), record.name, record.source ?? 'imported');
      savedKeyOf.set(summary.id, record.key);
      originOf.set(summary.id, record.origin ?? { ...fallbackOrigin(summary), at: record.savedAt });
    } catch (error) {
      failures.push(`${record.name}: ${readableError(error).message}`);
    }
  }
  useEngine.setState({ restoreErrors: failures });
  try {
    await refreshAdapters();
  } catch (error) {
    useEngine.setState({ adapterError: readableError(error) });
  }
}
