/**
 * A second visit needs no network for the models (Cache Storage, src/model/modelCache.ts), end to
 * end in headless Chromium against the production build (WASM, the fast backend here):
 *
 * - first visit: the model loads and the page says the files were downloaded; a Compare answer;
 * - reload with every request below models/ blocked: the model loads by itself (no click) from this
 *   browser's storage, the page says nothing was downloaded, no model request was even made, and it
 *   decodes;
 * - a damaged cached copy (the weights' entry overwritten with other bytes): the next load notices
 *   the sha256 mismatch, downloads the file again and says so, and the model works (no crash);
 *   after that the cache holds one good copy again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, openApp, type AppPage } from './appPage';

const MODEL_FILES = /\/models\//;

async function loadModel(page: Page): Promise<void> {
  await page.getByTestId('tab-adapters').click();
  const panel = page.getByTestId('panel-adapters');
  await panel.getByTestId('load-model').click();
  await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 300_000, interval: 250 }).toBe('ready');
}

/** The model loading with no click (its files are kept in this browser). */
async function loadsByItself(page: Page): Promise<void> {
  await page.getByTestId('tab-adapters').click();
  const panel = page.getByTestId('panel-adapters');
  await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 300_000, interval: 250 }).toBe('ready');
}

async function answer(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('tab-compare').click();
  const compare = page.getByTestId('panel-compare');
  await compare.getByTestId('compare-prompt').fill(prompt);
  await compare.getByTestId('compare-max-tokens').fill('8');
  await compare.getByTestId('compare-run').click();
  await expect.poll(() => compare.getByTestId('answer-base').getAttribute('data-state'), { timeout: 120_000, interval: 200 }).toBe('done');
  return (await compare.getByTestId('answer-base-text').textContent()) ?? '';
}

/** What the model cache holds: URL (with its sha256 key) and byte length of each entry. */
async function cacheEntries(page: Page): Promise<{ url: string; bytes: number }[]> {
  return page.evaluate(async () => {
    const cache = await caches.open('dnd-models-v1');
    const out: { url: string; bytes: number }[] = [];
    for (const request of await cache.keys()) out.push({ url: request.url, bytes: (await (await cache.match(request))!.arrayBuffer()).byteLength });
    return out;
  });
}

describe('model files from the browser cache (WASM)', () => {
  let app: AppPage;
  let page: Page;
  let firstAnswer = '';

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('first visit: downloaded, kept, and the model answers', async () => {
    await loadModel(page);
    const source = page.getByTestId('panel-adapters').getByTestId('model-source');
    expect(await source.getAttribute('data-source')).toBe('network');
    expect(await source.textContent()).toMatch(/Model files downloaded and kept in this browser for the next visit/);
    const entries = await cacheEntries(page);
    expect(entries.some((e) => /models\/base\/model\.safetensors\?sha256=[0-9a-f]{64}$/.test(e.url))).toBe(true);
    firstAnswer = await answer(page, 'The capital of France is');
    expect(firstAnswer.trim().length).toBeGreaterThan(0);
  }, 420_000);

  it('reload with the network blocked for model files: loads from the cache, nothing downloaded, same answer', async () => {
    const modelRequests: string[] = [];
    await app.context.route(MODEL_FILES, async (route) => {
      modelRequests.push(route.request().url());
      await route.abort('internetdisconnected');
    });
    try {
      await page.reload();
      // every file of the last load is kept: the model loads by itself, no click
      await loadsByItself(page);
      const source = page.getByTestId('panel-adapters').getByTestId('model-source');
      expect(await source.getAttribute('data-source')).toBe('cache');
      expect(await source.textContent()).toMatch(/Model files loaded from this browser's storage: none downloaded/);
      expect(modelRequests).toEqual([]);
      await page.screenshot({ path: `${OUTPUT}/offline-second-visit.png` });
      expect(await answer(page, 'The capital of France is')).toBe(firstAnswer);
    } finally {
      await app.context.unroute(MODEL_FILES); // the next test needs the network again, whatever happened here
    }
  }, 420_000);

  it('a damaged cached copy is downloaded again with a notice, not a crash', async () => {
    const damaged = await page.evaluate(async () => {
      const cache = await caches.open('dnd-models-v1');
      const key = (await cache.keys()).find((r) => r.url.includes('model.safetensors?sha256='));
      if (!key) return null;
      const bytes = new Uint8Array(await (await cache.match(key))!.arrayBuffer());
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff; // one flipped byte: same size, other sha256
      await cache.put(key, new Response(bytes));
      return key.url;
    });
    expect(damaged).toMatch(/model\.safetensors\?sha256=/);
    await page.reload();
    // the damaged entry is still under its key: the model loads by itself and finds the damage
    await loadsByItself(page);
    const panel = page.getByTestId('panel-adapters');
    expect(await panel.getByTestId('model-source').getAttribute('data-source')).toBe('mixed');
    const notes = await panel.getByTestId('model-storage-note').allTextContents();
    expect(notes.join(' ')).toMatch(/saved copy of model\.safetensors was damaged \(its sha256 did not match\), so it was downloaded again/);
    expect(app.pageErrors).toEqual([]);
    await page.screenshot({ path: `${OUTPUT}/offline-damaged-copy.png` });
    expect(await answer(page, 'The capital of France is')).toBe(firstAnswer);
    // one good copy again, under the same key
    const weights = (await cacheEntries(page)).filter((e) => e.url.includes('model.safetensors'));
    expect(weights.map((e) => e.url)).toEqual([damaged]);
  }, 420_000);
});
