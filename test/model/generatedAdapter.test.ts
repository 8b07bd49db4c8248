/**
 * A version-2 generator written by the trainer's own code (trainer/fixtures/random_release_v2.py ->
 * trainer/generator/release.py `write_release`, random weights, a tiny base of one layer's q_proj)
 * through the browser's path without WebGPU (src/model/generatedAdapter.ts): it loads with its gate;
 * the adapter generated at the gate's strength g has A unchanged and every B = g x the ungated B;
 * its PEFT export holds B·g with the standard lora_alpha / r (no rsLoRA flag), so PEFT in Python
 * applies the same delta; g = 0 gives an adapter equal to the base model; a gate on the "output"
 * feature reads the decoder's raw output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePeftAdapter, parsePeftAdapter, type AdapterData, type LoraShape } from '../../src/model/adapters';
import { createGenerator, runGeneratorOnCpu, type GeneratorHandle } from '../../src/model/generatedAdapter';
import { knnGate, outputFeature, pooledFeature } from '../../src/generator/gate';
import { runReferenceGenerator } from '../../src/generator/referenceRuntime';
import { parseSafetensors } from '../../src/generator/safetensors';

const PYTHON = '/usr/bin/python3';
const BASE_BYTES = 'a stand-in for model.safetensors';
const SHAPE: LoraShape = {
  layers: 1, targets: ['q_proj'], rank: 2, dims: { q_proj: { in: 4, out: 4 } },
  baseSha256: createHash('sha256').update(BASE_BYTES).digest('hex'),
  groups: [], // the CPU path registers matrices; the graph's grouped inputs are not built here
};
const [P, L, C] = [2, 3, 4];

/** Writes a random v2 generator with the trainer's code; returns its two files. */
function writeGenerator(dir: string, extra: string[] = []): { manifest: string; weights: Uint8Array } {
  const out = join(dir, `gen${extra.join('')}`);
  const run = spawnSync(PYTHON, [
    '-m', 'trainer.fixtures.random_release_v2', '--schedule', join(dir, 'schedule.json'), '--base', join(dir, 'base'), '--out', out,
    '--max-input-tokens', '7', '--tasks', '5', ...extra,
  ], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`random_release_v2 failed (${String(run.status)}):\n${run.stdout}\n${run.stderr}`);
  return { manifest: readFileSync(join(out, 'generator.json'), 'utf8'), weights: new Uint8Array(readFileSync(join(out, 'generator.safetensors'))) };
}

/** A (P, L, C) condition with the rows after each prompt's length zero (prompt 1 has 2 of 3 rows). */
function condition(): Float32Array {
  const c = Float32Array.from({ length: P * L * C }, (_, i) => Math.sin(1.7 * i + 0.3));
  c.fill(0, (1 * L + 2) * C, 2 * L * C);
  return c;
}

const B_NAME = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
const A_NAME = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';

describe('a version-2 generator (trainer-written) on the CPU path: the gate scales B', () => {
  let tmp = '';
  let gated: GeneratorHandle;
  let ungated: GeneratorHandle;
  let off: GeneratorHandle;
  let byOutput: GeneratorHandle;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'generator-v2-'));
    writeFileSync(join(tmp, 'schedule.json'), JSON.stringify({
      decoder: { features: [[P, L, C], [4, 2, 3]], kernel_sizes: [3] },
      lora: { num_layers: 1, rank: 2, alpha: 4, modules: [['q_proj', 'self_attn', 4, 4]] },
    }));
    mkdirSync(join(tmp, 'base'));
    writeFileSync(join(tmp, 'base', 'model.safetensors'), BASE_BYTES);
    const files = writeGenerator(tmp);
    gated = createGenerator(undefined, files.manifest, files.weights, SHAPE);
    // the same file read without its gate section (a version-2 manifest may omit it)
    const { gate: _, ...withoutGate } = JSON.parse(files.manifest) as Record<string, unknown>;
    ungated = createGenerator(undefined, JSON.stringify(withoutGate), files.weights, SHAPE);
    const zero = writeGenerator(tmp, ['--gate-scale', '0']);
    off = createGenerator(undefined, zero.manifest, zero.weights, SHAPE);
    const output = writeGenerator(tmp, ['--gate-feature', 'output']);
    byOutput = createGenerator(undefined, output.manifest, output.weights, SHAPE);
  }, 120_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('loads as version 2 with a tail window and a 5-task gate', () => {
    const { manifest, gate } = gated.loaded;
    expect(manifest.version).toBe(2);
    expect(manifest.encoder).toMatchObject({ window: 'tail', max_input_tokens: 7, max_tokens: L });
    expect(manifest.tokens.normalization).toBe('shared_lora_residual');
    expect(gate?.scales.length).toBe(5);
    expect(gate?.names).toEqual(['stand-in task 1', 'stand-in task 2', 'stand-in task 3', 'stand-in task 4', 'stand-in task 5']);
    expect(ungated.loaded.gate).toBeNull();
    expect(ungated.loaded.warnings.join(' ')).toMatch(/gate\.centroids/);
  });

  it('the adapter at strength g: A unchanged, B = g x B, scale alpha / r; the export holds B·g, lora_alpha 4, r 2, no rsLoRA', async () => {
    const cond = condition();
    const g = knnGate(gated.loaded.gate!, pooledFeature(cond, P, L, C)).value;
    expect(g).toBeGreaterThan(0.01);
    expect(g).toBeLessThan(0.99);
    const { data: raw, gate: none } = await runGeneratorOnCpu(ungated, cond, SHAPE, 'raw');
    const { data: applied, gate } = await runGeneratorOnCpu(gated, cond, SHAPE, 'applied');
    expect(none).toBeNull();
    expect(gate?.value).toBe(g);
    expect(gate?.neighbours).toHaveLength(3);
    expect(applied.scale).toBe(2);
    expect(applied.matrices.get(A_NAME)!.data).toEqual(raw.matrices.get(A_NAME)!.data);
    const rawB = raw.matrices.get(B_NAME)!.data;
    expect(rawB.some((v) => v !== 0)).toBe(true);
    expect(applied.matrices.get(B_NAME)!.data).toEqual(rawB.map((v) => Math.fround(v * g)));

    const { config, safetensors } = encodePeftAdapter(applied, SHAPE);
    expect(JSON.parse(config)).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4, use_rslora: false });
    const file = parseSafetensors(safetensors, 'adapter_model.safetensors');
    expect(file.float32(B_NAME)).toEqual(applied.matrices.get(B_NAME)!.data);
    // imported back it is the same adapter: same scale, same matrices
    const back: AdapterData = parsePeftAdapter(config, safetensors, SHAPE, 'back');
    expect(back.scale).toBe(applied.scale);
    expect(back.matrices.get(B_NAME)!.data).toEqual(applied.matrices.get(B_NAME)!.data);
  });

  it('g = 0 (every gate scale 0): the adapter changes nothing, its B are zero', async () => {
    const cond = condition();
    expect(knnGate(off.loaded.gate!, pooledFeature(cond, P, L, C)).value).toBe(0);
    const { data: adapter, gate } = await runGeneratorOnCpu(off, cond, SHAPE, 'off');
    expect(gate?.value).toBe(0);
    expect(adapter.matrices.get(B_NAME)!.data.every((v) => v === 0)).toBe(true);
    expect(adapter.matrices.get(A_NAME)!.data.some((v) => v !== 0)).toBe(true);
  });

  it('an "output" gate: g from the decoder output\'s token means and stds (4 tokens of 2 x 3)', async () => {
    const cond = condition();
    expect(byOutput.loaded.gate?.feature).toBe('output');
    expect(byOutput.loaded.gate?.width).toBe(8);
    const reference = await runReferenceGenerator(byOutput.loaded, cond);
    const want = knnGate(byOutput.loaded.gate!, outputFeature(reference.layers.at(-1)!, 4, 6));
    const { data, gate } = await runGeneratorOnCpu(byOutput, cond, SHAPE, 'by output');
    expect(gate).toEqual(want);
    const rawB = reference.lora[0]!.get(B_NAME)!;
    expect(data.matrices.get(B_NAME)!.data).toEqual(rawB.map((v) => Math.fround(v * want.value)));
  });
});
