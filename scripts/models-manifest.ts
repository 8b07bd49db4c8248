/**
 * The model files the app serves, read from the repository's `models/` folder by Node alone (no
 * Python): every file of `models/base/` and `models/generator/` with its size and sha256, and the
 * check that the committed web graphs (`models/base/graphs.json`, trainer/export/web_graphs.py) were
 * written for the committed weights and config, so a retrained model without regenerated graphs
 * fails at start with a message saying what to run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { modelFileKind, type ModelFile, type ModelManifest } from '../src/model/modelFiles.ts';

/** The folders below `models/` that the page loads from. */
export const SERVED_FOLDERS = ['base', 'generator'];

const hashes = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** sha256 of a file, remembered by path, size and modification time (the dev server asks often). */
export function sha256File(path: string): string {
  const st = statSync(path);
  const known = hashes.get(path);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.sha256;
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  hashes.set(path, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  return sha256;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return listFiles(path);
    return e.isFile() && !e.name.startsWith('.') ? [path] : [];
  });
}

/** Every served file below `modelsDir` with its size and hash (paths use `/`). */
export function buildManifest(modelsDir: string): ModelManifest {
  const files: ModelFile[] = [];
  for (const folder of SERVED_FOLDERS) {
    for (const path of listFiles(join(modelsDir, folder)).sort()) {
      const rel = relative(modelsDir, path).split(sep).join('/');
      files.push({ path: rel, bytes: statSync(path).size, sha256: sha256File(path), kind: modelFileKind(rel) });
    }
  }
  return { files };
}

interface GraphsJson {
  weights: { file: string; bytes: number; sha256: string };
  config_sha256: string;
  graphs: Record<string, { sha256: string; bytes: number }>;
}

/**
 * What does not match between `models/base/graphs.json`, the graphs and the weights and config
 * beside them (empty: all good). The byte-level check of every external reference is
 * test/onnx/graphs.test.ts and trainer/export/web_graphs.py `check_graphs`; this is the fast one for start.
 */
export function checkModelFolder(modelDir: string): string[] {
  const sidecar = join(modelDir, 'graphs.json');
  if (!existsSync(sidecar)) return [`${sidecar} is missing: run python3 -m trainer web-graphs --model ${modelDir}`];
  const side = JSON.parse(readFileSync(sidecar, 'utf8')) as GraphsJson;
  const problems: string[] = [];
  const regenerate = `regenerate the graphs: python3 -m trainer web-graphs --model ${modelDir}`;
  const weights = join(modelDir, side.weights.file);
  if (!existsSync(weights)) problems.push(`${weights} is missing`);
  else if (statSync(weights).size !== side.weights.bytes || sha256File(weights) !== side.weights.sha256) {
    problems.push(`${weights} is not the file graphs.json was written for (size or sha256 differ): ${regenerate}`);
  }
  const config = join(modelDir, 'config.json');
  if (!existsSync(config) || sha256File(config) !== side.config_sha256) problems.push(`${config} differs from the one graphs.json was written for: ${regenerate}`);
  for (const [name, entry] of Object.entries(side.graphs)) {
    const path = join(modelDir, name);
    if (!existsSync(path)) problems.push(`${path} is missing: ${regenerate}`);
    else if (sha256File(path) !== entry.sha256) problems.push(`${path} differs from graphs.json: ${regenerate}`);
  }
  return problems;
}
