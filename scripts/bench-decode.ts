/**
 * npm run bench:decode — decoding speed in headless Chromium, per backend: our engine (a worker per
 * graph, onnxruntime-web) with the fixture LoRA and without (decoder_lora.onnx), the graph without
 * LoRA inputs (decoder.onnx), and transformers.js `generate` on the same model: on the standard
 * Hugging Face export (`hf`, trainer/export/onnx_model.py, needs Python with torch) and on our
 * decoder.onnx (`web`); same prompt, greedy, fixed length, same WASM threads. Variants are
 * interleaved run by run (load on this shared machine hits all alike); medians after a warm-up.
 * Writes reports/bench-decode.json (e2e/pages/decodeBench.ts says what is measured).
 *
 * Options: --backends wasm,webgpu; --tokens N (WASM, default 128); --webgpu-tokens N (default 6:
 * SwiftShader runs this model at well under a token per second); --runs N (default 7);
 * --webgpu-runs N (default 2); --warmup N (default 3; --webgpu-warmup, default 1); --threads 2,1 (WASM thread counts for the
 * equal-threads sections; default: the engine's own choice, and 1); --native (the machine's GPU,
 * not SwiftShader); --skip-tjs; --out FILE. WASM sections: `wasm`, each side at its default threads
 * (ours: the cores up to 4; transformers.js: onnxruntime-web's default, half the cores up to 4),
 * then `wasm_equal_threads_<n>`, both at n.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../e2e/browser';
import { buildPages, servePages } from '../e2e/pages/serve';
import { median } from '../bench/stats';
import { buildPeers } from './tjs-peer';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,webgpu' },
    tokens: { type: 'string', default: '128' },
    'webgpu-tokens': { type: 'string', default: '6' },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '3' },
    'webgpu-warmup': { type: 'string', default: '1' },
    'webgpu-runs': { type: 'string', default: '2' },
    threads: { type: 'string', default: '' },
    out: { type: 'string', default: 'reports/bench-decode.json' },
    native: { type: 'boolean', default: false },
    'skip-tjs': { type: 'boolean', default: false },
  },
});

const root = path.resolve(import.meta.dirname, '..');
const t0 = Date.now();
const log = (s: string) => console.log(`[bench-decode ${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`);
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

interface BenchRun { variant: string; tokens: number; decodeTokS: number; wallTokS: number; firstTokenMs: number; engineTokS: number }
type Bench = {
  initEngine(name: string, backend: string, graph: string, threads: number): Promise<{ backend: string; device: string; graph: string; wasmThreads: number | null; crossOriginIsolated: boolean }>;
  importAdapter(name: string, dir: string, label: string): Promise<string>;
  benchEngine(name: string, ids: number[], tokens: number, adapter: string | null, variant: string): Promise<BenchRun>;
  initPeer(peer: string, device: string, threads: number): Promise<number>;
  benchPeer(peer: string, ids: number[], tokens: number): Promise<BenchRun>;
};

async function call<K extends keyof Bench>(page: Page, name: K, ...a: Parameters<Bench[K]>): Promise<Awaited<ReturnType<Bench[K]>>> {
  return page.evaluate(([n, x]) => (window as unknown as { engineTest: { bench: Record<string, (...y: unknown[]) => unknown> } }).engineTest.bench[n as string]!(...(x as unknown[])), [name, a] as const) as Promise<Awaited<ReturnType<Bench[K]>>>;
}

const fixture = JSON.parse(readFileSync(path.join(root, 'test/fixtures/generation/cases.json'), 'utf8')) as { cases: { text: string; input_ids: number[] }[] };
const prompt = fixture.cases[0]!;
const peers = args['skip-tjs'] ? { hfError: 'skipped (--skip-tjs)' } : buildPeers(root);
if (peers.hfError) log(`transformers.js on the standard export: ${peers.hfError}`);
await buildPages();
const server = await servePages();

let browserVersion = '?';
const VARIANTS = ['base', 'adapted', 'no_lora_graph', 'tjs_hf', 'tjs_web'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * One browser, one backend: our engines at `threads` WASM threads (0: the engine's default, the
 * cores up to 4) and transformers.js at `peerThreads` (0: its default, onnxruntime-web's half the
 * cores up to 4).
 */
async function section(backend: 'wasm' | 'webgpu', threads: number, peerThreads: number, tokens: number, runs: number): Promise<Record<string, unknown>> {
  const browser = await launchChromium({ webgpu: backend === 'webgpu', native: args.native });
  browserVersion = browser.version();
  const loadBefore = loadavg();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]');
    const ours = threads || defaultThreads;
    const info = await call(page, 'initEngine', 'lora', backend, 'lora', ours);
    await call(page, 'initEngine', 'base', backend, 'base', ours);
    let peerThreadsUsed: number | null = null;
    const adapter = await call(page, 'importAdapter', 'lora', '/fixtures/generation/adapter', 'fixture');
    log(`${backend}: engine on ${info.backend} (${info.device}), WASM threads ${String(info.wasmThreads)}, isolated ${String(info.crossOriginIsolated)}`);
    const tjsErrors: Record<string, string | null> = { hf: peers.hfError, web: args['skip-tjs'] ? 'skipped (--skip-tjs)' : null };
    for (const peer of ['hf', 'web'] as const) {
      if (tjsErrors[peer]) continue;
      try {
        peerThreadsUsed = await call(page, 'initPeer', peer, backend, peerThreads);
      } catch (e) {
        tjsErrors[peer] = e instanceof Error ? e.message : String(e);
        log(`transformers.js (${peer}) did not load: ${tjsErrors[peer]}`);
      }
    }
    const ids = prompt.input_ids;
    const once = (v: Variant): Promise<BenchRun> => {
      switch (v) {
        case 'base': return call(page, 'benchEngine', 'lora', ids, tokens, null, 'ours, decoder_lora.onnx, no adapter');
        case 'adapted': return call(page, 'benchEngine', 'lora', ids, tokens, adapter, 'ours, decoder_lora.onnx, fixture LoRA');
        case 'no_lora_graph': return call(page, 'benchEngine', 'base', ids, tokens, null, 'ours, decoder.onnx (no LoRA inputs)');
        case 'tjs_hf': return call(page, 'benchPeer', 'hf', ids, tokens);
        case 'tjs_web': return call(page, 'benchPeer', 'web', ids, tokens);
      }
    };
    const active = VARIANTS.filter((v) => !(v === 'tjs_hf' && tjsErrors.hf) && !(v === 'tjs_web' && tjsErrors.web));
    // warm-up: V8 tiers the 27 MB WASM module up over the first few hundred steps; shaders compile
    const warmups = Number(backend === 'webgpu' ? args['webgpu-warmup'] : args.warmup);
    for (let w = 0; w < warmups; w++) for (const v of active) await once(v);
    const all: Record<Variant, BenchRun[]> = { base: [], adapted: [], no_lora_graph: [], tjs_hf: [], tjs_web: [] };
    for (let i = 0; i < runs; i++) {
      // rotate the order each round so no variant always follows the same one
      const order = active.map((_, k) => active[(k + i) % active.length]!);
      for (const v of order) all[v].push(await once(v));
      log(`${backend} x${ours}/${String(peerThreadsUsed)} run ${i + 1}/${runs}: ${active.map((v) => `${v} ${all[v].at(-1)!.decodeTokS.toFixed(1)}`).join(', ')} tok/s`);
    }
    const med = (v: Variant, k: keyof Omit<BenchRun, 'variant'>) => (all[v].length ? Number(median(all[v].map((r) => r[k])).toFixed(3)) : null);
    const ratio = (a: number | null, b: number | null) => (a && b ? Number((a / b).toFixed(3)) : null);
    // ratios of runs made in the same round (next to each other in time, so under the same load)
    const paired = (a: Variant, b: Variant) => {
      const xs = all[a].map((r, i) => (all[b][i] ? r.decodeTokS / all[b][i]!.decodeTokS : Number.NaN)).filter(Number.isFinite);
      return xs.length ? Number(median(xs).toFixed(3)) : null;
    };
    return {
      backend: info.backend, device: info.device, wasm_threads: info.wasmThreads, transformers_js_wasm_threads: backend === 'wasm' ? peerThreadsUsed : null,
      cross_origin_isolated: info.crossOriginIsolated,
      new_tokens: tokens, runs, loadavg_before: loadBefore, loadavg_after: loadavg(),
      base_tok_s: med('base', 'decodeTokS'),
      adapted_tok_s: med('adapted', 'decodeTokS'),
      adapted_over_base: paired('adapted', 'base'),
      model_onnx_tok_s: med('no_lora_graph', 'decodeTokS'),
      base_wall_tok_s: med('base', 'wallTokS'),
      adapted_wall_tok_s: med('adapted', 'wallTokS'),
      engine_adapted_tok_s: med('adapted', 'engineTokS'),
      transformers_js_tok_s: med('tjs_hf', 'wallTokS'),
      transformers_js_decode_tok_s: med('tjs_hf', 'decodeTokS'),
      transformers_js_same_graph_decode_tok_s: med('tjs_web', 'decodeTokS'),
      transformers_js_error: tjsErrors.hf,
      transformers_js_same_graph_error: tjsErrors.web,
      adapted_over_transformers_js: paired('adapted', 'tjs_hf'),
      adapted_over_transformers_js_same_graph: paired('adapted', 'tjs_web'),
      no_lora_graph_over_base: paired('no_lora_graph', 'base'),
      ours_wall_over_transformers_js: ratio(med('base', 'wallTokS'), med('tjs_hf', 'wallTokS')),
      max_tok_s: Object.fromEntries(active.map((v) => [v, Number(Math.max(...all[v].map((r) => r.decodeTokS)).toFixed(1))])),
      first_token_ms: { ours_adapted: med('adapted', 'firstTokenMs'), ours_base: med('base', 'firstTokenMs'), transformers_js: med('tjs_hf', 'firstTokenMs'), transformers_js_same_graph: med('tjs_web', 'firstTokenMs') },
      all_runs: all,
    };
  } finally {
    await browser.close();
  }
}

const backends = args.backends.split(',').filter((b): b is 'wasm' | 'webgpu' => b === 'wasm' || b === 'webgpu');
// the engine's default (src/model/session.ts defaultWasmThreads): the cores, at most 4
const defaultThreads = Math.min(4, os.cpus().length);
const equalThreads = args.threads ? args.threads.split(',').map(Number) : [...new Set([defaultThreads, 1])];
const sections: Record<string, Record<string, unknown>> = {};
try {
  for (const b of backends) {
    if (b === 'wasm') {
      // each at its default (what a person using either gets in the same isolated page), then equal threads
      sections.wasm = await section('wasm', 0, 0, Number(args.tokens), Number(args.runs));
      for (const t of equalThreads) sections[`wasm_equal_threads_${t}`] = await section('wasm', t, t, Number(args.tokens), Number(args.runs));
    } else {
      sections.webgpu = await section('webgpu', 0, 0, Number(args['webgpu-tokens']), Number(args['webgpu-runs']));
    }
  }
} finally {
  await server.close();
}

const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'e2e/pages', 'scripts', 'models'], { cwd: root, encoding: 'utf8' }).trim() !== '';
const primary = sections.wasm ?? Object.values(sections)[0] ?? {};
const equal = sections[`wasm_equal_threads_${defaultThreads}`] as Record<string, unknown> | undefined;
const keep = ['base_tok_s', 'adapted_tok_s', 'adapted_over_base', 'model_onnx_tok_s', 'base_wall_tok_s', 'adapted_wall_tok_s', 'transformers_js_tok_s',
  'transformers_js_error', 'ours_wall_over_transformers_js', 'adapted_over_transformers_js', 'adapted_over_transformers_js_same_graph', 'first_token_ms'];
const report = {
  generated_by: 'npm run bench:decode',
  command: `npm run bench:decode -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  commit: dirty ? `${commit}+uncommitted` : commit,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', memory_gb: Math.round(os.totalmem() / 2 ** 30), loadavg_at_end: loadavg(),
    note: 'shared 2-core machine: other jobs ran during the measurement (loadavg per section); variants interleaved run by run' },
  browser: `headless Chromium ${browserVersion}`,
  prompt: { text: prompt.text, tokens: prompt.input_ids.length },
  measure: 'per variant, median over runs after one warm-up run each. *_tok_s = decode steps/s as the page sees the stream: (tokens - 1) / (last token time - first token time), '
    + 'our worker\'s messages included (transformers.js: its generate() streamer on the page). *_wall_tok_s and transformers_js_tok_s = all new tokens / whole call incl. the prefill. '
    + 'engine_adapted_tok_s = our engine\'s own step timing (session runs only). model_onnx_tok_s = our engine on decoder.onnx (the web graph without LoRA inputs). '
    + 'transformers_js = transformers.js 4.3.1 generate() on the standard export (tjs-peer/hf: fp32 weights in the file, all positions\' logits); '
    + '*_same_graph = transformers.js on our decoder.onnx over model.safetensors (externalData). Ratios (adapted_over_*, no_lora_graph_over_base) are '
    + 'medians of the ratio within each round (the two runs next to each other in time), not ratios of medians; max_tok_s = the best run of each variant.',
  ...Object.fromEntries(keep.map((k) => [k, (primary as Record<string, unknown>)[k] ?? null])),
  wasm_threads: (primary as Record<string, unknown>).wasm_threads ?? null,
  transformers_js_wasm_threads: (primary as Record<string, unknown>).transformers_js_wasm_threads ?? null,
  adapted_over_transformers_js_equal_threads: equal?.adapted_over_transformers_js ?? null,
  backends: sections,
};
writeFileSync(path.join(root, args.out), JSON.stringify(report, null, 2) + '\n');
log(`wrote ${args.out}`);
process.exit(0);
