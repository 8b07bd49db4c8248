/**
 * Test page for e2e/engine.e2e.ts: the real engine worker behind its client, with small helpers the
 * test calls through `page.evaluate` (results must be plain data).
 */
import { EngineClient, EngineError, type GenerateOptions, type GenerateResult } from '../../src/worker/engineClient';

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
  client,
  async init(backend: 'auto' | 'webgpu' | 'wasm' = 'auto') {
    const progress: { stage: string; loaded?: number; total?: number }[] = [];
    const info = await attempt(() => client.init({ modelsUrl: new URL('/models/', location.href).href, backend }, (p) => {
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
  listAdapters: () => attempt(() => client.listAdapters()),
  generateAdapter: () => attempt(() => client.generateAdapter(['a prompt'])),
  loseDevice: () => client.debugLoseDevice(),
};

Object.assign(window, { engineTest: api });
document.body.dataset.ready = 'true';
