/**
 * npm run bench:adapter — prompts -> adapter without WebGPU, end to end, in headless Chromium with
 * WebGPU off (Auto picks WebAssembly), on the committed base model and release generator: one
 * `generateAdapter` call as the page sees it (encode, each decoder layer, detokenise, apply; worker
 * messages included), for each prompt file of bench/prompts/ (its first P prompts, read by the app's
 * reader), with three engines side by side on one page (one worker each):
 *
 * - `wasm`: ours, the generator's layers as ONNX graphs on onnxruntime-web's WebAssembly backend
 *   (src/generator/onnx/), the engine's default threads;
 * - `wasm_1_thread`: the same at one WebAssembly thread (what threads give the encoder and generator);
 * - `reference`: the TypeScript reference generator (src/generator/referenceRuntime.ts), the CPU path
 *   before it, with the same encoder.
 *
 * First generations are measured in a fresh browser each (the browser shares optimised WebAssembly
 * code between workers, so a second engine would start warm): `after_warm_up` once the engine's
 * background warm-up after the load is done (a person choosing prompts meanwhile), `at_once` right
 * after the load (waiting for that warm-up included). Then `--runs` rounds in one browser with the
 * variants interleaved (their order rotating), medians per stage. A Node section (`encoder_batching`, bench/encoderBatches.ts) times the prompt encoder
 * with one padded batch against the batches of similar length it plans. Writes
 * reports/bench-adapter-cpu.json with the commit, machine, browser and command.
 *
 * Options: --runs N (default 5), --sets a,b (file names in bench/prompts/), --out FILE, --skip-node.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { AdapterRun, GeneratorEngineInfo, GeneratorEngineOptions } from '../e2e/pages/adapterRuns';
import { callAdapters as call, openEnginePage } from '../e2e/pages/enginePage';
import { buildPages, servePages } from '../e2e/pages/serve';
import { benchEncoderBatching } from '../bench/encoderBatches';
import { median } from '../bench/stats';
import { planEncoderBatches } from '../src/model/encoder';
import { readPromptFile } from '../src/prompts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sets: { type: 'string', default: '' },
    out: { type: 'string', default: 'reports/bench-adapter-cpu.json' },
    'skip-node': { type: 'boolean', default: false },
  },
});

const root = path.resolve(import.meta.dirname, '..');
const t0 = Date.now();
const log = (s: string) => console.log(`[bench-adapter ${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`);
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));
const round1 = (x: number) => Number(x.toFixed(1));

const manifest = JSON.parse(readFileSync(path.join(root, 'models/generator/generator.json'), 'utf8')) as { encoder: { prompt_count: number; max_input_tokens: number } };
const P = manifest.encoder.prompt_count;
/** The ids of a prompt the encoder reads: at most the window (the last W with a "tail" window). */
const W = manifest.encoder.max_input_tokens;
const promptDir = path.join(root, 'bench/prompts');
const setFiles = args.sets ? args.sets.split(',') : readdirSync(promptDir).filter((f) => /\.(txt|jsonl)$/.test(f)).sort();
const sets: Record<string, string[]> = {};
for (const f of setFiles) {
  const { records } = readPromptFile({ name: f, bytes: new Uint8Array(readFileSync(path.join(promptDir, f))) });
  if (records.length < P) throw new Error(`bench/prompts/${f}: ${records.length} prompts, the generator needs ${P}`);
  sets[f] = records.slice(0, P).map((r) => r.prompt);
}

const VARIANTS = {
  wasm: { backend: 'auto' },
  wasm_1_thread: { backend: 'auto', wasmThreads: 1 },
  reference: { backend: 'auto', cpuGenerator: 'reference' },
} as const satisfies Record<string, GeneratorEngineOptions>;
type Variant = keyof typeof VARIANTS;
const variants = Object.keys(VARIANTS) as Variant[];

interface Sample {
  wall_ms: number;
  stages: Record<string, number>;
}

const toSample = (r: AdapterRun): Sample => ({ wall_ms: round1(r.wallMs), stages: Object.fromEntries(r.stages.map((s) => [s.stage, round1(s.ms)])) });

/** Medians of each stage and of the wall time; 'generator' = the decoder layers and detokenisation together. */
function summarise(samples: Sample[]): Record<string, number> {
  const stageNames = Object.keys(samples[0]?.stages ?? {});
  const generatorOf = (s: Sample) => Object.entries(s.stages).filter(([k]) => k.startsWith('layer ') || k === 'detokenize').reduce((a, [, v]) => a + v, 0);
  return {
    wall_ms: round1(median(samples.map((s) => s.wall_ms))),
    min_wall_ms: round1(Math.min(...samples.map((s) => s.wall_ms))),
    generator_ms: round1(median(samples.map(generatorOf))),
    ...Object.fromEntries(stageNames.map((k) => [`${k.replace(' ', '_')}_ms`, round1(median(samples.map((s) => s.stages[k] ?? 0)))])),
  };
}

await buildPages();
const server = await servePages();
const loadBefore = loadavg();
let browserVersion = '?';

async function openPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const { browser, page } = await openEnginePage(server.url, false, log);
  browserVersion = browser.version();
  return { page, close: () => browser.close() };
}

async function once(page: Page, v: Variant, set: string): Promise<Sample> {
  const r = await call(page, 'generateFromPrompts', v, sets[set]!, `${set} (${v})`);
  await call(page, 'removeAdapter', v, r.id);
  return toSample(r);
}

/** The first generation of a fresh browser's engine: after its warm-up, or at once after the load. */
async function firstRun(v: Variant, set: string, mode: 'after_warm_up' | 'at_once'): Promise<Sample & { init_ms: number; warm_up_ms?: number }> {
  const { page, close } = await openPage();
  try {
    const info = await call(page, 'initGeneratorEngine', v, VARIANTS[v]);
    const warmUp = mode === 'after_warm_up' ? round1(await call(page, 'idle', v)) : undefined;
    const sample = await once(page, v, set);
    log(`first run, ${mode}, ${v} on ${set}: ${sample.wall_ms} ms (init ${info.initMs.toFixed(0)} ms${warmUp === undefined ? '' : `, then warm-up ${warmUp} ms`})`);
    return { ...sample, init_ms: round1(info.initMs), ...(warmUp === undefined ? {} : { warm_up_ms: warmUp }) };
  } finally {
    await close();
  }
}

const engines: Partial<Record<Variant, GeneratorEngineInfo>> = {};
const first: Record<string, Record<string, Partial<Record<Variant, Sample>>>> = { after_warm_up: {}, at_once: {} };
const samples: Record<string, Record<Variant, Sample[]>> = {};
const tokens: Record<string, number[]> = {};
const FIRST_RUN_SETS = (['topics.txt', 'passages.jsonl'] as const).filter((f) => f in sets);
try {
  for (const set of FIRST_RUN_SETS) {
    for (const v of ['wasm', 'reference'] as const) {
      (first.after_warm_up![set] ??= {})[v] = await firstRun(v, set, 'after_warm_up');
      if (set === FIRST_RUN_SETS[0]) (first.at_once![set] ??= {})[v] = await firstRun(v, set, 'at_once');
    }
  }
} catch (e) {
  await server.close();
  throw e;
}
const { page, close } = await openPage();
try {
  for (const v of variants) {
    engines[v] = await call(page, 'initGeneratorEngine', v, VARIANTS[v]);
    await call(page, 'idle', v);
    log(`${v}: ${engines[v].backend}, generator ${String(engines[v].generatorBackend)}, threads ${String(engines[v].wasmThreads)}, isolated ${String(engines[v].crossOriginIsolated)}, init ${engines[v].initMs.toFixed(0)} ms`);
  }
  for (const [name, prompts] of Object.entries(sets)) tokens[name] = await call(page, 'tokenCounts', 'wasm', prompts);
  const runs = Number(args.runs);
  for (let r = 0; r < runs; r++) {
    for (const set of Object.keys(sets)) {
      const order = variants.map((_, k) => variants[(k + r) % variants.length]!);
      for (const v of order) ((samples[set] ??= { wasm: [], wasm_1_thread: [], reference: [] })[v]).push(await once(page, v, set));
      log(`round ${r + 1}/${runs} ${set}: ${variants.map((v) => `${v} ${samples[set]![v].at(-1)!.wall_ms.toFixed(0)} ms`).join(', ')}`);
    }
  }
} finally {
  await close();
  await server.close();
}
const loadAfterBrowser = loadavg();

// ratios of runs of the same round (next to each other in time, under the same load)
const paired = (set: string, a: Variant, b: Variant, pick: (s: Sample) => number) => {
  const xs = samples[set]![a].map((s, i) => pick(samples[set]![b][i]!) / pick(s)).filter(Number.isFinite);
  return Number(median(xs).toFixed(2));
};
const generatorOf = (s: Sample) => Object.entries(s.stages).filter(([k]) => k.startsWith('layer ') || k === 'detokenize').reduce((a, [, v]) => a + v, 0);
const results = Object.fromEntries(Object.keys(sets).map((set) => [set, {
  tokens_per_prompt: tokens[set],
  encoder_tokens_per_prompt: tokens[set]!.map((n) => Math.min(n, W)),
  encoder_batches: planEncoderBatches(tokens[set]!.map((n) => Math.min(n, W))).map((b) => b.length),
  ...Object.fromEntries(variants.map((v) => [v, summarise(samples[set]![v])])),
  reference_over_wasm_wall: paired(set, 'wasm', 'reference', (s) => s.wall_ms),
  reference_over_wasm_generator: paired(set, 'wasm', 'reference', generatorOf),
  one_thread_over_default_encode: paired(set, 'wasm', 'wasm_1_thread', (s) => s.stages.encode ?? NaN),
  all_runs: samples[set],
}]));

let encoderBatching: unknown = 'skipped (--skip-node)';
if (!args['skip-node']) {
  log('encoder batching in Node (onnxruntime-web WASM)');
  encoderBatching = await benchEncoderBatching(root, sets, Math.min(4, os.cpus().length), Number(args.runs) * 2);
}

const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'e2e/pages', 'scripts', 'bench', 'models'], { cwd: root, encoding: 'utf8' }).trim() !== '';
const report = {
  generated_by: 'npm run bench:adapter',
  command: `npm run bench:adapter -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  commit: dirty ? `${commit}+uncommitted` : commit,
  machine: {
    cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', memory_gb: Math.round(os.totalmem() / 2 ** 30),
    loadavg_before: loadBefore, loadavg_after_browser: loadAfterBrowser, loadavg_at_end: loadavg(),
    note: 'shared machine: other jobs ran during the measurement (loadavg); variants interleaved run by run, ratios paired within a round',
  },
  browser: `headless Chromium ${browserVersion}, WebGPU off (Auto: WebAssembly)`,
  generator: 'models/generator (release): ' + JSON.stringify(JSON.parse(readFileSync(path.join(root, 'models/generator/generator.json'), 'utf8')).decoder.features),
  measure: 'wall_ms: one generateAdapter call of P prompts as the page sees it (encode + every decoder layer + detokenise + apply, worker messages included), '
    + 'median over the rounds; *_ms: the engine\'s own stage times (medians); generator_ms: the decoder layers + detokenise. '
    + 'wasm = ours (the generator\'s ONNX graphs on onnxruntime-web WASM, default threads); wasm_1_thread = the same at 1 thread; '
    + 'reference = the TypeScript reference generator with the same encoder (the CPU path before). first_run: the first generation '
    + 'of an engine in a fresh browser, after_warm_up = once the background warm-up after the load has finished (init_ms, warm_up_ms), '
    + 'at_once = called right after the load (wall includes waiting for that warm-up); the rounds start once every engine\'s warm-up '
    + 'is done. Ratios: medians of the per-round ratios. '
    + 'encoder_batching: Node, onnxruntime-web WASM (same build), the engine\'s encodeIds with one padded batch vs its planned batches.',
  engines,
  first_run: first,
  sets: results,
  encoder_batching: encoderBatching,
};
writeFileSync(path.join(root, args.out), JSON.stringify(report, null, 2) + '\n');
log(`wrote ${args.out}`);
process.exit(0);
