/**
 * Keeps the person's prompt sets in IndexedDB, so a reload (or a crashed tab) does not lose them.
 * Sets are written when added or changed and deleted when removed; a failure to save is reported
 * once and the page keeps working from memory.
 */
import { useNotices } from './notices';
import { usePromptSets, type PromptSet } from './promptSets';

const DB_NAME = 'dnd-lora';
const DB_VERSION = 1;
const STORE = 'promptSets';

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available in this browser'));
      return;
    }
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
    request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  });
}

function finish(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB write failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB write was aborted'));
  });
}

async function readAll(db: IDBDatabase): Promise<PromptSet[]> {
  const request = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result as PromptSet[]);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB read failed'));
  });
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
    const saved = await readAll(db);
    savedIds = new Set(saved.map((s) => s.id));
    const current = usePromptSets.getState();
    const known = new Set(current.sets.map((s) => s.id));
    const restored = saved.filter((s) => !known.has(s.id)).sort((a, b) => a.loadedAt - b.loadedAt);
    if (restored.length > 0) current.restore(restored);
  } catch (error) {
    reportSaveFailure(error);
    return () => undefined;
  }

  let written = new Map(usePromptSets.getState().sets.map((s) => [s.id, s] as const));
  // Sets added while the database was opening are not saved yet.
  let chain = writeChanges(
    db,
    new Map(),
    usePromptSets.getState().sets.filter((s) => !savedIds.has(s.id)),
  );

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
  const changed = after.filter((s) => before.get(s.id) !== s);
  const removed = [...before.keys()].filter((id) => !afterIds.has(id));
  if (changed.length === 0 && removed.length === 0) return;
  try {
    const transaction = db.transaction(STORE, 'readwrite');
    const store = transaction.objectStore(STORE);
    for (const promptSet of changed) store.put(promptSet);
    for (const id of removed) store.delete(id);
    await finish(transaction);
  } catch (error) {
    reportSaveFailure(error);
  }
}
