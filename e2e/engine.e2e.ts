/**
 * The model engine (src/engine/, src/worker/engine*.ts, src/model/) end to end in headless Chromium, through its
 * worker and client on a small test page (e2e/pages/engine.html, built here with the app's Vite
 * config), against the real base model (models/base/: model.safetensors and the committed web
 * graphs, trainer/export/web_graphs.py):
 *
 * - WebGPU (SwiftShader): greedy continuations of the fixture prompts equal PyTorch's
 *   (test/fixtures/generation/cases.json, trainer/fixtures/generation.py) with no LoRA and with the
 *   fixture LoRA, on one session (decoder_lora.onnx, fp32 compute: SwiftShader has no shader-f16),
 *   switching base -> LoRA -> base; the weights are downloaded once, in fp16; the KV cache stays on the GPU; an
 *   exported adapter loads back and reproduces the LoRA output; adapters for another base or shape
 *   are refused with a message naming the tensor; a cancelled generation stops within one step; a
 *   second init after a GPU device loss works; without a generator, generateAdapter says so.
 * - WebGPU disabled: the WASM backend with a visible notice, the same greedy parity (all tokens);
 *   encodePrompts (the session's last_hidden_state) gives the condition of test/fixtures/conditions.
 * - Generators: a random-weight version-1 generator on the CPU (WASM: its ONNX graphs on onnxruntime-web); version-2 ones
 *   (trainer/fixtures/random_release_v2.py: tail window, kNN gate) on the CPU and on the
 *   GPU: the adapter is applied at the gate's strength g (the page's g is the one src/generator/gate.ts
 *   computes here from the same files and condition), exported as B·g with lora_alpha / r, and on the
 *   GPU decodes like its exported copy.
 *
 * SwiftShader runs this model at well under one token per second on a 2-core machine, so the
 * WebGPU cases compare the first ENGINE_E2E_WEBGPU_TOKENS (default 6) tokens of each 24-token
 * reference; the WASM cases compare all 24.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { parseSafetensors } from '../src/generator/safetensors';
import type { GateResult } from '../src/generator/gate';
import { launchChromium } from './browser';
import { writeRandomV2Generator } from './randomGenerator';
import { engineCaller, ok, openEnginePage, type Failure } from './engineTestClient';
import { buildPages, servePages } from './pages/serve';
import { seededCondition } from './pages/seededCondition';

interface FixtureCase {
  text: string;
  input_ids: number[];
  base: number[];
  lora: number[];
}
const fixture = JSON.parse(readFileSync('test/fixtures/generation/cases.json', 'utf8')) as { cases: FixtureCase[]; new_tokens: number };
/** test/fixtures/conditions (trainer/generator/conditions.py on models/base): prompts, ids, (7, 32, 512) embeddings. */
const conditionsFixture = JSON.parse(readFileSync('test/fixtures/conditions/cases.json', 'utf8')) as {
  encoder: { max_tokens: number; window?: string };
  cases: { prompt: string; ids: number[] }[];
};
const conditionsEmbeddings = () => parseSafetensors(readFileSync('test/fixtures/conditions/embeddings.safetensors')).float32('embeddings');
/** max |got - want| / max |want| over got's length. */
function relErr(got: number[], want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  got.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  });
  return diff / scale;
}
const WEBGPU_TOKENS = Number(process.env.ENGINE_E2E_WEBGPU_TOKENS ?? 6);
const ADAPTER_URL = '/fixtures/generation/adapter';

interface GenResult { ids: number[]; streamed: number[]; stopReason: string; kvLocation: string; backend: string; text: string }
type Api = {
  init(backend?: string, graph?: string, cache?: boolean): Promise<{
    info: { backend: string; notice: string | null; generator: string; graph: string; compute: string; modelBytes: number;
      loadedFiles: { networkBytes: number; files: { path: string; kind: string; source: string; networkBytes: number }[] } } | Failure;
    progress: { stage: string; loaded?: number; total?: number }[];
  }>;
  generateIds(ids: number[], options: object): Promise<GenResult | Failure>;
  generateText(text: string, options: object): Promise<(GenResult & { streamedText: string }) | Failure>;
  cancelAfter(ids: number[], after: number): Promise<{ result: GenResult | Failure; seenAtCancel: number; seen: number }>;
  importFixtureAdapter(base: string, name: string): Promise<{ id: string; rank: number; scale: number } | Failure>;
  importFiles(config: string, weightsUrl: string, name: string): Promise<{ id: string } | Failure>;
  roundTrip(id: string): Promise<{ summary: { id: string }; zipBytes: number } | Failure>;
  listAdapters(): Promise<{ id: string }[] | Failure>;
  generateAdapter(): Promise<unknown>;
  loseDevice(): Promise<boolean>;
  initWithGenerator(backend: string, dir: string): Promise<{ backend: string; generator: string; generatorBackend: string | null } | Failure>;
  generateFromCondition(count: number, seed: number): Promise<{
    summary: { id: string; source: string; rank: number; scale: number; gate: GateResult | null };
    stages: string[];
    snapshots: ({ rows: number; cols: number; finite: boolean } | null)[];
    applyGate: GateResult | null;
  } | Failure>;
  exportedAdapter(id: string): Promise<{ config: Record<string, unknown>; tensors: Record<string, { norm: number; head: number[] }> } | Failure>;
};

let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  await buildPages();
  server = await servePages();
}, 300_000);

afterAll(async () => {
  await server?.close();
});

const openPage = (browser: Browser) => openEnginePage(browser, server.url);

const call = engineCaller<Api>();

const greedy = (tokens: number, adapter: string | null) => ({ adapter, maxTokens: tokens, stopIds: [] as number[] });

describe('model engine, Chromium with WebGPU (SwiftShader)', () => {
  let browser: Browser;
  let page: Page;
  let loraId = '';
  const cases = fixture.cases.slice(0, 2);

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    page = await openPage(browser);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('init loads the fp16 weights once, the graph, tokenizer and session on WebGPU, with byte progress', async () => {
    const { info, progress } = await call(page, 'init', 'webgpu', 'lora', false);
    const i = ok(info);
    expect(i.backend).toBe('webgpu');
    expect(i.notice).toBeNull();
    expect(i.generator).toBe('not-configured');
    expect(i).toMatchObject({ graph: 'decoder_lora.onnx', compute: 'float32' });
    const weights = statSync('models/base/model.safetensors').size;
    const model = progress.filter((p) => p.stage === 'model' && p.loaded !== undefined);
    expect(model.at(-1)).toMatchObject({ loaded: weights, total: weights });
    // nothing in fp32, nothing twice: the weights file once, plus a small graph
    const files = i.loadedFiles.files;
    expect(files.filter((f) => f.kind === 'weights').map((f) => f.path)).toEqual(['base/model.safetensors']);
    expect(files.filter((f) => f.kind === 'graph').map((f) => f.path)).toEqual(['base/graphs.json', 'base/decoder_lora.onnx']);
    expect(i.loadedFiles.networkBytes).toBeLessThan(weights + 2_000_000);
  }, 300_000);

  it(`greedy continuations equal PyTorch's without LoRA (first ${WEBGPU_TOKENS} tokens), KV cache on the GPU`, async () => {
    for (const c of cases) {
      const r = ok(await call(page, 'generateIds', c.input_ids, greedy(WEBGPU_TOKENS, null)));
      expect(r.ids, c.text).toEqual(c.base.slice(0, WEBGPU_TOKENS));
      expect(r.streamed).toEqual(r.ids);
      expect(r.kvLocation).toBe('gpu-buffer');
      expect(r.backend).toBe('webgpu');
    }
  }, 600_000);

  it('with the fixture LoRA (GPU-buffer inputs) they equal PyTorch with merged weights; switching back gives the base again', async () => {
    const summary = ok(await call(page, 'importFixtureAdapter', ADAPTER_URL, 'fixture'));
    expect(summary.rank).toBe(8);
    expect(summary.scale).toBe(2);
    loraId = summary.id;
    for (const c of cases) {
      const r = ok(await call(page, 'generateIds', c.input_ids, greedy(WEBGPU_TOKENS, loraId)));
      expect(r.ids, c.text).toEqual(c.lora.slice(0, WEBGPU_TOKENS));
    }
    const c0 = cases[0]!;
    const back = ok(await call(page, 'generateIds', c0.input_ids, greedy(3, null)));
    expect(back.ids).toEqual(c0.base.slice(0, 3));
  }, 600_000);

  it('an exported adapter (PEFT zip) loads back and reproduces the same output', async () => {
    const rt = ok(await call(page, 'roundTrip', loraId));
    expect(rt.zipBytes).toBeGreaterThan(1_000_000);
    const c0 = cases[0]!;
    const r = ok(await call(page, 'generateIds', c0.input_ids, greedy(WEBGPU_TOKENS, rt.summary.id)));
    expect(r.ids).toEqual(c0.lora.slice(0, WEBGPU_TOKENS));
    expect(ok(await call(page, 'listAdapters')).length).toBe(2);
  }, 300_000);

  it('an adapter for another base or shape is refused with a message naming the tensor or base', async () => {
    const tooManyLayers = await call(page, 'importFiles', JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16 }), '/fixtures/generation/bad/layer9.safetensors', 'bad');
    expect(tooManyLayers).toMatchObject({ failed: true, code: 'adapter-invalid' });
    expect((tooManyLayers as Failure).message).toMatch(/layers\.9\.self_attn\.q_proj\.lora_A\.weight.*6 layers/);
    const wrongShape = await call(page, 'importFiles', JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16 }), '/fixtures/generation/bad/wide.safetensors', 'bad');
    expect((wrongShape as Failure).message).toMatch(/lora_A\.weight" has shape \[8, 768\], expected \[8, 512\]/);
    const otherBase = await call(page, 'importFiles', JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16 }), '/fixtures/generation/bad/other-base.safetensors', 'bad');
    expect((otherBase as Failure).message).toMatch(/made for a base model with weights sha256 000000000000/);
  }, 120_000);

  it('a cancelled generation stops within one step', async () => {
    const c0 = cases[0]!;
    const { result, seenAtCancel, seen } = await call(page, 'cancelAfter', c0.input_ids, 2);
    const r = ok(result);
    expect(seenAtCancel).toBe(2);
    expect(r.stopReason).toBe('cancelled');
    expect(seen).toBeLessThanOrEqual(seenAtCancel + 1);
    expect(r.ids.length).toBe(seen);
  }, 300_000);

  it('generateAdapter without a configured generator says so plainly', async () => {
    const r = await call(page, 'generateAdapter');
    expect(r).toMatchObject({ failed: true, code: 'generator-missing' });
  });

  it('after a GPU device loss, generation fails clearly and a second init works', async () => {
    expect(await call(page, 'loseDevice')).toBe(true);
    const c0 = cases[0]!;
    const failed = await call(page, 'generateIds', c0.input_ids, greedy(2, null));
    expect(failed).toMatchObject({ failed: true, code: 'device-lost' });
    const { info } = await call(page, 'init', 'webgpu');
    expect(ok(info).backend).toBe('webgpu');
    const r = ok(await call(page, 'generateIds', c0.input_ids, greedy(3, null)));
    expect(r.ids).toEqual(c0.base.slice(0, 3));
  }, 300_000);
});

describe('model engine, Chromium with WebGPU disabled (WASM fallback)', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: false });
    page = await openPage(browser);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('init falls back to WASM with a visible notice', async () => {
    const { info } = await call(page, 'init', 'auto');
    const i = ok(info);
    expect(i.backend).toBe('wasm');
    expect(i.notice).toMatch(/WebGPU is not available/);
    expect(await page.textContent('#notice')).toMatch(/WebGPU is not available/);
  }, 300_000);

  it(`greedy continuations (${fixture.new_tokens} tokens) equal PyTorch's, without and with the fixture LoRA (applied on the CPU)`, async () => {
    const lora = ok(await call(page, 'importFixtureAdapter', ADAPTER_URL, 'fixture'));
    for (const c of fixture.cases) {
      const base = ok(await call(page, 'generateIds', c.input_ids, greedy(fixture.new_tokens, null)));
      expect(base.ids, c.text).toEqual(c.base);
      const adapted = ok(await call(page, 'generateIds', c.input_ids, greedy(fixture.new_tokens, lora.id)));
      expect(adapted.ids, c.text).toEqual(c.lora);
      expect(adapted.kvLocation).toBe('cpu');
    }
    const rt = ok(await call(page, 'roundTrip', lora.id));
    const c0 = fixture.cases[0]!;
    const again = ok(await call(page, 'generateIds', c0.input_ids, greedy(fixture.new_tokens, rt.summary.id)));
    expect(again.ids).toEqual(c0.lora);
  }, 300_000);

  it('encodePrompts runs the model session (last_hidden_state) on WASM and gives the condition of test/fixtures/conditions', async () => {
    expect(ok((await call(page, 'init', 'wasm')).info).backend).toBe('wasm');
    const cond = conditionsFixture;
    const want = conditionsEmbeddings();
    const prompts = [...cond.cases.map((c) => c.prompt), cond.cases[1]!.prompt]; // P = 8
    const got = await page.evaluate(async (p) => {
      const client = (window as unknown as { engineTest: { client: { encodePrompts(x: string[]): Promise<{ condition: Float32Array; shape: number[]; ids: number[][] }> } } }).engineTest.client;
      const out = await client.encodePrompts(p);
      return { shape: out.shape, ids: out.ids, first2: Array.from(out.condition.subarray(0, 2 * 32 * 512)) };
    }, prompts);
    expect(got.shape).toEqual([8, 32, 512]);
    // Without a generator the engine reads each prompt's first L ids (window "head"). A fixture written
    // with the tail window agrees on every prompt shorter than L (all of its ids are read either way).
    const head = (cond.encoder.window ?? 'head') === 'head';
    const comparable = cond.cases.map((c, i) => ({ c, i })).filter(({ c }) => head || c.ids.length < cond.encoder.max_tokens);
    expect(comparable.map(({ i }) => got.ids[i])).toEqual(comparable.map(({ c }) => c.ids));
    expect(comparable.map(({ i }) => i).slice(0, 2)).toEqual([0, 1]);
    const err = relErr(got.first2, want);
    console.log(`encodePrompts on WASM vs fixture (2 prompts): max|d|/max|want| = ${err}`);
    expect(err).toBeLessThan(1e-4);
  }, 300_000);

  it('text generation streams text and stops on a stop string; cancel stops within one step', async () => {
    const r = ok(await call(page, 'generateText', 'The history of the', { adapter: null, maxTokens: 40, stop: ['.'] }));
    expect(r.streamedText).toBe(r.text);
    expect(r.text).not.toContain('.');
    const { result, seenAtCancel, seen } = await call(page, 'cancelAfter', fixture.cases[0]!.input_ids, 3);
    expect(ok(result).stopReason).toBe('cancelled');
    expect(seen).toBeLessThanOrEqual(seenAtCancel + 1);
  }, 120_000);
});

/**
 * A random-weight version-2 generator for the real base (never shipped) under build/e2e-generators/`name`
 * (served as /generators/`name`/), and the same files without the gate section under `name`-nogate.
 */
function writeV2Generator(schedule: string, name: string, extra: string[] = []): void {
  const out = `build/e2e-generators/${name}`;
  writeRandomV2Generator(out, extra, schedule);
  const bare = `${out}-nogate`;
  mkdirSync(bare, { recursive: true });
  copyFileSync(`${out}/generator.safetensors`, `${bare}/generator.safetensors`);
  const { gate: _, ...manifest } = JSON.parse(readFileSync(`${out}/generator.json`, 'utf8')) as Record<string, unknown>;
  writeFileSync(`${bare}/generator.json`, JSON.stringify(manifest));
}

/**
 * The gate the trainer's code (trainer/generator/gate.py, PyTorch decoder for an "output" gate) gives the
 * generator `name` for the page's seeded condition of `count` values.
 */
function expectedGate(name: string, count: number, seed: number): GateResult {
  const file = `build/e2e-generators/${name}-condition-${seed}.f32`;
  const condition = seededCondition(count, seed);
  writeFileSync(file, new Uint8Array(condition.buffer));
  const out = execFileSync('/usr/bin/python3', ['-m', 'trainer.fixtures.random_release_v2', '--out', `build/e2e-generators/${name}`, '--gate-of', file],
    { encoding: 'utf8' });
  return JSON.parse(out) as GateResult;
}

/** A random-weight generator for the real base (never shipped), its base hash set to the real one. */
function writeTestGenerator(schedule: string, out: string): number {
  execFileSync('/usr/bin/python3', ['-m', 'trainer.generator.random_weights', '--schedule', schedule, '--out', out], { stdio: 'inherit' });
  const manifestPath = `${out}/generator.json`;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { base_model: { weights_sha256: string }; decoder: { features: number[][] } };
  manifest.base_model.weights_sha256 = createHash('sha256').update(readFileSync('models/base/model.safetensors')).digest('hex');
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return (manifest.decoder.features[0] ?? []).reduce((a, b) => a * b, 1);
}

describe('generator -> adapter without WebGPU (the generator\'s ONNX graphs and the model on WASM)', () => {
  let browser: Browser;
  let page: Page;
  let conditionCount = 0;

  beforeAll(async () => {
    conditionCount = writeTestGenerator('bench/tiny-standin.json', 'build/e2e-generators/v1-tiny');
    browser = await launchChromium({ webgpu: false });
    page = await openPage(browser);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('generates an adapter on the CPU, registers it, and decodes like its exported PEFT copy', async () => {
    const info = ok(await call(page, 'initWithGenerator', 'wasm', '/generators/v1-tiny/'));
    expect(info).toMatchObject({ backend: 'wasm', generator: 'ready', generatorBackend: 'wasm' });
    const gen = ok(await call(page, 'generateFromCondition', conditionCount, 11));
    expect(gen.summary.source).toBe('generated');
    expect(gen.stages).toEqual(['layer 0', 'detokenize', 'apply']);
    expect(gen.snapshots).toEqual([{ rows: 48, cols: 48, finite: true }, null, null]);
    const c0 = fixture.cases[0]!;
    const base = ok(await call(page, 'generateIds', c0.input_ids, greedy(6, null)));
    const adapted = ok(await call(page, 'generateIds', c0.input_ids, greedy(6, gen.summary.id)));
    const rt = ok(await call(page, 'roundTrip', gen.summary.id));
    const viaZip = ok(await call(page, 'generateIds', c0.input_ids, greedy(6, rt.summary.id)));
    expect(adapted.ids).toEqual(viaZip.ids);
    expect(base.ids.length).toBe(adapted.ids.length);
  }, 300_000);

  it('version 2: the adapter is applied at the gate\'s strength g; its export holds B·g with lora_alpha / r', async () => {
    writeV2Generator('bench/tiny-standin.json', 'v2-tiny');
    const want = expectedGate('v2-tiny', conditionCount, 11);
    ok(await call(page, 'initWithGenerator', 'wasm', '/generators/v2-tiny/'));
    const gated = ok(await call(page, 'generateFromCondition', conditionCount, 11));
    expect(gated.summary.gate?.neighbours).toEqual(want.neighbours);
    expect(Math.abs(gated.summary.gate!.value - want.value)).toBeLessThan(1e-5);
    expect(gated.applyGate).toEqual(gated.summary.gate);
    expect(want.value).toBeGreaterThan(0.05);
    expect(want.value).toBeLessThan(0.95);
    expect(gated.summary.scale).toBe(2);
    const applied = ok(await call(page, 'exportedAdapter', gated.summary.id));
    expect(applied.config).toMatchObject({ r: 8, lora_alpha: 16, use_rslora: false });

    // the "risk" rule (a grid scale from the neighbours' NLL curves): the trainer's scale exactly
    writeV2Generator('bench/tiny-standin.json', 'v2-tiny-risk', ['--gate-rule', 'risk', '--gate-risk', '2']);
    const wantRisk = expectedGate('v2-tiny-risk', conditionCount, 11);
    ok(await call(page, 'initWithGenerator', 'wasm', '/generators/v2-tiny-risk/'));
    const risky = ok(await call(page, 'generateFromCondition', conditionCount, 11));
    expect(wantRisk.value).toBe(0.5);
    expect(risky.summary.gate).toEqual(wantRisk);

    // the same weights without the gate: A is the same, every B is 1/g of the applied one
    ok(await call(page, 'initWithGenerator', 'wasm', '/generators/v2-tiny-nogate/'));
    const bare = ok(await call(page, 'generateFromCondition', conditionCount, 11));
    expect(bare.summary.gate).toBeNull();
    const raw = ok(await call(page, 'exportedAdapter', bare.summary.id));
    const names = Object.keys(raw.tensors);
    expect(Object.keys(applied.tensors)).toEqual(names);
    expect(names.length).toBe(6 * 7 * 2);
    for (const name of names) {
      const g = name.includes('.lora_B.') ? gated.summary.gate!.value : 1; // the g the page applied (the trainer's within 1e-5)
      const [r, a] = [raw.tensors[name]!, applied.tensors[name]!];
      expect(r.norm, name).toBeGreaterThan(0);
      expect(Math.abs(a.norm - g * r.norm) / r.norm, name).toBeLessThan(1e-6);
      expect(a.head, name).toEqual(r.head.map((v) => Math.fround(v * g)));
    }
  }, 300_000);
});

describe('generator -> adapter on the GPU (random-weight version-2 generator for the real base, built at test time)', () => {
  let browser: Browser;
  let page: Page;
  let conditionCount = 0;

  beforeAll(async () => {
    // Never shipped: a random-weight stand-in with the release schedule, in version 2 with the "chat"
    // template, a tail window of W = 64 and a gate on the decoder's output (read back from the GPU).
    writeV2Generator('bench/release-standin.json', 'v2-release', ['--template', 'chat', '--max-input-tokens', '64', '--gate-feature', 'output']);
    conditionCount = 8 * 32 * 512;
    browser = await launchChromium({ webgpu: true });
    page = await openPage(browser);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('the generated LoRA goes into the model (grouped inputs as GPU buffers) and decodes like its exported PEFT copy', async () => {
    const info = ok(await call(page, 'initWithGenerator', 'webgpu', '/generators/v2-release/'));
    expect(info.generator).toBe('ready');
    const gen = ok(await call(page, 'generateFromCondition', conditionCount, 7));
    expect(gen.summary.source).toBe('generated');
    expect(gen.summary.scale).toBe(2);
    // the gate read the WGSL decoder's output back: the trainer's value for the same condition, within float noise
    const want = expectedGate('v2-release', conditionCount, 7);
    expect(gen.summary.gate?.neighbours).toEqual(want.neighbours);
    expect(Math.abs(gen.summary.gate!.value - want.value)).toBeLessThan(1e-5);
    expect(want.value).toBeGreaterThan(0.05);
    expect(gen.stages.slice(-2)).toEqual(['detokenize', 'apply']);
    expect(gen.stages.length).toBeGreaterThan(2);
    // every decoder layer streams a down-sampled heatmap; detokenisation and apply do not
    expect(gen.snapshots.slice(0, -2).every((x) => x !== null && x.finite)).toBe(true);
    expect(gen.snapshots.slice(-2)).toEqual([null, null]);
    // g is in B (the registry packs that copy into the model's grouped inputs), as in the export and its import
    const c0 = fixture.cases[0]!;
    const onGpu = ok(await call(page, 'generateIds', c0.input_ids, greedy(2, gen.summary.id)));
    const rt = ok(await call(page, 'roundTrip', gen.summary.id));
    const viaCpu = ok(await call(page, 'generateIds', c0.input_ids, greedy(2, rt.summary.id)));
    expect(onGpu.ids).toEqual(viaCpu.ids);
    // the page asks with one prompt; the generator needs P = 8 and says so
    const prompts = await call(page, 'generateAdapter');
    expect(prompts).toMatchObject({ failed: true, code: 'bad-request' });
    expect((prompts as Failure).message).toMatch(/needs 8 prompts.*got 1/);
    // 8 prompts: the model session's last_hidden_state (one right-padded batch), then the generator
    // (adds ~35 s on SwiftShader)
    const texts = conditionsFixture.cases.map((c) => c.prompt);
    const fromPrompts = await page.evaluate(async (p) => {
      const client = (window as unknown as { engineTest: { client: {
        encodePrompts(x: string[]): Promise<{ condition: Float32Array; ids: number[][] }>;
        generateAdapter(x: string[], name: string, onStage?: (s: { stage: string }) => void): Promise<{ source: string; name: string; gate: GateResult | null }>;
      } } }).engineTest.client;
      const enc = await client.encodePrompts(p);
      const stages: string[] = [];
      const summary = await client.generateAdapter(p, 'from prompts', (s) => stages.push(s.stage));
      return { ids: enc.ids, first2: Array.from(enc.condition.subarray(0, 2 * 32 * 512)), summary, stages };
    }, [...texts, texts[1]!]);
    // this stand-in generator's manifest says template "chat": <|im_start|> user \n, the prompt's ids, <|im_end|> \n
    const plain1 = conditionsFixture.cases[1]!.ids;
    const chat1 = fromPrompts.ids[1]!;
    expect(chat1.length).toBe(plain1.length + 5);
    expect(chat1.slice(3, 3 + plain1.length)).toEqual(plain1);
    expect(chat1[0]).toBe(fromPrompts.ids[0]![0]);
    // ... and window "tail" of W = 64: the long prompt is read past L = 32 ids, to its end markup
    const chat6 = fromPrompts.ids[6]!;
    expect(chat6.length).toBeGreaterThan(32);
    expect(chat6.length).toBeLessThanOrEqual(64);
    expect(chat6.slice(-2)).toEqual(chat1.slice(-2));
    // finite states for the real rows, exact zeros after them (so no parity with the "plain" fixture here)
    const rows1 = fromPrompts.first2.slice(32 * 512);
    expect(rows1.slice(0, chat1.length * 512).every((v) => Number.isFinite(v)) && rows1.slice(0, 512).some((v) => v !== 0)).toBe(true);
    expect(rows1.slice(chat1.length * 512).every((v) => v === 0)).toBe(true);
    expect(fromPrompts.summary).toMatchObject({ source: 'generated', name: 'from prompts' });
    expect(fromPrompts.summary.gate?.value).toBeGreaterThanOrEqual(0);
    expect(fromPrompts.summary.gate?.value).toBeLessThanOrEqual(1);
    expect(fromPrompts.summary.gate?.neighbours).toHaveLength(3);
    expect(fromPrompts.stages[0]).toBe('encode');
  }, 600_000);
});
