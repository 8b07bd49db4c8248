/**
 * Loading the model by itself on page load when it is already in this browser: when every model
 * file the last completed load here used is kept in Cache Storage with the hash this page was
 * built for (src/model/modelCache.ts), `loadModel` starts at once and reads them from there, so
 * nothing is downloaded. Otherwise (a first visit, files cleared, a new model version) the page
 * waits for "Load model", which downloads them.
 *
 * The files of the last load are remembered in localStorage when a load completes (the graph used
 * depends on the backend, so "every file of the manifest" would be the wrong question).
 */
import { create } from 'zustand';
import modelManifest from 'virtual:dnd-model-manifest';
import { isModelFileKept } from '../model/modelCache';
import { manifestEntry } from '../model/modelFiles';
import { loadModel, modelsUrl, useEngine } from './engine';

const LAST_FILES_KEY = 'dnd-lora-last-model-files';

interface AutoLoadState {
  /** True when this page started the load by itself (the loader says so). */
  started: boolean;
}

export const useModelAutoLoad = create<AutoLoadState>()(() => ({ started: false }));

function lastLoadedFiles(): string[] | null {
  try {
    const saved = JSON.parse(localStorage.getItem(LAST_FILES_KEY) ?? 'null') as unknown;
    return Array.isArray(saved) && saved.length > 0 && saved.every((p) => typeof p === 'string') ? saved : null;
  } catch {
    return null;
  }
}

function rememberLoadedFiles(paths: readonly string[]): void {
  try {
    localStorage.setItem(LAST_FILES_KEY, JSON.stringify([...new Set(paths)]));
  } catch {
    // storage disabled: the next visit asks for "Load model"
  }
}

/** True when every file of the last load is kept here with its current hash (nothing to download). */
export async function keptModelComplete(): Promise<boolean> {
  const paths = lastLoadedFiles();
  if (!paths) return false;
  const base = modelsUrl();
  for (const path of paths) {
    const url = new URL(path, base).href;
    const entry = manifestEntry(modelManifest, base, url);
    if (!entry || !(await isModelFileKept(url, entry).catch(() => false))) return false;
  }
  return true;
}

/**
 * Remembers the files of every completed load, and loads the model now when they are all kept in
 * this browser. Call once at page start.
 */
export async function startModelAutoLoad(): Promise<void> {
  useEngine.subscribe((state, previous) => {
    if (state.status === 'ready' && previous.status !== 'ready' && state.info) {
      rememberLoadedFiles(state.info.loadedFiles.files.map((f) => f.path));
    }
  });
  if (useEngine.getState().status !== 'idle' || !(await keptModelComplete())) return;
  // a person may have pressed Load model meanwhile
  if (useEngine.getState().status !== 'idle') return;
  useModelAutoLoad.setState({ started: true });
  await loadModel();
}
