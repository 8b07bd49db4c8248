/**
 * npm run bench:load — what a visit costs, in headless Chromium against the production build as
 * `npm run preview` serves it (precompressed copies, isolation headers; scripts/vite-models-plugin.ts):
 *
 * - bytes fetched on a first visit (empty browser profile) and on a second visit (reload, same
 *   profile), by kind (weights, graph, generator, tokenizer, config, wasm/js, examples), counted on
 *   the server as the bytes it wrote per response (the compressed size when it sent a compressed
 *   copy), page and workers alike;
 * - time from navigation start to the model being ready (the app's `model-ready` mark), cold
 *   (first visit) and warm (second visit, files from Cache Storage), per backend;
 * - time from navigation start to the first generated adapter (an example's prompts -> Generate),
 *   cold and warm, on WebGPU (SwiftShader here, unless --native).
 *
 * Options: --backends webgpu,wasm; --runs N (default 2 per backend, each a fresh profile);
 * --native; --skip-adapter; --out FILE (default reports/bench-load.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { build, preview, type Plugin } from 'vite';
import { launchChromium } from '../e2e/browser';
import { median } from '../bench/stats';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'webgpu,wasm' },
    runs: { type: 'string', default: '2' },
    native: { type: 'boolean', default: false },
    'skip-adapter': { type: 'boolean', default: false },
    out: { type: 'string', default: 'reports/bench-load.json' },
  },
});
const root = path.resolve(import.meta.dirname, '..');
const t0 = Date.now();
const log = (s: string) => console.log(`[bench-load ${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`);
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

type Kind = 'weights' | 'graph' | 'generator' | 'tokenizer' | 'config' | 'wasm_js' | 'examples' | 'other';
function kindOf(url: string): Kind {
  const p = url.split('?')[0] ?? url;
  if (p.endsWith('/model.safetensors')) return 'weights';
  if (p.includes('/models/generator/')) return 'generator';
  if (/\/models\/.*\.onnx$/.test(p) || p.endsWith('/graphs.json')) return 'graph';
  if (/\/models\/.*tokenizer[^/]*\.json$/.test(p) || p.endsWith('special_tokens_map.json')) return 'tokenizer';
  if (p.includes('/models/')) return 'config';
  if (p.includes('/examples/')) return 'examples';
  if (/\.(wasm|js|mjs|css|html)$/.test(p) || p.endsWith('/')) return 'wasm_js';
  return 'other';
}

/** Counts the bytes the preview server writes per request path (bodies only). */
const ledger: { url: string; bytes: number }[] = [];
function byteCounter(): Plugin {
  return {
    name: 'bench-byte-counter',
    enforce: 'pre', // before the models plugin's middleware, which answers without calling next()
    configurePreviewServer(server) {
      server.middlewares.use((req, res: ServerResponse, next) => {
        let bytes = 0;
        const write = res.write.bind(res) as (...a: unknown[]) => boolean;
        const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0);
        res.write = ((chunk: unknown, ...rest: unknown[]) => { bytes += size(chunk); return write(chunk, ...rest); }) as typeof res.write;
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          if (chunk && typeof chunk !== 'function') bytes += size(chunk);
          ledger.push({ url: req.url ?? '', bytes });
          return end(chunk, ...rest);
        }) as typeof res.end;
        next();
      });
    },
  };
}

function byKind(entries: { url: string; bytes: number }[]): Record<Kind, number> & { total: number } {
  const out = { weights: 0, graph: 0, generator: 0, tokenizer: 0, config: 0, wasm_js: 0, examples: 0, other: 0, total: 0 };
  for (const e of entries) {
    out[kindOf(e.url)] += e.bytes;
    out.total += e.bytes;
  }
  return out;
}

async function readyMs(page: Page): Promise<number> {
  await page.waitForFunction(() => performance.getEntriesByName('model-ready').length > 0 || document.querySelector('[data-testid="model-error"]'), null, { timeout: 0, polling: 100 });
  const ms = await page.evaluate(() => performance.getEntriesByName('model-ready')[0]?.startTime ?? -1);
  if (ms < 0) throw new Error(`the model did not load: ${await page.getByTestId('model-error').first().textContent()}`);
  return ms;
}

async function visit(page: Page, url: string, withAdapter: boolean): Promise<Visit> {
  await page.goto(url);
  let adapterMs: number | null = null;
  // A second visit loads the kept model by itself (src/store/modelAutoLoad.ts): Load model only when asked for.
  const loadIfAsked = async (panel: string) => {
    const loader = page.getByTestId(panel).getByTestId('model-loader');
    await page.waitForFunction((p) => document.querySelector(`[data-testid="${p}"] [data-testid="model-loader"]`) !== null, panel, { timeout: 0, polling: 100 });
    await page.waitForTimeout(1000); // time for the automatic load to start when the files are kept
    if ((await loader.getAttribute('data-status')) === 'idle') await page.getByTestId(panel).getByTestId('load-model').click();
  };
  if (withAdapter) {
    // an example's prompts, then Load model on the Generate tab, then Generate
    await page.locator('[data-testid="example-button"][data-task="ARC-Easy"]').click();
    await page.getByTestId('tab-generate').click();
    await loadIfAsked('panel-generate');
  } else {
    await page.getByTestId('tab-adapters').click();
    await loadIfAsked('panel-adapters');
  }
  const ready = await readyMs(page);
  if (withAdapter) {
    const panel = page.getByTestId('panel-generate');
    await page.waitForFunction(() => !(document.querySelector('[data-testid="panel-generate"] [data-testid="generate-run"]') as HTMLButtonElement | null)?.disabled, null, { timeout: 0, polling: 100 });
    await panel.getByTestId('generate-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="panel-generate"] [data-testid="generate-screen"]')?.getAttribute('data-status') === 'done', null, { timeout: 0, polling: 100 });
    adapterMs = await page.evaluate(() => performance.now());
  }
  const source = await page.locator('[data-testid="model-source"]').first().getAttribute('data-source');
  const stagesMs = await page.evaluate(() => ((performance.getEntriesByName('model-ready').at(-1) as PerformanceMark | undefined)?.detail ?? null) as Record<string, number> | null);
  return { readyMs: ready, adapterMs, source, stagesMs };
}

type Bytes = ReturnType<typeof byKind>;
interface Visit { readyMs: number; adapterMs: number | null; source: string | null; stagesMs: Record<string, number> | null }
interface Run {
  first_visit: Visit & { bytes: Bytes };
  second_visit: Visit & { bytes: Bytes; model_bytes: number };
  loadavg_before: number[];
  loadavg_after: number[];
}

const outDir = mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-load-'));
process.env.DND_DATASETS = path.join(root, 'test/fixtures/datasets-mini');
log('building dist/ (npm run build)');
await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
const server = await preview({ root, build: { outDir }, preview: { port: 0, host: '127.0.0.1' }, logLevel: 'warn', plugins: [byteCounter()] });
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('vite preview gave no URL');

const sections: Record<string, unknown> = {};
let browserVersion = '?';
try {
  for (const backend of args.backends.split(',')) {
    const runs: Run[] = [];
    for (let i = 0; i < Number(args.runs); i++) {
      const browser = await launchChromium({ webgpu: backend === 'webgpu', native: args.native });
      browserVersion = browser.version();
      try {
        const context = await browser.newContext(); // a fresh profile: empty HTTP cache and Cache Storage
        const page = await context.newPage();
        page.setDefaultTimeout(0);
        const withAdapter = backend === 'webgpu' && !args['skip-adapter'];
        const loadBefore = loadavg();
        ledger.length = 0;
        const first = await visit(page, url, withAdapter);
        const firstBytes = byKind([...ledger]);
        ledger.length = 0;
        const second = await visit(page, url, withAdapter);
        const secondBytes = byKind([...ledger]);
        const secondModelBytes = ledger.filter((e) => e.url.includes('/models/')).reduce((s, e) => s + e.bytes, 0);
        runs.push({ first_visit: { ...first, bytes: firstBytes }, second_visit: { ...second, bytes: secondBytes, model_bytes: secondModelBytes }, loadavg_before: loadBefore, loadavg_after: loadavg() });
        log(`${backend} run ${i + 1}: first ${(firstBytes.total / 1e6).toFixed(2)} MB, ready ${first.readyMs.toFixed(0)} ms${first.adapterMs ? `, adapter ${first.adapterMs.toFixed(0)} ms` : ''}; `
          + `second ${(secondModelBytes / 1e6).toFixed(2)} MB of models, ready ${second.readyMs.toFixed(0)} ms${second.adapterMs ? `, adapter ${second.adapterMs.toFixed(0)} ms` : ''} (${second.source})`);
      } finally {
        await browser.close();
      }
    }
    const pick = (f: (r: Run) => number | null) => {
      const xs = runs.map(f).filter((x): x is number => typeof x === 'number');
      return xs.length ? Number(median(xs).toFixed(0)) : null;
    };
    sections[backend] = {
      first_visit_bytes: pick((r) => r.first_visit.bytes.total),
      second_visit_model_bytes: pick((r) => r.second_visit.model_bytes),
      ready_ms_cold: pick((r) => r.first_visit.readyMs),
      ready_ms_warm: pick((r) => r.second_visit.readyMs),
      first_adapter_ms_cold: pick((r) => r.first_visit.adapterMs),
      first_adapter_ms_warm: pick((r) => r.second_visit.adapterMs),
      first_visit_bytes_by_kind: runs[0]?.first_visit.bytes ?? null,
      second_visit_bytes_by_kind: runs[0]?.second_visit.bytes ?? null,
      runs,
    };
  }
} finally {
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
}

const primary = (sections.webgpu ?? Object.values(sections)[0] ?? {}) as Record<string, unknown>;
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'scripts', 'models', 'vite.config.ts'], { cwd: root, encoding: 'utf8' }).trim() !== '';
const report = {
  generated_by: 'npm run bench:load',
  command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  commit: dirty ? `${commit}+uncommitted` : commit,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', loadavg_at_end: loadavg(),
    note: 'shared 2-core machine: other jobs ran during the measurement (loadavg per run); times are wall clock' },
  browser: `headless Chromium ${browserVersion}`,
  server: 'vite preview (npm run preview) on the production build: brotli copies sent to Chromium (Accept-Encoding: br), COOP/COEP',
  measure: 'bytes: response bodies the server wrote (compressed size for compressed copies), page and workers; first visit = empty profile, '
    + 'second = reload in the same profile. ready_ms = navigation start -> the app\'s performance mark "model-ready" (Load model clicked at once); '
    + 'first_adapter_ms = navigation start -> Generate done (example prompts, WebGPU). Medians over runs; top level = the webgpu section.',
  first_visit_bytes: primary.first_visit_bytes ?? null,
  second_visit_model_bytes: primary.second_visit_model_bytes ?? null,
  ready_ms_cold: primary.ready_ms_cold ?? null,
  ready_ms_warm: primary.ready_ms_warm ?? null,
  first_adapter_ms_cold: primary.first_adapter_ms_cold ?? null,
  first_adapter_ms_warm: primary.first_adapter_ms_warm ?? null,
  backends: sections,
};
writeFileSync(path.join(root, args.out), JSON.stringify(report, null, 2) + '\n');
log(`wrote ${args.out}`);
process.exit(0);
