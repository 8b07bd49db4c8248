/**
 * The transformers.js peer of the decode benchmark, in transformers.js's own folder naming
 * (`<name>/config.json`, tokenizer files, `<name>/onnx/model.onnx`), under build/tjs-peer/ (a build
 * output, never served to the app's users):
 *
 * - `hf`: the standard Hugging Face / Optimum decoder export (fp32 weights inside the file, left
 *   padding, position ids, all positions' logits), written by trainer/export/onnx_model.py: needs Python
 *   with torch, so without it this peer is skipped and the report says why;
 * - `web`: our own decoder.onnx (no LoRA inputs) beside model.safetensors, loaded by
 *   transformers.js through its `externalData` session option: the same graph for both loops.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from './models-manifest.ts';

const FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

function copyModelFiles(modelDir: string, out: string): void {
  mkdirSync(join(out, 'onnx'), { recursive: true });
  for (const f of FILES) if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(out, f));
}

/** Builds (or finds up to date) the peers; returns why `hf` is missing, or null when both exist. */
export function buildPeers(root: string, python = '/usr/bin/python3'): { hfError: string | null } {
  const modelDir = join(root, 'models/base');
  const peers = join(root, 'build/tjs-peer');
  const web = join(peers, 'web');
  copyModelFiles(modelDir, web);
  copyFileSync(join(modelDir, 'decoder.onnx'), join(web, 'onnx/model.onnx'));
  copyFileSync(join(modelDir, 'model.safetensors'), join(web, 'model.safetensors'));

  const hf = join(peers, 'hf');
  copyModelFiles(modelDir, hf);
  const sidecar = join(hf, 'onnx/export.json');
  const want = sha256File(join(modelDir, 'model.safetensors'));
  if (existsSync(join(hf, 'onnx/model.onnx')) && existsSync(sidecar) && readFileSync(sidecar, 'utf8').includes(want)) return { hfError: null };
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { hfError: `${python} with torch is needed to export the standard ONNX file (trainer/export/onnx_model.py)` };
  const run = spawnSync(python, ['-m', 'trainer.export.onnx_model', '--model', modelDir, '--out', join(hf, 'onnx'), '--lora-targets', 'none', '--no-encoder'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  return { hfError: run.status === 0 ? null : `trainer/export/onnx_model.py failed (exit ${String(run.status)})` };
}
