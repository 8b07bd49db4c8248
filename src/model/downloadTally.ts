/**
 * What this page downloaded, as the browser measured it (Resource Timing: `transferSize` and
 * `encodedBodySize` of every response, page and workers): the bytes of each response body as they
 * came over the network (the compressed size where the server compressed), nothing for a response
 * from the HTTP cache, and only the headers of a 304 revalidation. Files read from Cache Storage are
 * no network response, so they count nothing either. Sizes are told in SI units (1 MB = 10^6 bytes),
 * as browsers' network panels and hosting bills do.
 */

/** model: below `models/`; wasm: WebAssembly binaries (onnxruntime-web); page: HTML, scripts, styles, the rest. */
export type DownloadKind = 'model' | 'wasm' | 'page';

export const DOWNLOAD_KINDS: readonly DownloadKind[] = ['model', 'wasm', 'page'];

/** What matters here of one Resource Timing entry (plain data: crosses a worker boundary). */
export interface ResourceSize {
  name: string;
  transferSize: number;
  encodedBodySize: number;
  /** The HTTP status, where the browser gives it (Chromium 109+); 0 when unknown. */
  responseStatus: number;
}

export interface DownloadTally {
  /** Bytes received in all. */
  bytes: number;
  byKind: Record<DownloadKind, number>;
  /** Responses that came over the network (not from the HTTP cache). */
  responses: number;
}

export function downloadKindOf(url: string): DownloadKind {
  const path = (url.split(/[?#]/)[0] ?? url).toLowerCase();
  if (/\/models\//.test(path)) return 'model';
  if (path.endsWith('.wasm')) return 'wasm';
  return 'page';
}

/**
 * Body bytes received for one response: its encoded (as sent) size; 0 from the HTTP cache
 * (`transferSize` 0) and for a 304, where the cached body was reused: a response whose transfer
 * (headers and body) is smaller than its body cannot have carried it (`responseStatus` does not
 * say 304 for every revalidation). A 304 of a body smaller than its headers, a few hundred bytes
 * at most, is still counted.
 */
export function bytesReceived(entry: ResourceSize): number {
  if (entry.transferSize <= 0 || entry.responseStatus === 304 || entry.transferSize < entry.encodedBodySize) return 0;
  return entry.encodedBodySize;
}

export function tallyDownloads(entries: Iterable<ResourceSize>): DownloadTally {
  const tally: DownloadTally = { bytes: 0, byKind: { model: 0, wasm: 0, page: 0 }, responses: 0 };
  for (const entry of entries) {
    const bytes = bytesReceived(entry);
    if (entry.transferSize <= 0) continue; // from the HTTP cache: no response came
    tally.responses++;
    tally.bytes += bytes;
    tally.byKind[downloadKindOf(entry.name)] += bytes;
  }
  return tally;
}

/** This global's (page or worker) navigation and resource entries, as plain data. */
export function resourceSizes(perf: Performance = performance): ResourceSize[] {
  const entries = [...perf.getEntriesByType('navigation'), ...perf.getEntriesByType('resource')] as (PerformanceResourceTiming & { responseStatus?: number })[];
  return entries.map((e) => ({ name: e.name, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, responseStatus: e.responseStatus ?? 0 }));
}

/**
 * Room for every entry of a visit: browsers keep 250 resource entries per page or worker by default
 * and drop the rest (the dev server serves each source file as its own module).
 */
export const RESOURCE_BUFFER_SIZE = 10_000;
