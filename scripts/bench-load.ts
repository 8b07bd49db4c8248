/**
 * npm run bench:load — what a visit costs, in headless Chromium, on both ways the app is served:
 *
 * - `dev`: `npm start` (Vite's dev server: every source module on its own, nothing compressed);
 * - `preview`: `npm run build` + `npm run preview` (the production build: brotli copies, COOP/COEP;
 *   scripts/vite-models-plugin.ts), as a static host serves it.
 *
 * Per server and backend, each run in a fresh browser profile, a first visit (empty profile) and a
 * second visit (reload, same profile; the kept model loads by itself):
 *
 * - bytes the server sent, counted on the server as the response bodies it wrote (the compressed size
 *   where it sent a compressed copy), page and workers alike, by kind (model files by kind,
 *   WebAssembly, scripts and page, examples), up to the model being ready;
 * - the page's own figure (`model-download-size`: Resource Timing in the page and the model worker,
 *   src/model/downloadTally.ts), and whether it equals the server's count (model files, WebAssembly,
 *   the rest);
 * - time from navigation start to the model being ready (the app's `model-ready` mark) and, with
 *   the adapter step, to the first generated adapter (an example's prompts -> Generate), cold and warm.
 *
 * The dev server is warmed up first by one visit that loads the model (not counted): Vite transforms
 * and pre-bundles on first request, and a dependency found late makes it reload the page.
 *
 * Options: --servers dev,preview; --backends webgpu,wasm; --runs N (default 2 per server and
 * backend); --native; --skip-adapter; --out FILE (default reports/bench-load.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, createServer, preview, type Plugin } from 'vite';
import { chromiumArgs, chromiumPath } from '../e2e/browser';
import { median } from '../bench/stats';
import { downloadKindOf, type DownloadKind } from '../src/model/downloadTally';
import { modelFileKind, type ModelFileKind } from '../src/model/modelFiles';

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: 'dev,preview' },
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

type ServerKind = 'dev' | 'preview';
type FineKind = ModelFileKind | 'wasm' | 'scripts' | 'examples';

/** The request path below the app (the models folder, an example) without query or hash. */
function pathOf(url: string): string {
  return decodeURIComponent(url.split(/[?#]/)[0] ?? url);
}

function fineKindOf(url: string): FineKind {
  const p = pathOf(url);
  const models = p.indexOf('/models/');
  if (models !== -1) return modelFileKind(p.slice(models + '/models/'.length));
  if (p.endsWith('.wasm')) return 'wasm';
  if (p.includes('/examples/')) return 'examples';
  return 'scripts';
}

interface Counted { url: string; status: number; bytes: number }

/** Counts the bytes the dev or preview server writes per response (bodies only). */
const ledger: Counted[] = [];
function byteCounter(): Plugin {
  const count = (server: { middlewares: { use: (f: (req: { url?: string }, res: ServerResponse, next: () => void) => void) => void } }) => {
    server.middlewares.use((req, res, next) => {
      let bytes = 0;
      const write = res.write.bind(res) as (...a: unknown[]) => boolean;
      const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
      const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0);
      res.write = ((chunk: unknown, ...rest: unknown[]) => { bytes += size(chunk); return write(chunk, ...rest); }) as typeof res.write;
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (chunk && typeof chunk !== 'function') bytes += size(chunk);
        ledger.push({ url: req.url ?? '', status: res.statusCode, bytes });
        return end(chunk, ...rest);
      }) as typeof res.end;
      next();
    });
  };
  return {
    name: 'bench-byte-counter',
    enforce: 'pre', // before the models plugin's middleware, which answers without calling next()
    configureServer: count,
    configurePreviewServer: count,
  };
}

type Bytes = Record<FineKind, number> & Record<DownloadKind, number> & { total: number; responses: number };

function byKind(entries: readonly Counted[]): Bytes {
  const out: Bytes = {
    weights: 0, graph: 0, generator: 0, tokenizer: 0, config: 0, wasm: 0, scripts: 0, examples: 0, model: 0, page: 0, total: 0, responses: 0,
  };
  for (const e of entries) {
    out[fineKindOf(e.url)] += e.bytes;
    const three = downloadKindOf(e.url);
    if (three !== 'wasm') out[three] += e.bytes; // 'wasm' is counted once, above
    out.total += e.bytes;
    out.responses++;
  }
  return out;
}

interface PageFigure { bytes: number; model: number; wasm: number; page: number; text: string }

async function readyMs(page: Page): Promise<number> {
  await page.waitForFunction(() => performance.getEntriesByName('model-ready').length > 0 || document.querySelector('[data-testid="model-error"]'), null, { timeout: 0, polling: 100 });
  const ms = await page.evaluate(() => performance.getEntriesByName('model-ready')[0]?.startTime ?? -1);
  if (ms < 0) throw new Error(`the model did not load: ${await page.getByTestId('model-error').first().textContent()}`);
  return ms;
}

interface Visit {
  readyMs: number;
  adapterMs: number | null;
  /** Where the model files came from (the page's model-source line). */
  source: string | null;
  /** Whether the model started loading by itself (second visits: the kept model). */
  autoLoaded: boolean;
  backendRan: string | null;
  stagesMs: Record<string, number> | null;
  bytes: Bytes;
  pageFigure: PageFigure | null;
  /** The page's figure equals the server's count, per kind. */
  pageFigureMatchesServer: boolean;
  /** Page's figure minus the server's count, in bytes (a small body revalidated by a 304 is counted by the page). */
  pageFigureMinusServer: number | null;
}

async function visit(page: Page, url: string, backend: string, withAdapter: boolean, first: boolean): Promise<Visit> {
  ledger.length = 0;
  await page.goto(url);
  const panelId = withAdapter ? 'panel-generate' : 'panel-adapters';
  const panel = page.getByTestId(panelId);
  const loader = panel.getByTestId('model-loader');
  if (withAdapter) await page.locator('[data-testid="example-button"][data-task="ARC-Easy"]').click();
  await page.getByTestId(withAdapter ? 'tab-generate' : 'tab-adapters').click();
  let autoLoaded = false;
  if (first) {
    // an empty profile: nothing kept, so the page waits for Load model (on the backend measured)
    await panel.getByTestId(`backend-${backend}`).check();
    await panel.getByTestId('load-model').click();
  } else {
    // the kept model loads by itself (src/store/modelAutoLoad.ts); Load model only if it did not
    const started = Date.now();
    while ((await loader.getAttribute('data-status')) === 'idle' && Date.now() - started < 5000) await page.waitForTimeout(100);
    autoLoaded = (await loader.getAttribute('data-status')) !== 'idle';
    if (!autoLoaded) await panel.getByTestId('load-model').click();
  }
  const ready = await readyMs(page);
  const bytes = byKind([...ledger]);
  const figureLine = panel.getByTestId('model-download-size');
  await figureLine.waitFor({ state: 'attached', timeout: 30_000 });
  const attr = async (name: string) => Number(await figureLine.getAttribute(name));
  const pageFigure: PageFigure = { bytes: await attr('data-bytes'), model: await attr('data-model'), wasm: await attr('data-wasm'), page: await attr('data-page'), text: (await figureLine.textContent()) ?? '' };
  const pageFigureMatchesServer = pageFigure.bytes === bytes.total && pageFigure.model === bytes.model && pageFigure.wasm === bytes.wasm && pageFigure.page === bytes.page;
  let adapterMs: number | null = null;
  if (withAdapter) {
    await page.waitForFunction(() => !(document.querySelector('[data-testid="panel-generate"] [data-testid="generate-run"]') as HTMLButtonElement | null)?.disabled, null, { timeout: 0, polling: 100 });
    await panel.getByTestId('generate-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="panel-generate"] [data-testid="generate-screen"]')?.getAttribute('data-status') === 'done', null, { timeout: 0, polling: 100 });
    adapterMs = await page.evaluate(() => performance.now());
  }
  const source = await panel.getByTestId('model-source').getAttribute('data-source');
  const backendRan = await panel.getByTestId('model-backend').textContent();
  const stagesMs = await page.evaluate(() => ((performance.getEntriesByName('model-ready').at(-1) as PerformanceMark | undefined)?.detail ?? null) as Record<string, number> | null);
  return { readyMs: ready, adapterMs, source, autoLoaded, backendRan, stagesMs, bytes, pageFigure, pageFigureMatchesServer, pageFigureMinusServer: pageFigure.bytes - bytes.total };
}

interface Run {
  first_visit: Visit;
  second_visit: Visit;
  loadavg_before: number[];
  loadavg_after: number[];
}

interface Served { url: string; close: () => Promise<void>; note: string }

async function startServer(kind: ServerKind): Promise<Served> {
  process.env.DND_DATASETS = path.join(root, 'test/fixtures/datasets-mini');
  if (kind === 'dev') {
    const server = await createServer({ root, logLevel: 'warn', server: { port: 0, host: '127.0.0.1' }, plugins: [byteCounter()] });
    await server.listen();
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite dev server gave no URL');
    return { url, close: () => server.close(), note: 'vite dev server (npm start): modules one by one, no compression' };
  }
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-load-'));
  log('building dist/ (npm run build)');
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server = await preview({ root, build: { outDir }, preview: { port: 0, host: '127.0.0.1' }, logLevel: 'warn', plugins: [byteCounter()] });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview gave no URL');
  return {
    url,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
    note: 'vite preview on the production build (npm run build + npm run preview): brotli copies sent to Chromium (Accept-Encoding: br), COOP/COEP',
  };
}

/**
 * A fresh browser profile on disk, as a person's browser has: its HTTP cache on disk (an in-memory
 * profile does not keep a 27 MB response, so every reload would fetch the dev server's WebAssembly again).
 */
async function freshProfile(options: { webgpu: boolean; native: boolean }): Promise<{ context: BrowserContext; page: Page; version: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-profile-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumPath(), headless: true, args: chromiumArgs(options) });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(0);
  const version = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1] ?? '?';
  return {
    context, page, version,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One visit that loads the model in a throwaway profile, so the dev server has transformed and pre-bundled everything. */
async function warmUp(url: string): Promise<void> {
  const profile = await freshProfile({ webgpu: false, native: false });
  try {
    await visit(profile.page, url, 'wasm', false, true);
  } finally {
    await profile.close();
  }
}

let browserVersion = '?';
const servers: Partial<Record<ServerKind, unknown>> = {};
const summary: Partial<Record<ServerKind, unknown>> = {};
for (const serverKind of args.servers.split(',') as ServerKind[]) {
  const served = await startServer(serverKind);
  const sections: Record<string, unknown> = {};
  try {
    if (serverKind === 'dev') {
      log('dev: warm-up visit (not counted)');
      await warmUp(served.url);
    }
    for (const backend of args.backends.split(',')) {
      const runs: Run[] = [];
      for (let i = 0; i < Number(args.runs); i++) {
        // a fresh profile: empty HTTP cache and Cache Storage
        const profile = await freshProfile({ webgpu: backend === 'webgpu', native: args.native });
        browserVersion = profile.version;
        const { page } = profile;
        try {
          const withAdapter = !args['skip-adapter'];
          const loadBefore = loadavg();
          const first = await visit(page, served.url, backend, withAdapter, true);
          const second = await visit(page, served.url, backend, withAdapter, false);
          runs.push({ first_visit: first, second_visit: second, loadavg_before: loadBefore, loadavg_after: loadavg() });
          log(`${serverKind} ${backend} run ${i + 1}: first ${(first.bytes.total / 1e6).toFixed(2)} MB (page says ${((first.pageFigure?.bytes ?? 0) / 1e6).toFixed(2)}), `
            + `ready ${first.readyMs.toFixed(0)} ms${first.adapterMs ? `, adapter ${first.adapterMs.toFixed(0)} ms` : ''} on ${first.backendRan}; `
            + `second ${(second.bytes.total / 1e6).toFixed(2)} MB (${(second.bytes.model / 1e6).toFixed(2)} of models), ready ${second.readyMs.toFixed(0)} ms`
            + `${second.adapterMs ? `, adapter ${second.adapterMs.toFixed(0)} ms` : ''} (${second.source}, by itself: ${second.autoLoaded})`);
        } finally {
          await profile.close();
        }
      }
      const pick = (f: (r: Run) => number | null) => {
        const xs = runs.map(f).filter((x): x is number => typeof x === 'number');
        return xs.length ? Number(median(xs).toFixed(0)) : null;
      };
      sections[backend] = {
        first_visit_bytes: pick((r) => r.first_visit.bytes.total),
        second_visit_bytes: pick((r) => r.second_visit.bytes.total),
        second_visit_model_bytes: pick((r) => r.second_visit.bytes.model),
        page_figure_matches_server: runs.every((r) => r.first_visit.pageFigureMatchesServer && r.second_visit.pageFigureMatchesServer),
        second_visit_loaded_by_itself: runs.every((r) => r.second_visit.autoLoaded),
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
    await served.close();
  }
  servers[serverKind] = { server: served.note, backends: sections };
  // the bytes do not depend on the backend but for the graph file (fp16 graphs only with shader-f16): the first section's first run
  const all = Object.values(sections) as { first_visit_bytes_by_kind: Bytes | null; second_visit_bytes: number | null; runs: Run[] }[];
  const b = all[0]?.first_visit_bytes_by_kind;
  const largestGap = (f: (r: Run) => Visit) => Math.max(...all.flatMap((section) => section.runs.map((r) => Math.abs(f(r).pageFigureMinusServer ?? Infinity))));
  summary[serverKind] = b ? {
    first_visit_bytes: b.total, model_files: b.model, wasm: b.wasm, scripts_and_page: b.page, second_visit_bytes: all[0]?.second_visit_bytes ?? null,
    // the page's own figure against the server's count, the largest difference over every run (bytes)
    page_figure_gap_first_visit: largestGap((r) => r.first_visit),
    page_figure_gap_second_visit: largestGap((r) => r.second_visit),
  } : null;
}

const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'scripts', 'models', 'index.html', 'vite.config.ts'], { cwd: root, encoding: 'utf8' }).trim() !== '';
const report = {
  generated_by: 'npm run bench:load',
  command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  commit: dirty ? `${commit}+uncommitted` : commit,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', loadavg_at_end: loadavg(),
    note: 'shared 2-core machine: other jobs ran during the measurement (loadavg per run); times are wall clock' },
  browser: `headless Chromium ${browserVersion}, a fresh profile on disk per run (its HTTP cache on disk, as a person's browser)`,
  measure: 'bytes: response bodies the server wrote (compressed size for compressed copies), page and workers, from navigation to the model being ready; '
    + 'SI units in every figure quoted from here (1 MB = 10^6 bytes). model = files below models/, wasm = onnxruntime-web\'s WebAssembly, page = every other response (HTML, scripts, styles, examples). '
    + 'first visit = empty profile (Load model clicked at once, on the backend of the section); second = reload in the same profile (the kept model loads by itself). '
    + 'page_figure = the page\'s own "model-download-size" (Resource Timing in the page and the model worker); page_figure_matches_server compares it per kind, '
    + 'page_figure_gap_* is the largest |page - server| in bytes (the page counts a 304 of a body smaller than its headers). '
    + 'ready_ms = navigation start -> the app\'s performance mark "model-ready"; first_adapter_ms = navigation start -> Generate done (ARC-Easy example prompts). Medians over runs.',
  first_visit: summary,
  servers,
};
writeFileSync(path.join(root, args.out), JSON.stringify(report, null, 2) + '\n');
log(`wrote ${args.out}`);
process.exit(0);
