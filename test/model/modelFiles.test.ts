// The pieces that decide which file a load fetches and how it is kept: the graph for a device
// (src/model/graphs.ts), a URL's manifest entry and a file's kind (src/model/modelFiles.ts), and
// the Node side's manifest of the committed models (scripts/models-manifest.ts).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseGraph, loraTargets, type GraphsInfo } from '../../src/model/graphs';
import { manifestEntry, modelFileKind } from '../../src/model/modelFiles';
import { buildManifest, checkModelFolder } from '../../scripts/models-manifest';

const info = JSON.parse(readFileSync('models/base/graphs.json', 'utf8')) as GraphsInfo;

describe('model files', () => {
  it('picks the fp16-compute graph only where asked and listed, with or without LoRA inputs', () => {
    expect(chooseGraph(info, { lora: true, f16: false })).toBe('decoder_lora.onnx');
    expect(chooseGraph(info, { lora: true, f16: true })).toBe('decoder_lora_f16.onnx');
    expect(chooseGraph(info, { lora: false, f16: false })).toBe('decoder.onnx');
    const noHalf = { ...info, graphs: { 'decoder_lora.onnx': info.graphs['decoder_lora.onnx'] } };
    expect(chooseGraph(noHalf, { lora: true, f16: true })).toBe('decoder_lora.onnx');
    expect(loraTargets(info)).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  });

  it('the manifest lists every served file with its size and sha256, and finds a URL\'s entry', () => {
    const manifest = buildManifest('models');
    const weights = manifest.files.find((f) => f.path === 'base/model.safetensors');
    expect(weights?.kind).toBe('weights');
    expect(weights?.sha256).toBe(createHash('sha256').update(readFileSync('models/base/model.safetensors')).digest('hex'));
    expect(manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining([
      'base/decoder_lora.onnx', 'base/graphs.json', 'base/tokenizer.json', 'generator/generator.safetensors',
    ]));
    const base = 'http://localhost:5173/tools/app/models/';
    expect(manifestEntry(manifest, base, `${base}base/model.safetensors`)?.path).toBe('base/model.safetensors');
    expect(manifestEntry(manifest, base, 'http://localhost:5173/models/base/model.safetensors')).toBeUndefined();
    expect(['base/decoder.onnx', 'base/graphs.json', 'generator/generator.json', 'base/tokenizer_config.json', 'base/config.json'].map(modelFileKind))
      .toEqual(['graph', 'graph', 'generator', 'tokenizer', 'config']);
  });

  it('start and build refuse weights that the graphs were not written for, naming the command', () => {
    expect(checkModelFolder('models/base')).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'model-folder-'));
    try {
      cpSync('models/base', dir, { recursive: true });
      const weights = readFileSync(join(dir, 'model.safetensors'));
      weights[weights.length - 1] = (weights[weights.length - 1] ?? 0) ^ 0xff;
      writeFileSync(join(dir, 'model.safetensors'), weights);
      const problems = checkModelFolder(dir);
      expect(problems.join('\n')).toMatch(/not the file graphs\.json was written for.*python3 -m trainer web-graphs --model/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
