/**
 * The adapters kept in this browser (IndexedDB): each imported or generated adapter's PEFT zip with
 * its name and where it came from. The engine store imports them again after every model load
 * (src/store/engine.ts, `restoreSavedAdapters`); the Adapters tab lists them before that
 * (`useKeptAdapters`), so a reload never looks as if they were gone.
 */
import { create } from 'zustand';
import type { AnsweredRow } from '../prompts/answered';
import type { AdapterSource, ConditionMode } from '../worker/engineClient';

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

/** Where an adapter came from, for the Adapters list and Compare (kept with its saved copy).
 * `promptSetId`: the set's id (kept across reloads with the set); absent in records saved before it was kept. */
export type AdapterOrigin =
  | ({ kind: 'generated'; promptSet: string | null; promptSetId?: string; at: number | null } & Partial<GeneratedMode>)
  | { kind: 'imported'; file: string | null; at: number | null };

const DB_NAME = 'dnd-lora-adapters';
const STORE = 'adapters';

export interface SavedAdapter {
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

export async function saveAdapterZip(name: string, zip: Uint8Array, origin: AdapterOrigin): Promise<number> {
  const record: SavedAdapter = { name, zip, savedAt: Date.now(), source: origin.kind, origin };
  return Number(await withStore('readwrite', (store) => store.add(record)));
}

export async function renameSavedAdapter(key: number, name: string): Promise<void> {
  const record = await withStore('readonly', (store) => store.get(key) as IDBRequest<SavedAdapter | undefined>);
  if (record) await withStore('readwrite', (store) => store.put({ ...record, name }));
}

export async function deleteSavedAdapter(key: number): Promise<void> {
  await withStore('readwrite', (store) => store.delete(key));
}

/** Every kept adapter, oldest first. */
export async function readSavedAdapters(): Promise<SavedAdapter[]> {
  return withStore('readonly', (store) => store.getAll() as IDBRequest<SavedAdapter[]>);
}

/** A kept adapter as the Adapters tab lists it before the model has loaded. */
export interface KeptAdapter {
  key: number;
  name: string;
  origin: AdapterOrigin;
  /** Bytes of its PEFT zip. */
  zipBytes: number;
}

interface KeptAdaptersState {
  /** null until read. */
  kept: KeptAdapter[] | null;
  /** Why IndexedDB could not be read, for people; null when it could. */
  error: string | null;
}

export const useKeptAdapters = create<KeptAdaptersState>()(() => ({ kept: null, error: null }));

/** Reads the kept adapters again (IndexedDB is the truth: imports, renames and removals land there). */
export async function refreshKeptAdapters(): Promise<void> {
  try {
    const saved = await readSavedAdapters();
    const kept = saved.flatMap((record): KeptAdapter[] => record.key === undefined ? [] : [{
      key: record.key,
      name: record.name,
      origin: record.origin ?? (record.source === 'generated' ? { kind: 'generated', promptSet: null, at: record.savedAt } : { kind: 'imported', file: null, at: record.savedAt }),
      zipBytes: record.zip.byteLength,
    }]);
    useKeptAdapters.setState({ kept, error: null });
  } catch (e) {
    useKeptAdapters.setState({ kept: [], error: `The adapters kept in this browser could not be read (${e instanceof Error ? e.message : String(e)}).` });
  }
}
