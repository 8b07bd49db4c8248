/**
 * Keeps the person's prompt sets in IndexedDB, so a reload (or a crashed tab) does not lose them.
 *
 * A set is stored as a small metadata row plus its records in chunks of RECORDS_PER_CHUNK, each
 * chunk written (and read back) in its own task: cloning 250k records in one go would hold the page
 * for about a second. The metadata row is written last, so a set half-written when the tab closed
 * is not restored. A failure to save is reported once; the page keeps working from memory.
 */
import type { ParseResult, PromptRecord } from '../prompts/types';
import { useNotices } from './notices';
import { usePromptSets, type PromptSet } from './promptSets';

const DB_NAME = 'dnd-lora';
const DB_VERSION = 2;
const SETS = 'promptSets';
const CHUNKS = 'promptRecordChunks';
const RECORDS_PER_CHUNK = 5000;

/** A set as stored: everything but the records, which live in CHUNKS under [id, index]. */
interface StoredPromptSet extends Omit<PromptSet, 'result'> {
  result: Omit<ParseResult, 'records'>;
  chunkCount: number;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available in this browser'));
      return;
    }
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      // Version 1 stored whole sets in one row; start afresh rather than migrate a day-old format.
      for (const name of Array.from(db.objectStoreNames)) db.deleteObjectStore(name);
      db.createObjectStore(SETS, { keyPath: 'id' });
      db.createObjectStore(CHUNKS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
    request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  });
}

function done(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB write failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB write was aborted'));
  });
}

function result<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function chunkRange(setId: string): IDBKeyRange {
  return IDBKeyRange.bound([setId, 0], [setId, Infinity]);
}

async function writeSet(db: IDBDatabase, promptSet: PromptSet): Promise<void> {
  const { records, ...resultWithoutRecords } = promptSet.result;
  const chunkCount = Math.ceil(records.length / RECORDS_PER_CHUNK);
  // Drop the old metadata first: a reload during the rewrite must not see mixed chunks.
  let transaction = db.transaction([SETS, CHUNKS], 'readwrite');
  transaction.objectStore(SETS).delete(promptSet.id);
  transaction.objectStore(CHUNKS).delete(chunkRange(promptSet.id));
  await done(transaction);
  for (let index = 0; index < chunkCount; index++) {
    await nextTask();
    transaction = db.transaction(CHUNKS, 'readwrite');
    const chunk = records.slice(index * RECORDS_PER_CHUNK, (index + 1) * RECORDS_PER_CHUNK);
    transaction.objectStore(CHUNKS).put(chunk, [promptSet.id, index]);
    await done(transaction);
  }
  const stored: StoredPromptSet = { ...promptSet, result: resultWithoutRecords, chunkCount };
  transaction = db.transaction(SETS, 'readwrite');
  transaction.objectStore(SETS).put(stored);
  await done(transaction);
}

async function deleteSet(db: IDBDatabase, setId: string): Promise<void> {
  const transaction = db.transaction([SETS, CHUNKS], 'readwrite');
  transaction.objectStore(SETS).delete(setId);
  transaction.objectStore(CHUNKS).delete(chunkRange(setId));
  await done(transaction);
}

async function readSet(db: IDBDatabase, stored: StoredPromptSet): Promise<PromptSet | undefined> {
  const records: PromptRecord[] = [];
  for (let index = 0; index < stored.chunkCount; index++) {
    // One chunk per request, so each is cloned in its own task.
    const chunk = await result(db.transaction(CHUNKS, 'readonly').objectStore(CHUNKS).get([stored.id, index]));
    if (!Array.isArray(chunk)) return undefined;
    for (const record of chunk as PromptRecord[]) records.push(record);
  }
  const { chunkCount: _chunkCount, ...rest } = stored;
  return { ...rest, result: { ...stored.result, records } };
}

let reportedFailure = false;

function reportSaveFailure(error: unknown): void {
  if (reportedFailure) return;
  reportedFailure = true;
  useNotices.getState().push({
    tone: 'warning',
    code: 'persistence-failed',
    title: 'Prompt sets are not being saved',
    message: `Your prompt sets stay available on this page, but could not be saved in the browser (${
      error instanceof Error ? error.message : String(error)
    }), so they will be gone after a reload.`,
  });
}

/**
 * Restores saved sets into the store, then mirrors every change back to IndexedDB.
 * Returns a function that stops mirroring.
 */
export async function startPromptSetPersistence(): Promise<() => void> {
  let db: IDBDatabase;
  let savedIds: Set<string>;
  try {
    db = await openDatabase();
    const saved = (await result(db.transaction(SETS, 'readonly').objectStore(SETS).getAll())) as StoredPromptSet[];
    savedIds = new Set(saved.map((s) => s.id));
    const restored: PromptSet[] = [];
    for (const stored of saved.sort((a, b) => a.loadedAt - b.loadedAt)) {
      const promptSet = await readSet(db, stored);
      if (promptSet) restored.push(promptSet);
      else await deleteSet(db, stored.id);
    }
    const known = new Set(usePromptSets.getState().sets.map((s) => s.id));
    const fresh = restored.filter((s) => !known.has(s.id));
    if (fresh.length > 0) usePromptSets.getState().restore(fresh);
  } catch (error) {
    reportSaveFailure(error);
    return () => undefined;
  }

  let written = new Map(usePromptSets.getState().sets.map((s) => [s.id, s] as const));
  // Sets added while the database was opening are not saved yet.
  let chain = writeChanges(db, new Map(), usePromptSets.getState().sets.filter((s) => !savedIds.has(s.id)));

  const unsubscribe = usePromptSets.subscribe((state) => {
    const previous = written;
    written = new Map(state.sets.map((s) => [s.id, s] as const));
    chain = chain.then(() => writeChanges(db, previous, state.sets));
  });
  return () => {
    unsubscribe();
    db.close();
  };
}

async function writeChanges(db: IDBDatabase, before: ReadonlyMap<string, PromptSet>, after: readonly PromptSet[]): Promise<void> {
  const afterIds = new Set(after.map((s) => s.id));
  try {
    for (const promptSet of after) {
      const previous = before.get(promptSet.id);
      if (previous === promptSet) continue;
      // A new seed alone changes one number: skip rewriting every record for it.
      if (previous && previous.result === promptSet.result) await writeMetadataOnly(db, promptSet);
      else await writeSet(db, promptSet);
    }
    for (const id of before.keys()) if (!afterIds.has(id)) await deleteSet(db, id);
  } catch (error) {
    reportSaveFailure(error);
  }
}

async function writeMetadataOnly(db: IDBDatabase, promptSet: PromptSet): Promise<void> {
  const store = db.transaction(SETS, 'readwrite').objectStore(SETS);
  const stored = (await result(store.get(promptSet.id))) as StoredPromptSet | undefined;
  if (!stored) return;
  const { result: _result, ...rest } = promptSet;
  const transaction = db.transaction(SETS, 'readwrite');
  transaction.objectStore(SETS).put({ ...stored, ...rest });
  await done(transaction);
}
