/**
 * The committed release generator (models/generator/) on real WebGPU (Dawn on SwiftShader): it
 * loads for the committed base model (hash check), and the WGSL runtime produces the LoRA that
 * PyTorch produces from the same condition (test/fixtures/release-generator/expected.json, written by
 * `python -m trainer release-generator-fixture`): every matrix's norm and a strided sample of its
 * values. Tolerance as the parity fixture: 1e-4 relative to max(1, max |expected|). A version-2 release's
 * gate (src/generator/gate.ts) gives the fixture's value (within 1e-5) and nearest tasks for the same
 * condition; the matrices are compared before the gate, as the fixture stores them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { loadGenerator, type LoadedGenerator } from '../../src/generator/loadGenerator';
import { GeneratorRuntime } from '../../src/generator/runtime';
import { parseSafetensors } from '../../src/generator/safetensors';
import { BaseModelMismatchError } from '../../src/generator/errors';
import { gateForRun } from '../../src/generator/gate';

const ROOT = new URL('../../', import.meta.url);
const GEN = new URL('models/generator/', ROOT);

interface ExpectedMatrix {
  name: string;
  shape: [number, number];
  frobenius: number;
  sample: number[];
}
interface Expected {
  generator_sha256: string;
  /** Version 2: the gate's feature, value and nearest tasks for the condition; null or absent for version 1. */
  gate?: { feature?: string; value: number; neighbours: string[] } | null;
  condition: { rows: number[] };
  stride: number;
  matrices: ExpectedMatrix[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('release generator (models/generator)', () => {
  const expected = JSON.parse(readFileSync(new URL('test/fixtures/release-generator/expected.json', ROOT), 'utf8')) as Expected;
  const manifest = readFileSync(new URL('generator.json', GEN), 'utf8');
  const weights = readFileSync(new URL('generator.safetensors', GEN));
  const baseSha = sha256(readFileSync(new URL('models/base/model.safetensors', ROOT)));
  let gpu: TestGpu;
  let generator: LoadedGenerator;
  let runtime: GeneratorRuntime;
  let lora: Map<string, Float32Array>;
  let cond: Float32Array;

  beforeAll(async () => {
    expect(sha256(weights), 'the fixture was written for these generator weights').toBe(expected.generator_sha256);
    gpu = await getTestDevice();
    generator = loadGenerator({ manifest, weights }, { weightsSha256: baseSha });
    const emb = parseSafetensors(readFileSync(new URL('test/fixtures/conditions/embeddings.safetensors', ROOT)), 'embeddings.safetensors');
    const all = emb.float32('embeddings');
    const [, l, c] = emb.info('embeddings').shape as [number, number, number];
    cond = new Float32Array(expected.condition.rows.length * l * c);
    expected.condition.rows.forEach((row, i) => cond.set(all.subarray(row * l * c, (row + 1) * l * c), i * l * c));
    runtime = GeneratorRuntime.create(gpu, generator, { batch: 1 });
    runtime.writeCondition(cond);
    await runtime.run();
    lora = await runtime.readLora(0);
  }, 300_000);
  afterAll(() => runtime?.destroy());

  it('is made for the committed base model and refuses another one', () => {
    expect(generator.manifest.base_model.weights_sha256).toBe(baseSha);
    expect(() => loadGenerator({ manifest, weights }, { weightsSha256: '0'.repeat(64) })).toThrow(BaseModelMismatchError);
  });

  it('produces the PyTorch LoRA: every matrix, its norm and a strided sample of values', () => {
    expect([...lora.keys()]).toEqual(expected.matrices.map((m) => m.name));
    for (const m of expected.matrices) {
      const got = lora.get(m.name) as Float32Array;
      expect(got.length, m.name).toBe(m.shape[0] * m.shape[1]);
      const norm = Math.hypot(...got);
      expect(Math.abs(norm - m.frobenius) / Math.max(1, m.frobenius), `${m.name} norm`).toBeLessThan(1e-4);
      const scale = Math.max(1, ...m.sample.map(Math.abs));
      let worst = 0;
      m.sample.forEach((v, i) => {
        worst = Math.max(worst, Math.abs((got[i * expected.stride] as number) - v) / scale);
      });
      expect(worst, `${m.name} values`).toBeLessThan(1e-4);
    }
  });

  it('its gate (version 2) gives the trainer\'s value and nearest tasks for the condition; version 1 has none', async () => {
    if (!expected.gate) {
      expect(generator.gate).toBeNull();
      return;
    }
    expect(generator.gate!.feature).toBe(expected.gate.feature ?? 'condition');
    // the "output" feature reads the WGSL decoder's last activation, as the engine does
    const got = await gateForRun(generator.gate!, generator.manifest, {
      condition: cond, decoderOutput: () => runtime.readLayer(generator.manifest.decoder.kernel_sizes.length - 1),
    });
    expect(Math.abs(got.value - expected.gate.value)).toBeLessThan(1e-5);
    expect(got.neighbours).toEqual(expected.gate.neighbours);
  });
});
