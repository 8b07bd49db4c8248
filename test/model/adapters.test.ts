// The adapter registry's PEFT import/export in Node (no GPU): the committed fixture adapter parses,
// round-trips through the zip export bit for bit, fills the graph's grouped inputs (smaller rank,
// missing modules, scale folded into B), and wrong adapters are refused with messages that name
// the tensor, shape or base.
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  AdapterRegistry, groupInputs, loraShapeOf, parsePeftAdapter, parsePeftZip, peftName, zipPeftAdapter,
} from '../../src/model/adapters';
import { encodeSafetensors } from '../../src/generator/safetensors';
import type { GraphsInfo } from '../../src/model/graphs';

const DIR = 'test/fixtures/generation/adapter';
// the committed base model's graphs.json (trainer/export/web_graphs.py), with a made-up weights hash
const GRAPHS = JSON.parse(readFileSync('models/base/graphs.json', 'utf8')) as GraphsInfo;
const SHAPE = { ...loraShapeOf(GRAPHS), baseSha256: 'ab'.repeat(32) };
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

  it('the graph shape comes from graphs.json: seven modules in four groups, rank 8', () => {
    expect(SHAPE.targets).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    expect(SHAPE.groups.map((g) => [g.name, g.A, g.B])).toEqual([
      ['qkv', [24, 512], [768, 24]], ['o', [8, 512], [512, 8]], ['gate_up', [16, 512], [3072, 16]], ['down', [8, 1536], [512, 8]],
    ]);
    expect(SHAPE.dims.down_proj).toEqual({ in: 1536, out: 512 });
  });

  it('grouped inputs: A rows stacked, B block-diagonal times the scale; smaller rank and missing modules stay zero', () => {
    const A = new Float32Array(4 * 512).fill(1);
    const B = new Float32Array(128 * 4).fill(2);
    const st = encodeSafetensors({
      [peftName(0, 'k_proj', 'A')]: { dtype: 'F32', shape: [4, 512], data: A },
      [peftName(0, 'k_proj', 'B')]: { dtype: 'F32', shape: [128, 4], data: B },
    });
    const a = parsePeftAdapter(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['k_proj'] }), st, SHAPE, 'r4');
    expect(a.targetModules).toEqual(['k_proj']);
    expect(a.scale).toBe(2);
    const qkv = SHAPE.groups[0]!;
    const { A: gA, B: gB } = groupInputs(a, 0, qkv, a.scale);
    expect(gA.dims).toEqual([24, 512]);
    // k_proj is the group's second module: A rows 8..11 are its 4 rows, 12..15 and q/v rows zero
    expect(gA.data.subarray(0, 8 * 512).every((v) => v === 0)).toBe(true);
    expect(gA.data.subarray(8 * 512, 12 * 512).every((v) => v === 1)).toBe(true);
    expect(gA.data.subarray(12 * 512).every((v) => v === 0)).toBe(true);
    expect(gB.dims).toEqual([768, 24]);
    // B block at rows 512..639, columns 8..11: 2 * scale 2; everything else zero
    const row = (i: number) => Array.from(gB.data.subarray(i * 24, (i + 1) * 24));
    expect(row(512)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(row(511).every((v) => v === 0) && row(640).every((v) => v === 0)).toBe(true);
    expect(groupInputs(a, 1, qkv, a.scale).A.data.every((v) => v === 0)).toBe(true);
    const feeds = new AdapterRegistry(SHAPE).feeds(null);
    expect(Object.keys(feeds).length).toBe(6 * 4 * 2);
    expect((feeds['lora.5.down.B']!.data as Float32Array).every((v) => v === 0)).toBe(true);
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
