import { DOWNLOAD_KINDS, type DownloadKind, type DownloadTally } from '../../model/downloadTally';
import { formatBytes } from './format';

const KIND_NAMES: Record<DownloadKind, string> = {
  model: 'model files',
  wasm: 'onnxruntime WebAssembly',
  page: 'scripts and page',
};

/** "51.8 MB of model files, 4.6 MB of onnxruntime WebAssembly and 0.6 MB of scripts and page". */
export function describeKinds(tally: DownloadTally): string {
  const parts = DOWNLOAD_KINDS.filter((kind) => tally.byKind[kind] > 0).map((kind) => `${formatBytes(tally.byKind[kind])} of ${KIND_NAMES[kind]}`);
  return parts.length <= 1 ? (parts[0] ?? 'nothing') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`;
}

/**
 * What the page (and its model worker) has downloaded, as the browser measured it: the total and
 * its parts, in SI units, and where the number comes from.
 */
export function DownloadSize({ tally }: { tally: DownloadTally }) {
  return (
    <p
      className="hint"
      data-testid="model-download-size"
      data-bytes={tally.bytes}
      data-model={tally.byKind.model}
      data-wasm={tally.byKind.wasm}
      data-page={tally.byKind.page}
    >
      This page has downloaded <strong>{formatBytes(tally.bytes)}</strong> so far: {describeKinds(tally)}. That is what this
      browser received, page and model worker (Resource Timing): compressed where the server compressed, nothing for files it
      already had; 1 MB = 1,000,000 bytes.
    </p>
  );
}
