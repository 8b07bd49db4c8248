/**
 * The WGSL generator reproduces the PyTorch reference (trainer/generator/hyperconv.py) on the committed
 * fixture test/fixtures/hyperconv/, layer by layer, on real WebGPU (Dawn on SwiftShader).
 * Tolerance (fixture README): max|got - expected| / max(1, max|expected|) < 1e-4 per tensor.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestDevice, type TestGpu } from '../setup/webgpu';
import { loadGenerator, type LoadedGenerator } from '../../src/generator/loadGenerator';
import { GeneratorRuntime } from '../../src/generator/runtime';
import { parseSafetensors, type SafetensorsFile } from '../../src/generator/safetensors';
import { detokenizeReference } from '../../src/generator/loraLayout';
import { BaseModelMismatchError } from '../../src/generator/errors';
import { fixtureRelativeError } from '../../bench/stats';

const DIR = new URL('../fixtures/hyperconv/', import.meta.url);
const TOLERANCE = 1e-4;

function relativeError(got: Float32Array, expected: Float32Array): number {
  expect(got.length).toBe(expected.length);
  return fixtureRelativeError(got, expected);
}

describe('generator runtime vs the PyTorch fixture', () => {
  let gpu: TestGpu;
  let generator: LoadedGenerator;
  let io: SafetensorsFile;
  let runtime: GeneratorRuntime;

  beforeAll(async () => {
    gpu = await getTestDevice();
    generator = loadGenerator({
      manifest: readFileSync(new URL('generator.json', DIR), 'utf8'),
      weights: readFileSync(new URL('generator.safetensors', DIR)),
    });
    io = parseSafetensors(readFileSync(new URL('io.safetensors', DIR)), 'io.safetensors');
    const batch = io.info('input').shape[0] as number;
    runtime = GeneratorRuntime.create(gpu, generator, { batch });
    runtime.writeCondition(io.float32('input'));
    await runtime.run();
  });
  afterAll(() => runtime?.destroy());

  it('matches every layer within 1e-4 relative error', async () => {
    const layers = generator.manifest.decoder.kernel_sizes.length;
    expect(layers).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < layers; i++) {
      const err = relativeError(await runtime.readLayer(i), io.float32(`layer.${i}`));
      expect(err, `layer ${i}`).toBeLessThan(TOLERANCE);
    }
  });

  it('detokenises the output into the same LoRA matrices as the reference', async () => {
    const tokensPer = runtime.outputShape.n * runtime.outputShape.h * runtime.outputShape.w;
    const expectedOut = io.float32('output');
    const { manifest, weights, layout } = generator;
    for (let b = 0; b < runtime.batch; b++) {
      const expected = detokenizeReference(
        expectedOut.slice(b * tokensPer, (b + 1) * tokensPer),
        weights.float32(manifest.tokens.mean),
        weights.float32(manifest.tokens.std),
        layout,
      );
      const got = await runtime.readLora(b);
      expect([...got.keys()]).toEqual([...expected.keys()]);
      for (const [name, values] of expected) {
        expect(relativeError(got.get(name) as Float32Array, values), `${name} (batch ${b})`).toBeLessThan(TOLERANCE);
      }
    }
  });

  it('gives the same result when run stage by stage, reporting each stage', async () => {
    const seen: string[] = [];
    await runtime.runStaged((t) => {
      seen.push(t.stage);
    });
    expect(seen).toEqual(['layer 0', 'layer 1', 'layer 2', 'layer 3', 'detokenize']);
    const last = generator.manifest.decoder.kernel_sizes.length - 1;
    expect(relativeError(await runtime.readLayer(last), io.float32('output'))).toBeLessThan(TOLERANCE);
  });

  it('offers down-sampled snapshots of each layer for the UI', async () => {
    const snap = await runtime.snapshot(0, 4);
    expect(snap.rows).toBe(4);
    expect(snap.cols).toBe(4);
    expect(snap.max).toBeGreaterThan(snap.min);
    expect(snap.data.every(Number.isFinite)).toBe(true);
  });

  it('refuses a condition of the wrong size, a destroyed runtime, and a generator for another base model', async () => {
    expect(() => runtime.writeCondition(new Float32Array(3))).toThrow(/needs/);
    const other = GeneratorRuntime.create(gpu, generator, { batch: 1 });
    other.destroy();
    expect(() => other.writeCondition(new Float32Array(1))).toThrow(/destroyed/);
    expect(() =>
      loadGenerator(
        {
          manifest: readFileSync(new URL('generator.json', DIR), 'utf8'),
          weights: readFileSync(new URL('generator.safetensors', DIR)),
        },
        { id: 'some-other-model', weightsSha256: '0'.repeat(64) },
      ),
    ).toThrow(BaseModelMismatchError);
  });
});
