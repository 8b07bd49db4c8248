/**
 * The model files the app serves and their hashes: written by the Vite plugin
 * (scripts/vite-models-plugin.ts) from the repository's `models/` folder when the dev server or the
 * build starts, and compiled into the page, so the page knows every file's sha256 before it asks the
 * network for anything (a second visit can then load from the cache with no request at all).
 */

/** What a file is, for the byte counts people see and the load benchmark (reports/bench-load.json). */
export type ModelFileKind = 'weights' | 'graph' | 'generator' | 'tokenizer' | 'config';

export interface ModelFile {
  /** Path below the models folder, e.g. `base/model.safetensors`. */
  path: string;
  bytes: number;
  /** Lower-case hex sha256 of the file. */
  sha256: string;
  kind: ModelFileKind;
}

export interface ModelManifest {
  files: ModelFile[];
}

/** The manifest entry of `url` (a file below `modelsUrl`), if there is one. */
export function manifestEntry(manifest: ModelManifest | undefined, modelsUrl: string, url: string): ModelFile | undefined {
  if (!manifest) return undefined;
  const base = new URL(modelsUrl.endsWith('/') ? modelsUrl : `${modelsUrl}/`, globalThis.location?.href);
  const target = new URL(url, base).href;
  return manifest.files.find((f) => new URL(f.path, base).href === target);
}

/** Which kind a file is, from its name (the plugin's rule, shared so both sides agree). */
export function modelFileKind(path: string): ModelFileKind {
  const name = path.split('/').pop() ?? path;
  if (name === 'model.safetensors') return 'weights';
  if (name.endsWith('.onnx') || name === 'graphs.json') return 'graph';
  if (path.startsWith('generator/') || name.startsWith('generator')) return 'generator';
  if (name.startsWith('tokenizer') || name === 'special_tokens_map.json') return 'tokenizer';
  return 'config';
}
