import { describe, expect, it } from 'vitest';

import { GeneratorFormatError, TokenDataError } from '../../src/generator/errors';
import {
  buildLoraLayout,
  detokenizeReference,
  layoutFromManifest,
  layoutMask,
  matrixKey,
  peftAdapterTensors,
  peftTensorName,
  tokenizeReference,
  type LoraLayoutConfig,
} from '../../src/generator/loraLayout';
import { parseGeneratorManifest } from '../../src/generator/manifest';
import { encodeSafetensors, parseSafetensors } from '../../src/generator/safetensors';
import { FIXTURE_SKIP_REASON, fixturePresent, randomFloats, readFixture, validManifestJson } from './helpers';

const CONFIG: LoraLayoutConfig = {
  rank: 2,
  num_layers: 2,
  target_modules: ['q_proj', 'v_proj'],
  modules: {
    q_proj: { parent: 'self_attn', in: 16, out: 16 },
    v_proj: { parent: 'self_attn', in: 16, out: 8 },
  },
};

describe('buildLoraLayout', () => {
  it('walks layers, then modules in config order, then A before B, packing tokens', () => {
    const layout = buildLoraLayout(CONFIG, 4, 5);
    expect(layout.tokenCount).toBe(14);
    expect(layout.entries.map((e) => [e.layer, e.module, e.matrix, e.rows, e.cols, e.token_offset, e.token_count])).toEqual([
      [0, 'q_proj', 'A', 2, 16, 0, 2],
      [0, 'q_proj', 'B', 16, 2, 2, 2],
      [0, 'v_proj', 'A', 2, 16, 4, 2],
      [0, 'v_proj', 'B', 8, 2, 6, 1],
      [1, 'q_proj', 'A', 2, 16, 7, 2],
      [1, 'q_proj', 'B', 16, 2, 9, 2],
      [1, 'v_proj', 'A', 2, 16, 11, 2],
      [1, 'v_proj', 'B', 8, 2, 13, 1],
    ]);
  });

  it('equals the layout stored in a manifest', () => {
    const manifest = parseGeneratorManifest(validManifestJson());
    const fromManifest = layoutFromManifest(manifest);
    const built = buildLoraLayout(manifest.lora, manifest.tokens.height, manifest.tokens.width);
    expect(fromManifest.entries).toEqual(built.entries);
    expect(fromManifest.tokenCount).toBe(built.tokenCount);
    expect(fromManifest.parents).toEqual(built.parents);
  });

  it('uses PEFT tensor names with the parent from the module table', () => {
    const layout = buildLoraLayout(
      {
        rank: 4,
        num_layers: 1,
        target_modules: ['q_proj', 'down_proj'],
        modules: { q_proj: { parent: 'self_attn', in: 8, out: 8 }, down_proj: { parent: 'mlp', in: 24, out: 8 } },
      },
      2,
      3,
    );
    expect(layout.entries.map((e) => matrixKey(layout, e))).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight',
      'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight',
    ]);
    expect(layout.entries.map((e) => e.token_count)).toEqual([6, 6, 16, 6]); // 32/6, 32/6, 96/6, 32/6 rounded up
    expect(peftTensorName(3, 'mlp', 'up_proj', 'B')).toBe('base_model.model.model.layers.3.mlp.up_proj.lora_B.weight');
  });

  it('refuses configurations it cannot lay out', () => {
    expect(() => buildLoraLayout({ ...CONFIG, target_modules: ['q_proj', 'k_proj'] }, 4, 5)).toThrow(GeneratorFormatError);
    expect(() => buildLoraLayout({ ...CONFIG, target_modules: ['q_proj', 'k_proj'] }, 4, 5)).toThrow(/lora\.modules\.k_proj/);
    expect(() => buildLoraLayout({ ...CONFIG, rank: 0 }, 4, 5)).toThrow(/lora\.rank/);
    expect(() => buildLoraLayout(CONFIG, 0, 5)).toThrow(/tokens\.height/);
    expect(() => buildLoraLayout({ ...CONFIG, target_modules: ['q_proj', 'q_proj'] }, 4, 5)).toThrow(/twice/);
  });

  it('marks real values and padding in the mask', () => {
    const layout = buildLoraLayout(CONFIG, 4, 5);
    const mask = layoutMask(layout);
    expect(mask.length).toBe(14 * 20);
    // q_proj A: 32 values in tokens 0-1 (40 slots): 8 padding slots at the end of token 1
    expect(Array.from(mask.subarray(0, 32)).every((v) => v === 1)).toBe(true);
    expect(Array.from(mask.subarray(32, 40)).every((v) => v === 0)).toBe(true);
    // v_proj B: 16 values in token 6
    expect(Array.from(mask.subarray(120, 136)).every((v) => v === 1)).toBe(true);
    expect(Array.from(mask.subarray(136, 140)).every((v) => v === 0)).toBe(true);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(2 * (32 + 32 + 32 + 16));
  });
});

describe('detokenizeReference', () => {
  const layout = buildLoraLayout(CONFIG, 4, 5);
  const size = 14 * 20;

  it('un-normalises value = out * std + mean and cuts matrices row-major', () => {
    const tokens = new Float32Array(size).map((_, i) => i);
    const mean = new Float32Array(size).fill(0.5);
    const std = new Float32Array(size).fill(2);
    const out = detokenizeReference(tokens, mean, std, layout);
    expect(out.size).toBe(8);
    expect([...out.keys()][0]).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    const qA0 = out.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(qA0?.length).toBe(32);
    expect(qA0?.[0]).toBe(0.5);
    expect(qA0?.[17]).toBe(17 * 2 + 0.5); // row 1, col 1
    // layer 0 q_proj B starts at token 2 = flat index 40
    expect(out.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')?.[0]).toBe(40 * 2 + 0.5);
    // layer 1 v_proj B is at token 13 = flat index 260, 16 values
    const vB1 = out.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    expect(vB1?.length).toBe(16);
    expect(vB1?.[15]).toBe(275 * 2 + 0.5);
  });

  it('ignores padding, whatever the generator put there', () => {
    const mask = layoutMask(layout);
    const tokens = randomFloats(size, 3).map((v, i) => (mask[i] ? v : NaN));
    const out = detokenizeReference(tokens, new Float32Array(size), new Float32Array(size).fill(1), layout);
    for (const [key, m] of out) expect(m.every(Number.isFinite), key).toBe(true);
  });

  it('is the inverse of tokenizeReference, with per-position statistics', () => {
    const mean = randomFloats(size, 5).map((v) => v * 0.1);
    const std = randomFloats(size, 6).map((v) => 0.5 + Math.abs(v));
    const matrices = new Map<string, Float32Array>();
    layout.entries.forEach((e, i) => matrices.set(matrixKey(layout, e), randomFloats(e.rows * e.cols, 100 + i)));
    const grid = tokenizeReference(matrices, mean, std, layout);
    expect(grid.length).toBe(size);
    const mask = layoutMask(layout);
    expect(grid.every((v, i) => mask[i] === 1 || v === 0)).toBe(true);
    const back = detokenizeReference(grid, mean, std, layout);
    for (const [key, m] of matrices) {
      const b = back.get(key) as Float32Array;
      for (let i = 0; i < m.length; i++) expect(Math.abs((b[i] as number) - (m[i] as number))).toBeLessThan(1e-6);
    }
  });

  it('refuses token data of the wrong size', () => {
    const ok = new Float32Array(size);
    expect(() => detokenizeReference(new Float32Array(size - 1), ok, ok, layout)).toThrow(TokenDataError);
    expect(() => detokenizeReference(new Float32Array(size - 1), ok, ok, layout)).toThrow(/tokens holds 279 values.*\(14, 4, 5\) needs 280/);
    expect(() => detokenizeReference(ok, new Float32Array(1), ok, layout)).toThrow(/tokens\.mean holds 1 values/);
    expect(() => detokenizeReference(ok, ok, new Float32Array(1), layout)).toThrow(/tokens\.std holds 1 values/);
    expect(() => tokenizeReference(new Map(), ok, ok, layout)).toThrow(/lacks matrix "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight"/);
  });

  it('feeds a PEFT adapter file that parses back to the same matrices', () => {
    const matrices = detokenizeReference(randomFloats(size, 8), new Float32Array(size), new Float32Array(size).fill(1), layout);
    const file = parseSafetensors(encodeSafetensors(peftAdapterTensors(matrices, layout)), 'adapter_model.safetensors');
    expect(file.names().length).toBe(8);
    const vB = 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight';
    expect(file.info(vB).shape).toEqual([8, 2]);
    expect(file.float32(vB)).toEqual(matrices.get(vB));
    const half = parseSafetensors(encodeSafetensors(peftAdapterTensors(matrices, layout, 'F16')));
    expect(half.info(vB).dtype).toBe('F16');
    const got = half.float32(vB);
    const want = matrices.get(vB) as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThanOrEqual(Math.abs(want[i] as number) * 2 ** -11 + 2 ** -25);
  });
});

describe.skipIf(!fixturePresent)(`the trainer's parity fixture${fixturePresent ? '' : ` — SKIPPED: ${FIXTURE_SKIP_REASON}`}`, () => {
  it('has the layout this module builds, and its padding stats are mean 0, std 1', () => {
    const manifest = parseGeneratorManifest(JSON.parse(new TextDecoder().decode(readFixture('generator.json'))));
    const layout = layoutFromManifest(manifest);
    expect(layout.entries).toEqual(buildLoraLayout(manifest.lora, manifest.tokens.height, manifest.tokens.width).entries);
    const gen = parseSafetensors(readFixture('generator.safetensors'), 'generator.safetensors');
    const mean = gen.float32(manifest.tokens.mean);
    const std = gen.float32(manifest.tokens.std);
    const mask = layoutMask(layout);
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) {
        expect(mean[i]).toBe(0);
        expect(std[i]).toBe(1);
      } else {
        expect(std[i]).toBeGreaterThan(0);
      }
    }
  });

  it('detokenises the reference output into every PEFT matrix', () => {
    const manifest = parseGeneratorManifest(JSON.parse(new TextDecoder().decode(readFixture('generator.json'))));
    const layout = layoutFromManifest(manifest);
    const gen = parseSafetensors(readFixture('generator.safetensors'), 'generator.safetensors');
    const io = parseSafetensors(readFixture('io.safetensors'), 'io.safetensors');
    const grid = layout.tokenCount * layout.tokenHeight * layout.tokenWidth;
    const output = io.float32('output');
    const first = output.subarray(0, grid);
    const mats = detokenizeReference(first, gen.float32(manifest.tokens.mean), gen.float32(manifest.tokens.std), layout);
    expect(mats.size).toBe(manifest.lora.num_layers * manifest.lora.target_modules.length * 2);
    for (const e of layout.entries) {
      const m = mats.get(matrixKey(layout, e));
      expect(m?.length).toBe(e.rows * e.cols);
      expect(m?.every(Number.isFinite)).toBe(true);
    }
  });
});
