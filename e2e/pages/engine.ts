/**
 * Test page for e2e/engine.e2e.ts: the real engine worker behind its client, with small helpers the
 * test calls through `page.evaluate` (results must be plain data).
 */
import { unzipSync, strFromU8 } from 'fflate';
import modelManifest from 'virtual:dnd-model-manifest';
import { benchEngine, benchPeer, importAdapter, initEngine, initPeer } from './decodeBench';
import { adapterZipBase64, disposeEngine, generateFromPrompts, initGeneratorEngine, removeAdapter, tokenCounts, idle } from './adapterRuns';
import {
  EngineClient, EngineError, type AnsweredRow, type AnswerSettings, type GateResult, type GenerateOptions, type GenerateResult, type ValidationGateResult,
} from '../../src/worker/engineClient';
import { parseSafetensors } from '../../src/generator/safetensors';
import { seededCondition } from './seededCondition';
import { fetchModelFile, MODEL_CACHE } from '../../src/model/modelCache';
import type { ModelFile } from '../../src/model/modelFiles';

const client = new EngineClient();
const log = (line: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `${line}\n`;
};

interface Failure {
  failed: true;
  code: string;
  message: string;
}

async function attempt<T>(f: () => Promise<T>): Promise<T | Failure> {
  try {
    return await f();
  } catch (e) {
    return { failed: true, code: e instanceof EngineError ? e.code : 'thrown', message: e instanceof Error ? e.message : String(e) };
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

const api = {
  /** scripts/bench-decode.ts (e2e/pages/decodeBench.ts). */
  bench: { initEngine, importAdapter, benchEngine, initPeer, benchPeer },
  /** e2e/generatorCpu.e2e.ts and scripts/bench-adapter.ts (e2e/pages/adapterRuns.ts). */
  adapters: { initGeneratorEngine, generateFromPrompts, tokenCounts, adapterZipBase64, removeAdapter, disposeEngine, idle },
  client,
  /** The engine on the served models (`graph` 'base': decoder.onnx without LoRA inputs); `cache` false: no Cache Storage. */
  async init(backend: 'auto' | 'webgpu' | 'wasm' = 'auto', graph: 'lora' | 'base' = 'lora', cache = true) {
    const progress: { stage: string; loaded?: number; total?: number }[] = [];
    const info = await attempt(() => client.init({ modelsUrl: new URL('/models/', location.href).href, backend, graph, manifest: modelManifest, cache }, (p) => {
      progress.push({ stage: p.stage, ...(p.bytes ? { loaded: p.bytes.loaded, total: p.bytes.total } : {}) });
    }));
    if (!('failed' in info)) {
      const notice = document.getElementById('notice');
      if (notice) notice.textContent = info.notice ?? '';
    }
    log(`init: ${JSON.stringify(info).slice(0, 300)}`);
    return { info, progress };
  },
  async generateIds(ids: number[], options: GenerateOptions): Promise<(GenerateResult & { streamed: number[] }) | Failure> {
    const streamed: number[] = [];
    return attempt(async () => ({ ...(await client.generateIds(ids, options, (t) => streamed.push(t.id))), streamed }));
  },
  async generateText(text: string, options: GenerateOptions) {
    let streamedText = '';
    return attempt(async () => ({ ...(await client.generate(text, options, (t) => { streamedText += t.text; })), streamedText }));
  },
  /** Starts a long generation, cancels it once `after` tokens have streamed. */
  async cancelAfter(ids: number[], after: number) {
    let seen = 0;
    let seenAtCancel = -1;
    const result = await attempt(() => client.generateIds(ids, { adapter: null, maxTokens: 400, stopIds: [] }, () => {
      seen += 1;
      if (seen === after) {
        seenAtCancel = seen;
        void client.cancel();
      }
    }));
    return { result, seenAtCancel, seen };
  },
  async importFixtureAdapter(base: string, name: string) {
    const config = new TextDecoder().decode(await fetchBytes(`${base}/adapter_config.json`));
    const weights = await fetchBytes(`${base}/adapter_model.safetensors`);
    return attempt(() => client.importAdapterFiles(config, weights, name));
  },
  async importFiles(config: string, weightsUrl: string, name: string) {
    const weights = await fetchBytes(weightsUrl);
    return attempt(() => client.importAdapterFiles(config, weights, name));
  },
  /** Exports an adapter and imports the zip back; returns the new id and the zip's size. */
  async roundTrip(id: string) {
    return attempt(async () => {
      const zip = await client.exportAdapter(id);
      const summary = await client.importAdapter(zip, 'round trip');
      return { summary, zipBytes: zip.byteLength };
    });
  },
  /** The engine with the generator in `dir` (e.g. /generators/v1-tiny/). */
  async initWithGenerator(backend: 'auto' | 'webgpu' | 'wasm', dir: string) {
    return attempt(() => client.init({
      modelsUrl: new URL('/models/', location.href).href, backend,
      generator: { manifestUrl: `${dir}generator.json`, weightsUrl: `${dir}generator.safetensors` },
    }));
  },
  /** A seeded random condition of `count` values through the generator into a registered adapter. */
  async generateFromCondition(count: number, seed: number) {
    const condition = seededCondition(count, seed);
    const stages: string[] = [];
    const snapshots: ({ rows: number; cols: number; finite: boolean } | null)[] = [];
    let applyGate: GateResult | null = null;
    return attempt(async () => {
      const summary = await client.generateAdapterFromCondition(condition, 'generated', (st) => {
        stages.push(st.stage);
        snapshots.push(st.snapshot ? { rows: st.snapshot.rows, cols: st.snapshot.cols, finite: Array.from(st.snapshot.data).every(Number.isFinite) } : null);
        if (st.stage === 'apply') applyGate = st.gate ?? null;
      });
      return { summary, stages, snapshots, applyGate };
    });
  },
  /** The exported PEFT zip of an adapter: its config and, per tensor, the Frobenius norm and the first values. */
  async exportedAdapter(id: string, head = 8) {
    return attempt(async () => {
      const files = unzipSync(await client.exportAdapter(id));
      const weights = parseSafetensors(files['adapter_model.safetensors']!, 'adapter_model.safetensors');
      const tensors: Record<string, { norm: number; head: number[] }> = {};
      for (const name of weights.names()) {
        const data = weights.float32(name);
        let sum = 0;
        for (const v of data) sum += v * v;
        tensors[name] = { norm: Math.sqrt(sum), head: Array.from(data.subarray(0, head)) };
      }
      return { config: JSON.parse(strFromU8(files['adapter_config.json']!)) as Record<string, unknown>, tensors };
    });
  },
  /** The model cache on its own (src/model/modelCache.ts): one file, by URL and manifest entry. */
  async cachedFetch(url: string, entry: ModelFile | null) {
    return attempt(async () => {
      const r = await fetchModelFile(url, entry ?? undefined);
      return { source: r.source, note: r.note ?? null, bytes: r.bytes.byteLength, networkBytes: r.networkBytes, keptBytes: r.keptBytes, first: r.bytes[0] ?? -1 };
    });
  },
  async cacheKeys(): Promise<string[]> {
    return (await (await caches.open(MODEL_CACHE)).keys()).map((r) => r.url);
  },
  /** The answer gate's feature of a registered adapter (null: the base model) on `prompts`. */
  measureAnswers: (prompts: string[], adapter: string | null, settings?: AnswerSettings) => attempt(() => client.measureAnswerFeatures(prompts, adapter, settings)),
  /** Examples mode's validation NLL of a registered adapter at each grid scale. */
  validationNll: (rows: AnsweredRow[], adapter: string, grid: number[]) => attempt(() => client.validationNll(rows, adapter, grid)),
  /** P prompts -> their condition (returned, for the trainer's check) and an adapter generated from them, with its stages. */
  async generateFromPrompts(prompts: string[]) {
    return attempt(async () => {
      const encoded = await client.encodePrompts(prompts);
      const stages: { stage: string; ms: number }[] = [];
      const summary = await client.generateAdapter(prompts, 'from prompts', (st) => stages.push({ stage: st.stage, ms: st.ms }));
      return { summary, stages, condition: Array.from(encoded.condition) };
    });
  },
  /** Examples mode: P answered rows and the validation rows -> an adapter, its stages and the 'apply' event's validation. */
  async generateFromExamples(condition: AnsweredRow[], validation: AnsweredRow[]) {
    return attempt(async () => {
      const stages: { stage: string; ms: number }[] = [];
      let applied: ValidationGateResult | null = null;
      const summary = await client.generateAdapterFromExamples(condition, validation, 'from examples', (st) => {
        stages.push({ stage: st.stage, ms: st.ms });
        if (st.stage === 'apply') applied = st.validation ?? null;
      });
      return { summary, stages, applied };
    });
  },
  listAdapters: () => attempt(() => client.listAdapters()),
  generateAdapter: () => attempt(() => client.generateAdapter(['a prompt'])),
  loseDevice: () => client.debugLoseDevice(),
};

Object.assign(window, { engineTest: api });
document.body.dataset.ready = 'true';
