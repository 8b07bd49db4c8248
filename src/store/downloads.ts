/**
 * What this page has downloaded, measured by the browser (src/model/downloadTally.ts): the page's
 * own responses and the model worker's, summed when a model load completes. The loader shows it
 * ("This page has downloaded 57.0 MB: ..."); the size of the last load that downloaded the model
 * files is remembered, so a later visit that must download them again can say what that costs.
 */
import { create } from 'zustand';
import { resourceSizes, tallyDownloads, type DownloadTally, type ResourceSize } from '../model/downloadTally';

interface DownloadsState {
  /** Page and model worker, from navigation to the last completed load; null before one. */
  tally: DownloadTally | null;
}

export const useDownloads = create<DownloadsState>()(() => ({ tally: null }));

const LAST_FULL_KEY = 'dnd-lora-last-full-download';

/**
 * Sums the page's responses and `workerSizes` (the model worker's), shows the total and, when the
 * model files came over the network, remembers it for later visits.
 */
export function recordDownloads(workerSizes: readonly ResourceSize[]): DownloadTally {
  const tally = tallyDownloads([...resourceSizes(), ...workerSizes]);
  useDownloads.setState({ tally });
  if (tally.byKind.model > 0) {
    try {
      localStorage.setItem(LAST_FULL_KEY, JSON.stringify(tally));
    } catch {
      // storage disabled: the next visit shows the size as the files arrive
    }
  }
  return tally;
}

/** The measured size of the last load in this browser that downloaded the model files, if any. */
export function lastFullDownload(): DownloadTally | null {
  try {
    const saved = JSON.parse(localStorage.getItem(LAST_FULL_KEY) ?? 'null') as Partial<DownloadTally> | null;
    const kinds = saved?.byKind;
    return saved && typeof saved.bytes === 'number' && kinds && typeof kinds.model === 'number' && typeof kinds.wasm === 'number' && typeof kinds.page === 'number'
      ? { bytes: saved.bytes, byKind: { model: kinds.model, wasm: kinds.wasm, page: kinds.page }, responses: saved.responses ?? 0 }
      : null;
  } catch {
    return null;
  }
}
