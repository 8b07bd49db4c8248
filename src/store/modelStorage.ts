/**
 * The model files this browser keeps for the next visit (Cache Storage, src/model/modelCache.ts):
 * how much is kept, and clearing it. The page reads and clears the cache itself (it is shared by the
 * page and the engine worker); a loaded model keeps running from memory after a clear.
 */
import { create } from 'zustand';
import { clearModelCache, modelCacheUsage, type ModelCacheUsage } from '../model/modelCache';

interface ModelStorageState {
  usage: ModelCacheUsage | null;
  clearing: boolean;
  /** What the last clear removed, for the confirmation line; null before any. */
  cleared: ModelCacheUsage | null;
  error: string | null;
}

export const useModelStorage = create<ModelStorageState>()(() => ({ usage: null, clearing: false, cleared: null, error: null }));

export async function refreshModelStorage(): Promise<void> {
  try {
    useModelStorage.setState({ usage: await modelCacheUsage() });
  } catch (e) {
    useModelStorage.setState({ error: `The browser's storage could not be read (${e instanceof Error ? e.message : String(e)}).` });
  }
}

export async function clearModelStorage(): Promise<void> {
  if (useModelStorage.getState().clearing) return;
  useModelStorage.setState({ clearing: true, error: null });
  try {
    const before = await modelCacheUsage();
    await clearModelCache();
    useModelStorage.setState({ cleared: before, usage: await modelCacheUsage() });
  } catch (e) {
    useModelStorage.setState({ error: `The downloaded models could not be cleared (${e instanceof Error ? e.message : String(e)}).` });
  } finally {
    useModelStorage.setState({ clearing: false });
  }
}
