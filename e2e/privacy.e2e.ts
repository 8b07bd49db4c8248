/**
 * Privacy and recovery end to end, in headless Chromium with WebGPU disabled (the engine on WASM)
 * against the production build and the real base model:
 *
 * - "After the models load, no request leaves the page": every request the page and its workers
 *   make is recorded (and any to a host other than this machine is blocked and recorded). Before
 *   the model is ready only same-origin requests happen; after it, loading a prompt file, importing
 *   an adapter, comparing, exporting and visiting every tab make no request at all. The one
 *   request after the load is the example file a person clicks (same origin, static), checked last.
 * - The model worker crashing: a readable notice, the app stays usable, "Load the model again"
 *   starts a fresh worker and the saved adapter comes back from IndexedDB; prompt sets stay.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { OUTPUT, fixtureAdapterZip } from './appPage';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);


function jsonlFile(name: string, prompts: string[]) {
  return { name, mimeType: 'application/jsonl', buffer: Buffer.from(prompts.map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n') };
}

interface SeenRequest {
  url: string;
  method: string;
  type: string;
}

/** Every request of the context (pages and their workers); requests to other hosts are blocked. */
async function recordRequests(context: BrowserContext): Promise<{ all: SeenRequest[]; offsite: string[] }> {
  const all: SeenRequest[] = [];
  const offsite: string[] = [];
  context.on('request', (request) => all.push({ url: request.url(), method: request.method(), type: request.resourceType() }));
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOCAL_HOSTS.has(url.hostname)) {
      offsite.push(url.href);
      await route.abort('blockedbyclient');
      return;
    }
    await route.continue();
  });
  return { all, offsite };
}

const loaderStatus = (page: Page, panel: string) => page.getByTestId(`panel-${panel}`).getByTestId('model-loader').getAttribute('data-status');
const rows = (page: Page) => page.getByTestId('adapter-row');

async function loadModelOn(page: Page, panel: 'adapters' | 'compare'): Promise<void> {
  await page.getByTestId(`tab-${panel}`).click();
  await page.getByTestId(`panel-${panel}`).getByTestId('load-model').click();
  await expect.poll(() => loaderStatus(page, panel), { timeout: 300_000, interval: 250 }).toBe('ready');
}

async function importFixture(page: Page, expectedRows: number): Promise<void> {
  await page.getByTestId('tab-adapters').click();
  await page.getByTestId('panel-adapters').getByTestId('adapter-file-input').setInputFiles({ name: 'fixture.zip', mimeType: 'application/zip', buffer: fixtureAdapterZip() });
  await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(expectedRows);
}

/** Runs a short base-vs-adapter comparison on the Compare tab and returns the adapted text. */
async function compareShort(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('tab-compare').click();
  const compare = page.getByTestId('panel-compare');
  await compare.getByTestId('compare-prompt').fill(prompt);
  const adapterId = await rows(page).first().getAttribute('data-adapter-id');
  await compare.getByTestId('compare-adapter').selectOption(adapterId!);
  await compare.getByTestId('compare-max-tokens').fill('4');
  await compare.getByTestId('compare-run').click();
  await expect.poll(() => compare.getByTestId('answer-adapted').getAttribute('data-state'), { timeout: 120_000, interval: 250 }).toBe('done');
  return (await compare.getByTestId('answer-adapted-text').textContent()) ?? '';
}

describe('Privacy and recovery (WASM)', () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await launchChromium({ webgpu: false });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page; pageErrors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return { context, page, pageErrors };
  }

  it('makes only same-origin requests while loading, and none after the models loaded', async () => {
    const { context, page, pageErrors } = await newPage();
    const requests = await recordRequests(context);
    const appUrl = inject('appUrl');
    const origin = new URL(appUrl).origin;
    await page.goto(appUrl);
    await expect.poll(() => page.getByTestId('examples').getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');

    await loadModelOn(page, 'adapters');
    const beforeLoad = [...requests.all];
    // Let anything the load set off (restoring saved adapters, idle prefetches) happen now.
    await page.waitForTimeout(2000);
    const loadedAt = requests.all.length;
    writeFileSync(`${OUTPUT}/privacy-requests-before.json`, JSON.stringify(beforeLoad, null, 1));

    // The load fetched the graph, the weights, tokenizer and release generator (the prompt encoder is
    // the model session itself), from the
    // workers too (so worker requests are seen here), all from the app's own origin.
    // the app is served under a sub-path (e2e/server.ts): paths relative to it
    const paths = beforeLoad.map((r) => r.url.replace(appUrl, '/'));
    for (const file of ['/models/base/decoder_lora.onnx', '/models/base/model.safetensors', '/models/base/tokenizer.json', '/models/generator/generator.safetensors', '/examples/index.json']) {
      expect(paths).toContain(file);
    }
    const foreign = beforeLoad.filter((r) => new URL(r.url).origin !== origin && !r.url.startsWith('blob:') && !r.url.startsWith('data:'));
    expect(foreign).toEqual([]);

    // The main things a person does after the load.
    await page.getByTestId('tab-prompts').click();
    await page.getByTestId('file-input').setInputFiles(jsonlFile('mine.jsonl', ['Private prompt one', 'Private prompt two', 'Private prompt three']));
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('3');
    await page.getByTestId('paste-text').fill('Pasted private prompt');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => page.getByTestId('prompt-set-item').count()).toBe(2);
    await importFixture(page, 1);
    expect((await compareShort(page, 'Private prompt one')).trim().length).toBeGreaterThan(0);
    const download = page.waitForEvent('download');
    await page.getByTestId('tab-adapters').click();
    await rows(page).first().getByTestId('export-adapter').click();
    expect((await download).suggestedFilename()).toBe('fixture.zip');
    for (const tab of ['generate', 'evaluate', 'compare', 'adapters', 'prompts']) {
      await page.getByTestId(`tab-${tab}`).click();
      await page.waitForTimeout(300);
    }
    await page.waitForTimeout(1000);

    const afterLoad = requests.all.slice(loadedAt).filter((r) => !r.url.startsWith('blob:') && !r.url.startsWith('data:'));
    expect(afterLoad).toEqual([]);

    // The one request after the load: an example file, when a person clicks its button.
    await page.locator('[data-task="GSM8K"]').click();
    await expect.poll(() => page.getByTestId('prompt-set-item').count(), { timeout: 30_000 }).toBe(3);
    const exampleRequests = requests.all.slice(loadedAt).filter((r) => !r.url.startsWith('blob:') && !r.url.startsWith('data:'));
    expect(exampleRequests).toEqual([{ url: `${appUrl}examples/GSM8K.jsonl`, method: 'GET', type: 'fetch' }]);

    expect(requests.offsite).toEqual([]);
    expect(requests.all.every((r) => r.url.startsWith('blob:') || r.url.startsWith('data:') || LOCAL_HOSTS.has(new URL(r.url).hostname))).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('survives the model worker crashing: a readable notice, nothing lost, the saved adapter back after loading again', async () => {
    const { page, pageErrors } = await newPage();
    await page.goto(`${inject('appUrl')}?e2e-hooks`);
    await page.getByTestId('paste-text').fill('Kept prompt one\nKept prompt two');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => page.getByTestId('prompt-count').textContent()).toBe('2');
    await loadModelOn(page, 'adapters');
    await importFixture(page, 1);

    // The worker dies while a generation runs: the generation fails with the reason, it does not hang.
    await page.getByTestId('tab-compare').click();
    const compare = page.getByTestId('panel-compare');
    await compare.getByTestId('compare-prompt').fill(Array.from({ length: 20 }, (_, i) => i + 1).join(', ') + ',');
    await compare.getByTestId('compare-max-tokens').fill('400');
    await compare.getByTestId('compare-chat').uncheck();
    await compare.getByTestId('compare-run').click();
    await expect.poll(() => compare.getByTestId('answer-base-text').textContent(), { timeout: 60_000, interval: 100 }).not.toBe('');
    await page.evaluate(() => (window as unknown as { __dndLoraTestHooks: { crashEngineWorker: () => Promise<boolean> } }).__dndLoraTestHooks.crashEngineWorker());

    const notice = page.locator('[role="alert"][data-code="engine-crashed"]');
    await expect.poll(() => notice.count(), { timeout: 30_000 }).toBe(1);
    expect(await notice.textContent()).toMatch(/Model worker crashed.*The model engine stopped unexpectedly.*prompt sets and saved adapters are kept/s);
    await expect.poll(() => compare.getByTestId('answer-base').getAttribute('data-state'), { timeout: 30_000 }).toBe('error');
    expect(await compare.getByTestId('answer-base-error').textContent()).toContain('stopped unexpectedly');
    expect(await compare.getByTestId('compare-run').isDisabled()).toBe(true);
    expect(await loaderStatus(page, 'compare')).toBe('error');
    expect(await compare.getByTestId('model-error').textContent()).toContain('Model worker crashed.');
    await page.screenshot({ path: `${OUTPUT}/engine-crashed.png`, fullPage: true });

    // Nothing the person made is lost: the prompt set is on the page, the adapter in IndexedDB.
    await page.getByTestId('tab-prompts').click();
    expect(await page.getByTestId('prompt-set-item').count()).toBe(1);
    expect(await page.getByTestId('prompt-count').textContent()).toBe('2');

    // "Load the model again" in the notice: a fresh worker, the saved adapter imported again.
    await notice.getByTestId('notice-action').click();
    await expect.poll(() => loaderStatus(page, 'adapters'), { timeout: 300_000, interval: 250 }).toBe('ready');
    await page.getByTestId('tab-adapters').click();
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
    expect(await rows(page).first().getByTestId('adapter-name').textContent()).toBe('fixture');
    expect(await notice.count()).toBe(0);
    // And it works: a short comparison with the restored adapter.
    expect((await compareShort(page, 'Kept prompt one')).trim().length).toBeGreaterThan(0);
    await page.screenshot({ path: `${OUTPUT}/engine-after-crash.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
