/**
 * The page's one model engine (EngineClient, src/worker/engineClient.ts): loading the base model on
 * demand with byte progress, the adapter registry as the UI shows it, and the adapters a person
 * imported or generated, kept in IndexedDB (the zip bytes and the source label) and imported again
 * after the next model load.
 */
import { create } from 'zustand';
import modelManifest from 'virtual:dnd-model-manifest';
import { recordDownloads } from './downloads';
import { useNotices } from './notices';
import { useSettings } from './settings';
import {
  EngineClient, EngineError, type AdapterSummary, type EngineInfo, type InitProgress,
} from '../worker/engineClient';
import {
  deleteSavedAdapter, readSavedAdapters, renameSavedAdapter, saveAdapterZip, type AdapterOrigin, type GeneratedMode, type SavedAdapter,
} from './savedAdapters';

export type { AdapterOrigin, GeneratedMode } from './savedAdapters';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface ReadableError {
  code: string;
  message: string;
}

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
  /** Bytes the loader reported per file in the current (or last) load, for its progress line (the download size is src/store/downloads.ts). */
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

/** The models folder's URL, relative to the page, so a build served from a sub-path finds its models. */
export function modelsUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}models/`, window.location.href).href;
}

/** Loads the base model (or loads it again after a failure); then restores the saved adapters. */
export async function loadModel(): Promise<void> {
  if (useEngine.getState().status === 'loading') return;
  useEngine.setState({ status: 'loading', loadError: null, progress: null, bytes: null, fetched: {} });
  try {
    const info = await getEngineClient().init(
      {
        modelsUrl: modelsUrl(),
        // The person's choice (Auto, WebGPU, WebAssembly), remembered in the settings.
        backend: useSettings.getState().backend,
        // sizes and hashes of the served files: they are kept in Cache Storage for the next visit
        manifest: modelManifest,
        // The release generator (models/generator/); without it the base model and adapters still
        // work and the Generate tab says why.
        generator: {
          manifestUrl: new URL('generator/generator.json', modelsUrl()).href,
          weightsUrl: new URL('generator/generator.safetensors', modelsUrl()).href,
        },
        generatorOptional: true,
      },
      (progress) => useEngine.setState((state) => ({ progress, bytes: progress.bytes ?? state.bytes, fetched: addFetched(state.fetched, progress.bytes) })),
    );
    // what the page and the worker downloaded, measured by the browser, shown with "Model loaded"
    recordDownloads(await getEngineClient().downloads().catch(() => []));
    useEngine.setState({ status: 'ready', info });
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
export async function persistGeneratedAdapter(adapter: AdapterSummary, promptSet: { id: string; name: string },
  how?: GeneratedMode): Promise<ReadableError | null> {
  const origin: AdapterOrigin = { kind: 'generated', promptSet: promptSet.name, promptSetId: promptSet.id, at: Date.now(), ...how };
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

async function restoreSavedAdapters(): Promise<void> {
  let saved: SavedAdapter[] = [];
  try {
    saved = await readSavedAdapters();
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
