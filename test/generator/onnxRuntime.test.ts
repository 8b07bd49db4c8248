/**
 * The fast CPU generator (src/generator/onnx/: one ONNX graph per decoder layer, made from the manifest
 * in TypeScript, on onnxruntime-web's WebAssembly backend, the app's build, here in Node) against its
 * oracles, with the parity fixture's tolerance (test/fixtures/hyperconv/README.md: max |got - expected| /
 * max(1, max |expected|) < 1e-4 per tensor):
 *
 * - the PyTorch fixture (test/fixtures/hyperconv: batch 2, kernels 3 and 5, residual layers, every axis
 *   of a different size): every layer and the detokenised LoRA;
 * - the release generator (models/generator) on a condition of the committed prompt embeddings: every
 *   layer and every LoRA matrix equal the TypeScript reference's (src/generator/referenceRuntime.ts),
 *   and the matrices PyTorch's (test/fixtures/release-generator/expected.json, as the WGSL test checks);
 * - the graphs hold what docs/hyperconv.md says (read back with the tests' protobuf reader);
 * - a wrong condition, a cancelled run and a released runtime give readable errors.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web/webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRelativeError } from '../../bench/stats';
import { GeneratorRunError } from '../../src/generator/errors';
import { loadGenerator, type LoadedGenerator } from '../../src/generator/loadGenerator';
import { buildLayerGraph } from '../../src/generator/onnx/layerGraphs';
import { OnnxGeneratorRuntime, type GraphSessionFactory } from '../../src/generator/onnx/runtime';
import { runReferenceGenerator, type ReferenceRun } from '../../src/generator/referenceRuntime';
import { parseSafetensors } from '../../src/generator/safetensors';
import { readGraph } from '../onnx/onnxProto';
import { expectHyperconvFixture } from './helpers';

const TOLERANCE = 1e-4;
const ROOT = new URL('../../', import.meta.url);
const HYPERCONV = new URL('test/fixtures/hyperconv/', ROOT);

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** onnxruntime-web in Node, WASM backend: what src/model/generatorSessions.ts does in the browser. */
const nodeSessions: GraphSessionFactory = async (model, { inputName, outputName }) => {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return {
    async run(input, dims) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) }, [outputName]);
      return out[outputName]!.data as Float32Array;
    },
    release: () => session.release(),
  };
};

function relativeError(got: Float32Array, expected: Float32Array): number {
  expect(got.length).toBe(expected.length);
  return fixtureRelativeError(got, expected);
}

describe('ONNX generator runtime (onnxruntime-web WASM) vs the PyTorch fixture', () => {
  const generator = loadGenerator({
    manifest: readFileSync(new URL('generator.json', HYPERCONV), 'utf8'),
    weights: readFileSync(new URL('generator.safetensors', HYPERCONV)),
  });
  const io = parseSafetensors(readFileSync(new URL('io.safetensors', HYPERCONV)), 'io.safetensors');
  const batch = io.info('input').shape[0] as number;
  let runtime: OnnxGeneratorRuntime;

  beforeAll(async () => {
    runtime = await OnnxGeneratorRuntime.create(generator, nodeSessions, batch);
  }, 60_000);
  afterAll(() => runtime?.release());

  it('matches every layer and the detokenised LoRA within 1e-4, reporting each layer with its output', async () => {
    const seen: number[] = [];
    const run = await runtime.run(io.float32('input'), (layer, ms, output) => {
      seen.push(layer);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(output.length).toBe(io.float32(`layer.${layer}`).length);
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expectHyperconvFixture(run, generator, io, TOLERANCE);
  });

  it('a warm-up run leaves the next run unchanged', async () => {
    const before = await runtime.run(io.float32('input'));
    expect(await runtime.warmUp()).toBeGreaterThan(0);
    const after = await runtime.run(io.float32('input'));
    after.layers.forEach((got, i) => expect(got).toEqual(before.layers[i]));
  });

  it('refuses a condition of the wrong size, stops when cancelled, and refuses to run once released', async () => {
    await expect(runtime.run(new Float32Array(5))).rejects.toThrow(GeneratorRunError);
    await expect(runtime.run(new Float32Array(5))).rejects.toThrow(/the condition has 5 values; \(B, P, L, C\) needs 384/);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the test'));
    await expect(runtime.run(io.float32('input'), undefined, controller.signal)).rejects.toThrow('cancelled by the test');
    const other = await OnnxGeneratorRuntime.create(generator, nodeSessions, batch);
    await other.release();
    await expect(other.run(io.float32('input'))).rejects.toThrow(/released; load the generator again/);
  });

  it('each layer graph is the hyper-convolution of docs/hyperconv.md: a k > 1 layer convolves each axis, a residual one adds its input', () => {
    // layer 1: (8, 5, 10) -> (8, 5, 10), k = 5: W and H convs on transposed views, the N conv direct, x + layer(x)
    const g = readGraph(buildLayerGraph(generator, 1).model);
    expect(g.inputs).toEqual(['x']);
    expect(g.outputs).toEqual(['y']);
    expect(g.ops).toMatchObject({ LayerNormalization: 1, Conv: 5, Transpose: 8, Tanh: 1, Div: 1, Add: 3 });
    expect(g.ops.MatMul).toBeUndefined();
    // weights inline, float32, exactly the layer's parameters (+ the constant 3)
    const params = g.initializers.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
    const [n, h, w] = [8, 5, 10];
    expect(params).toBe(2 * h * w + 2 * w * w * 25 + 2 * h * h * 25 + h * w + n * n * 25 + n + 1);
    expect(g.initializers.every((t) => t.dtype === 1 && t.dataLocation === 0)).toBe(true);
    // layer 2: k = 1, (8, 5, 10) -> (14, 4, 5): the W and H convs are MatMuls, no residual
    const g2 = readGraph(buildLayerGraph(generator, 2).model);
    expect(g2.ops).toMatchObject({ LayerNormalization: 1, MatMul: 4, Conv: 1, Add: 2 });
    expect(g2.ops.Transpose).toBeUndefined();
  });
});

describe('ONNX generator runtime vs the TypeScript reference on the release generator (models/generator)', () => {
  const generatorDir = new URL('models/generator/', ROOT);
  let generator: LoadedGenerator;
  let condition: Float32Array;
  let reference: ReferenceRun;
  let fast: ReferenceRun;
  let runtime: OnnxGeneratorRuntime;

  beforeAll(async () => {
    generator = loadGenerator({
      manifest: readFileSync(new URL('generator.json', generatorDir), 'utf8'),
      weights: readFileSync(new URL('generator.safetensors', generatorDir)),
    });
    // the release fixture's condition: rows of the committed prompt embeddings (test/fixtures/conditions)
    const expected = JSON.parse(readFileSync(new URL('test/fixtures/release-generator/expected.json', ROOT), 'utf8')) as { condition: { rows: number[] } };
    const emb = parseSafetensors(readFileSync(new URL('test/fixtures/conditions/embeddings.safetensors', ROOT)), 'embeddings.safetensors');
    const all = emb.float32('embeddings');
    const [, l, c] = emb.info('embeddings').shape as [number, number, number];
    condition = new Float32Array(expected.condition.rows.length * l * c);
    expected.condition.rows.forEach((row, i) => condition.set(all.subarray(row * l * c, (row + 1) * l * c), i * l * c));
    runtime = await OnnxGeneratorRuntime.create(generator, nodeSessions, 1);
    fast = await runtime.run(condition);
    reference = await runReferenceGenerator(generator, condition, 1);
  }, 120_000);
  afterAll(() => runtime?.release());

  it('every layer equals the reference within 1e-4', () => {
    expect(fast.layers.length).toBe(generator.manifest.decoder.kernel_sizes.length);
    fast.layers.forEach((got, i) => expect(relativeError(got, reference.layers[i] as Float32Array), `layer ${i}`).toBeLessThan(TOLERANCE));
  });

  it('every LoRA matrix equals the reference within 1e-4', () => {
    const got = fast.lora[0] as Map<string, Float32Array>;
    const want = reference.lora[0] as Map<string, Float32Array>;
    expect([...got.keys()]).toEqual([...want.keys()]);
    expect(got.size).toBe(6 * 7 * 2);
    for (const [name, values] of want) expect(relativeError(got.get(name) as Float32Array, values), name).toBeLessThan(TOLERANCE);
  });

  it('the LoRA is PyTorch\'s (test/fixtures/release-generator): every matrix\'s norm and a strided sample', () => {
    const expected = JSON.parse(readFileSync(new URL('test/fixtures/release-generator/expected.json', ROOT), 'utf8')) as {
      stride: number; matrices: { name: string; frobenius: number; sample: number[] }[];
    };
    const got = fast.lora[0] as Map<string, Float32Array>;
    for (const m of expected.matrices) {
      const values = got.get(m.name) as Float32Array;
      const norm = Math.hypot(...values);
      expect(Math.abs(norm - m.frobenius) / Math.max(1, m.frobenius), `${m.name} norm`).toBeLessThan(TOLERANCE);
      const scale = Math.max(1, ...m.sample.map(Math.abs));
      const worst = Math.max(...m.sample.map((v, i) => Math.abs((values[i * expected.stride] as number) - v) / scale));
      expect(worst, `${m.name} values`).toBeLessThan(TOLERANCE);
    }
  });
});
