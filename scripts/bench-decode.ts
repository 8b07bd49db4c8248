/**
 * npm run bench:decode — decoding speed of the base model in headless Chromium: our engine
 * (worker, onnxruntime-web, model_lora.onnx) without an adapter (lora_scale 0) and with the fixture
 * LoRA, the graph without LoRA inputs (onnx/model.onnx) to show the LoRA graph's own overhead, and
 * transformers.js `generate` on the same base model (onnx/model.onnx) for comparison. Same prompt,
 * greedy, fixed number of new tokens (no stop tokens), median of N runs after one warm-up.
 * Writes reports/bench-decode.json.
 *
 * Options: --backend webgpu|wasm (default webgpu: SwiftShader unless --native), --tokens N
 * (default 128), --runs N (default 5), --out FILE, --native (the machine's GPU), --skip-tjs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { chromiumPath, WEBGPU_SWIFTSHADER_FLAGS } from '../e2e/browser';
import { buildPages, servePages } from '../e2e/pages/serve';
import { median } from '../bench/stats';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    tokens: { type: 'string', default: '128' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string', default: 'reports/bench-decode.json' },
    native: { type: 'boolean', default: false },
    'skip-tjs': { type: 'boolean', default: false },
  },
});

const root = path.resolve(import.meta.dirname, '..');
const backend = args.backend === 'wasm' ? 'wasm' : 'webgpu';
const tokens = Number(args.tokens);
const runs = Number(args.runs);

interface BenchRun { variant: string; decodeTokS: number; wallTokS: number; tokens: number }
interface Failure { failed: true; code: string; message: string }

function ok<T>(v: T | Failure): T {
  if (typeof v === 'object' && v !== null && 'failed' in v) throw new Error(`${v.code}: ${v.message}`);
  return v;
}

async function call<T>(page: Page, name: string, ...a: unknown[]): Promise<T> {
  return page.evaluate(([n, x]) => (window as unknown as { engineTest: Record<string, (...y: unknown[]) => unknown> }).engineTest[n as string]!(...(x as unknown[])), [name, a] as const) as Promise<T>;
}

execFileSync('bash', ['scripts/prepare-models.sh'], { cwd: root, stdio: 'inherit' });
await buildPages();
const server = await servePages();
const flags = ['--no-sandbox', '--disable-background-networking', '--disable-component-update'];
const browser = await chromium.launch({
  executablePath: chromiumPath(), headless: true,
  args: backend === 'webgpu'
    ? [...(args.native ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan'] : WEBGPU_SWIFTSHADER_FLAGS), ...flags]
    : ['--disable-webgpu', '--disable-features=WebGPU', ...flags],
});
const fixture = JSON.parse(readFileSync(path.join(root, 'test/fixtures/generation/cases.json'), 'utf8')) as { cases: { text: string; input_ids: number[] }[] };
const prompt = fixture.cases[0]!;
const t0 = Date.now();
const log = (s: string) => console.log(`[bench-decode ${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]');
  const init = await call<{ info: { backend: string; device: string } | Failure }>(page, 'init', backend, 'model_lora.onnx');
  const info = ok(init.info);
  log(`engine on ${info.backend} (${info.device})`);
  const adapter = ok(await call<{ id: string } | Failure>(page, 'importFixtureAdapter', '/fixtures/generation/adapter', 'fixture'));
  const runsBy: Record<string, BenchRun[]> = { base: [], adapted: [], plain: [], tjs: [] };
  // interleave base and adapted, one run at a time, so machine load hits both alike
  for (let i = 0; i < runs; i++) {
    const warmup = i === 0 ? 1 : 0;
    runsBy.base!.push(...ok(await call<BenchRun[] | Failure>(page, 'benchEngine', prompt.input_ids, tokens, 1, null, 'base (model_lora.onnx, scale 0)', warmup)));
    runsBy.adapted!.push(...ok(await call<BenchRun[] | Failure>(page, 'benchEngine', prompt.input_ids, tokens, 1, adapter.id, 'adapted (model_lora.onnx, fixture LoRA)', warmup)));
    log(`run ${i + 1}/${runs}: base ${runsBy.base!.at(-1)!.decodeTokS.toFixed(2)} tok/s, adapted ${runsBy.adapted!.at(-1)!.decodeTokS.toFixed(2)} tok/s`);
  }
  ok((await call<{ info: unknown }>(page, 'init', backend, 'onnx/model.onnx')).info as object);
  runsBy.plain = ok(await call<BenchRun[] | Failure>(page, 'benchEngine', prompt.input_ids, tokens, runs, null, 'base (model.onnx, no LoRA inputs)'));
  log(`model.onnx: ${median(runsBy.plain.map((r) => r.decodeTokS)).toFixed(2)} tok/s`);
  let tjsError: string | null = null;
  if (!args['skip-tjs']) {
    const tjsPage = await browser.newPage();
    tjsPage.setDefaultTimeout(0);
    await tjsPage.goto(server.url);
    await tjsPage.waitForSelector('body[data-ready=true]');
    const r = await call<BenchRun[] | Failure>(tjsPage, 'benchTransformers', prompt.input_ids, tokens, runs, backend);
    if ('failed' in r) tjsError = r.message;
    else runsBy.tjs = r;
    log(`transformers.js: ${tjsError ?? median(runsBy.tjs!.map((x) => x.wallTokS)).toFixed(2) + ' tok/s'}`);
  }
  const med = (k: string, f: keyof Pick<BenchRun, 'decodeTokS' | 'wallTokS'>) => (runsBy[k]!.length ? median(runsBy[k]!.map((r) => r[f])) : null);
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/model', 'src/worker', 'e2e/pages', 'scripts/bench-decode.ts'], { cwd: root, encoding: 'utf8' }).trim() !== '';
  const base = med('base', 'decodeTokS');
  const adapted = med('adapted', 'decodeTokS');
  const report = {
    generated_by: 'npm run bench:decode',
    command: `npm run bench:decode -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    commit: dirty ? `${commit}+uncommitted` : commit,
    device: `${info.device} (${info.backend}${backend === 'webgpu' && !args.native ? ', SwiftShader software Vulkan' : ''}) in headless Chromium ${browser.version()}`,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', loadavg_at_end: os.loadavg().map((x) => Number(x.toFixed(2))) },
    prompt: { text: prompt.text, tokens: prompt.input_ids.length },
    new_tokens: tokens,
    runs,
    measure: 'median over runs after one warm-up; *_tok_s = decode steps after the prefill / their time (our engine); '
      + 'transformers_js_tok_s and *_wall_tok_s = all new tokens / whole generate() time including the prefill',
    base_tok_s: base,
    adapted_tok_s: adapted,
    adapted_over_base: base && adapted ? adapted / base : null,
    model_onnx_tok_s: med('plain', 'decodeTokS'),
    base_wall_tok_s: med('base', 'wallTokS'),
    adapted_wall_tok_s: med('adapted', 'wallTokS'),
    transformers_js_tok_s: med('tjs', 'wallTokS'),
    transformers_js_error: tjsError,
    ours_wall_over_transformers_js: med('tjs', 'wallTokS') ? (med('base', 'wallTokS') ?? 0) / (med('tjs', 'wallTokS') ?? 1) : null,
    all_runs: runsBy,
  };
  writeFileSync(path.join(root, args.out as string), JSON.stringify(report, null, 2) + '\n');
  log(`wrote ${args.out}`);
} finally {
  await browser.close();
  await server.close();
}
