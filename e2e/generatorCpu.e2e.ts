/**
 * Prompts -> adapter without WebGPU (issue 17, point 9), in headless Chromium through the engine's
 * worker and client (the engine test page, e2e/pages/adapterRuns.ts), with the committed base model and
 * release generator (models/), on the 8 prompts of a prompt file read by the app's reader
 * (bench/prompts/questions.jsonl: 37 to 59 tokens, so the encoder runs them in two batches of similar length):
 *
 * - WebGPU off, Auto: the model and the generator run on WebAssembly (the generator's layers as ONNX
 *   graphs on onnxruntime-web, src/generator/onnx/), and the adapter equals the one the TypeScript
 *   reference generator (the previous CPU path, `cpuGenerator: 'reference'`) makes from the same prompts
 *   in another engine on the same page: every PEFT tensor within the parity tolerance (max |a - b| /
 *   max(1, max |b|) < 1e-4, test/fixtures/hyperconv/README.md), the same stages, the same gate;
 * - WebGPU on SwiftShader: the WGSL generator makes the same adapter from the same prompts, within
 *   the same tolerance (the encoder on ORT's WebGPU EP, the generator in WGSL, both float32).
 *
 * How long it takes is the benchmark's business (npm run bench:adapter, reports/bench-adapter.json).
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/generator/safetensors';
import { readPromptFile } from '../src/prompts';
import { fixtureRelativeError } from '../bench/stats';
import type { AdapterRun } from './pages/adapterRuns';
import { callAdapters as call, openEnginePage } from './pages/enginePage';
import { buildPages, servePages } from './pages/serve';

const TOLERANCE = 1e-4;
const PROMPT_FILE = 'bench/prompts/questions.jsonl';
const P = (JSON.parse(readFileSync('models/generator/generator.json', 'utf8')) as { encoder: { prompt_count: number } }).encoder.prompt_count;
const BLOCKS = (JSON.parse(readFileSync('models/generator/generator.json', 'utf8')) as { decoder: { kernel_sizes: number[] } }).decoder.kernel_sizes.length;
const STAGES = ['encode', ...Array.from({ length: BLOCKS }, (_, i) => `layer ${i}`), 'detokenize', 'apply'];

const prompts = readPromptFile({ name: 'questions.jsonl', bytes: new Uint8Array(readFileSync(PROMPT_FILE)) }).records.slice(0, P).map((r) => r.prompt);

/** PEFT tensor name -> values of an adapter's exported zip. */
async function exported(page: Page, engine: string, id: string): Promise<Map<string, Float32Array>> {
  const zip = Buffer.from(await call(page, 'adapterZipBase64', engine, id), 'base64');
  const file = parseSafetensors(unzipSync(new Uint8Array(zip))['adapter_model.safetensors']!, 'adapter_model.safetensors');
  return new Map(file.names().sort().map((n) => [n, file.float32(n)]));
}

/** The worst per-tensor relative error of `got` against `want`, after checking they hold the same tensors. */
function worstError(got: Map<string, Float32Array>, want: Map<string, Float32Array>): number {
  expect([...got.keys()]).toEqual([...want.keys()]);
  let worst = 0;
  for (const [name, values] of want) {
    const g = got.get(name)!;
    expect(g.length, name).toBe(values.length);
    worst = Math.max(worst, fixtureRelativeError(g, values));
  }
  return worst;
}

let server: { url: string; close: () => Promise<void> };
/** The WebAssembly generator's adapter and gate, for the WebGPU comparison. */
let wasmAdapter: Map<string, Float32Array> | undefined;
let wasmGate: AdapterRun['gate'] = null;

beforeAll(async () => {
  await buildPages();
  server = await servePages();
}, 300_000);
afterAll(async () => {
  await server?.close();
});

describe('prompts -> adapter with WebGPU off (Auto: WebAssembly)', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ browser, page } = await openEnginePage(server.url, false));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('the generator runs on WebAssembly and its adapter is the TypeScript reference\'s within 1e-4', async () => {
    expect(prompts.length).toBe(P);
    const fast = await call(page, 'initGeneratorEngine', 'fast', { backend: 'auto' });
    expect(fast).toMatchObject({ backend: 'wasm', generator: 'ready', generatorBackend: 'wasm' });
    expect(fast.notice).toMatch(/adapter generation \(the generator on onnxruntime-web WebAssembly/);
    const reference = await call(page, 'initGeneratorEngine', 'reference', { backend: 'auto', cpuGenerator: 'reference' });
    expect(reference).toMatchObject({ backend: 'wasm', generator: 'ready', generatorBackend: 'reference' });
    expect(reference.notice).toMatch(/As asked, the parameter generator runs on its TypeScript reference/);

    // lengths the encoder batches differently from one padded batch (planEncoderBatches: 2 batches)
    const lengths = await call(page, 'tokenCounts', 'fast', prompts);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(16);

    const ours = await call(page, 'generateFromPrompts', 'fast', prompts, 'questions (wasm)');
    const theirs = await call(page, 'generateFromPrompts', 'reference', prompts, 'questions (reference)');
    expect(ours.stages.map((s) => s.stage)).toEqual(STAGES);
    expect(theirs.stages.map((s) => s.stage)).toEqual(STAGES);
    // the gate (version 2) saw the same condition and decoder output
    expect(ours.gate?.neighbours).toEqual(theirs.gate?.neighbours);
    if (ours.gate && theirs.gate) expect(Math.abs(ours.gate.value - theirs.gate.value)).toBeLessThan(1e-5);

    wasmAdapter = await exported(page, 'fast', ours.id);
    wasmGate = ours.gate;
    const worst = worstError(wasmAdapter, await exported(page, 'reference', theirs.id));
    console.log(`WebAssembly generator vs TypeScript reference: worst tensor relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(TOLERANCE);
    expect(wasmAdapter.size).toBe(6 * 7 * 2);
  }, 300_000);
});

describe('prompts -> adapter on WebGPU (SwiftShader): the WGSL generator', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ browser, page } = await openEnginePage(server.url, true));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('gives the WebAssembly generator\'s adapter from the same prompts, within 1e-4', async () => {
    expect(wasmAdapter, 'the WebAssembly case ran first').toBeDefined();
    const gpu = await call(page, 'initGeneratorEngine', 'gpu', { backend: 'webgpu' });
    expect(gpu).toMatchObject({ backend: 'webgpu', generator: 'ready', generatorBackend: 'webgpu' });
    const run = await call(page, 'generateFromPrompts', 'gpu', prompts, 'questions (webgpu)');
    expect(run.stages.map((s) => s.stage)).toEqual(STAGES);
    expect(run.gate?.neighbours).toEqual(wasmGate?.neighbours);
    if (run.gate && wasmGate) expect(Math.abs(run.gate.value - wasmGate.value)).toBeLessThan(1e-5);
    const worst = worstError(wasmAdapter!, await exported(page, 'gpu', run.id));
    console.log(`WebAssembly generator vs WGSL generator (SwiftShader): worst tensor relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(TOLERANCE);
  }, 600_000);
});
