// The adapter registry's PEFT import/export in Node (no GPU): the committed fixture adapter parses,
// round-trips through the zip export bit for bit, pads to the graph rank, and wrong adapters are
// refused with messages that name the tensor, shape or base.
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  AdapterRegistry, graphInput, parsePeftAdapter, parsePeftZip, peftName, zipPeftAdapter, type LoraShape,
} from '../../src/model/adapters';
import { encodeSafetensors } from '../../src/generator/safetensors';

const DIR = 'test/fixtures/generation/adapter';
const SHAPE: LoraShape = {
  layers: 6, rank: 8, baseSha256: 'ab'.repeat(32),
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  dims: {
    q_proj: { in: 512, out: 512 }, k_proj: { in: 512, out: 128 }, v_proj: { in: 512, out: 128 }, o_proj: { in: 512, out: 512 },
    gate_proj: { in: 512, out: 1536 }, up_proj: { in: 512, out: 1536 }, down_proj: { in: 1536, out: 512 },
  },
};
const config = readFileSync(`${DIR}/adapter_config.json`, 'utf8');
const weights = new Uint8Array(readFileSync(`${DIR}/adapter_model.safetensors`));

describe('PEFT adapters', () => {
  it('the fixture adapter parses: rank 8, alpha 16, seven modules, 84 matrices', () => {
    const a = parsePeftAdapter(config, weights, SHAPE, 'fixture');
    expect(a.rank).toBe(8);
    expect(a.scale).toBe(2);
    expect(a.targetModules).toEqual(SHAPE.targets);
    expect(a.matrices.size).toBe(6 * 7 * 2);
    expect(a.matrices.get(peftName(5, 'down_proj', 'A'))?.cols).toBe(1536);
  });

  it('export -> import reproduces every matrix exactly and records the base hash', () => {
    const a = parsePeftAdapter(config, weights, SHAPE, 'fixture');
    const zip = zipPeftAdapter(a, SHAPE);
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const cfg = JSON.parse(strFromU8(files['adapter_config.json']!)) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, use_rslora: false, bias: 'none' });
    const b = parsePeftZip(zip, SHAPE, 'again');
    for (const [name, m] of a.matrices) expect(b.matrices.get(name)?.data).toEqual(m.data);
    expect(() => parsePeftZip(zip, { ...SHAPE, baseSha256: 'cd'.repeat(32) }, 'x')).toThrow(/made for a base model with weights sha256 abababababab/);
  });

  it('a smaller rank is zero-padded to the graph rank; missing modules feed zeros', () => {
    const A = new Float32Array(4 * 512).fill(1);
    const B = new Float32Array(128 * 4).fill(2);
    const st = encodeSafetensors({
      [peftName(0, 'k_proj', 'A')]: { dtype: 'F32', shape: [4, 512], data: A },
      [peftName(0, 'k_proj', 'B')]: { dtype: 'F32', shape: [128, 4], data: B },
    });
    const a = parsePeftAdapter(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['k_proj'] }), st, SHAPE, 'r4');
    expect(a.targetModules).toEqual(['k_proj']);
    const gA = graphInput(a, SHAPE, 0, 'k_proj', 'A');
    expect(gA.dims).toEqual([8, 512]);
    expect(gA.data[4 * 512 - 1]).toBe(1);
    expect(gA.data[4 * 512]).toBe(0);
    const gB = graphInput(a, SHAPE, 0, 'k_proj', 'B');
    expect(gB.dims).toEqual([128, 8]);
    expect(Array.from(gB.data.subarray(0, 8))).toEqual([2, 2, 2, 2, 0, 0, 0, 0]);
    expect(graphInput(a, SHAPE, 1, 'q_proj', 'A').data.every((v) => v === 0)).toBe(true);
    const feeds = new AdapterRegistry(SHAPE).feeds(null);
    expect(Object.keys(feeds).length).toBe(6 * 7 * 2 + 1);
    expect(Array.from(feeds.lora_scale!.data as Float32Array)).toEqual([0]);
  });

  it('refuses adapters that do not fit, naming what is wrong', () => {
    const cfg = JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16 });
    const bad = (f: string) => new Uint8Array(readFileSync(`test/fixtures/generation/bad/${f}`));
    expect(() => parsePeftAdapter(cfg, bad('layer9.safetensors'), SHAPE, 'x')).toThrow(/layers\.9\.self_attn\.q_proj\.lora_A\.weight" is for layer 9, but the base model has 6 layers/);
    expect(() => parsePeftAdapter(cfg, bad('wide.safetensors'), SHAPE, 'x')).toThrow(/has shape \[8, 768\], expected \[8, 512\]/);
    expect(() => parsePeftAdapter(JSON.stringify({ peft_type: 'IA3', r: 8 }), weights, SHAPE, 'x')).toThrow(/peft_type "IA3"/);
    expect(() => parsePeftAdapter(JSON.stringify({ peft_type: 'LORA', r: 16, lora_alpha: 16 }), weights, SHAPE, 'x')).toThrow(/rank 16, more than the 8/);
    expect(() => parsePeftAdapter(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 16 }), weights, SHAPE, 'x')).toThrow(/has shape \[8, 512\], expected \[4, 512\]/);
    expect(() => parsePeftZip(new Uint8Array([1, 2, 3]), SHAPE, 'x')).toThrow(/not a readable zip/);
  });
});
