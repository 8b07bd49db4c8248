/**
 * A reload must not look like data loss (headless Chromium, production build, WebAssembly):
 *
 * - a first visit (nothing kept) waits for "Load model": nothing starts by itself;
 * - after a load and an imported adapter, a reload loads the model by itself from this browser's
 *   storage, with no request for a model file, and the Adapters tab lists the kept adapter (from
 *   IndexedDB) while the model is still loading, not "None: the model is not loaded";
 * - once ready, the adapter is imported again and works.
 *
 * The onnxruntime WebAssembly binary is held back a few seconds on the reload, so "before the model
 * is ready" is a moment the test can look at on any machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, fixtureAdapterZip, openApp, type AppPage } from './appPage';

const status = (page: Page) => page.getByTestId('panel-adapters').getByTestId('model-loader').getAttribute('data-status');
const rows = (page: Page) => page.getByTestId('panel-adapters').getByTestId('adapter-row');

describe('a reload keeps the model and the adapters in view', () => {
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('first visit: nothing kept, so nothing loads by itself; load, then import an adapter', async () => {
    await page.getByTestId('tab-adapters').click();
    const panel = page.getByTestId('panel-adapters');
    await page.waitForTimeout(1500); // time enough for an automatic load to have started
    expect(await status(page)).toBe('idle');
    await panel.getByTestId('load-model').click();
    await expect.poll(() => status(page), { timeout: 300_000, interval: 250 }).toBe('ready');
    await panel.getByTestId('adapter-file-input').setInputFiles({ name: 'tutor.zip', mimeType: 'application/zip', buffer: fixtureAdapterZip() });
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
  }, 360_000);

  it('reload: the model loads by itself from this browser (no model request), the kept adapter listed before it is ready', async () => {
    const modelRequests: string[] = [];
    await app.context.route(/\/models\//, async (route) => {
      modelRequests.push(route.request().url());
      await route.abort('internetdisconnected');
    });
    await app.context.route(/\.wasm$/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 4000));
      await route.continue();
    });
    try {
      await page.reload();
      await page.getByTestId('tab-adapters').click();
      const panel = page.getByTestId('panel-adapters');
      // before the model is ready: the kept adapter, from IndexedDB, and the load already running
      const kept = panel.getByTestId('kept-adapter-row');
      await expect.poll(() => kept.count(), { timeout: 10_000 }).toBe(1);
      // the load starts by itself once the page has found the files in Cache Storage
      await expect.poll(() => status(page), { timeout: 10_000, interval: 50 }).toBe('loading');
      expect(await kept.count()).toBe(1);
      expect(await kept.first().getByTestId('kept-adapter-name').textContent()).toBe('tutor');
      expect(await kept.first().textContent()).toMatch(/Imported from tutor\.zip/);
      expect(await panel.textContent()).not.toMatch(/None: the model is not loaded/);
      expect(await panel.getByTestId('model-autoload').textContent()).toMatch(/kept in this browser.*nothing to download/i);
      await page.screenshot({ path: `${OUTPUT}/reload-kept-adapters.png`, fullPage: true });

      await expect.poll(() => status(page), { timeout: 300_000, interval: 250 }).toBe('ready');
      expect(await panel.getByTestId('model-source').getAttribute('data-source')).toBe('cache');
      expect(modelRequests).toEqual([]);
      await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
      expect(await rows(page).first().getByTestId('adapter-name').textContent()).toBe('tutor');
      expect(await panel.getByTestId('kept-adapter-row').count()).toBe(0);
      expect(app.pageErrors).toEqual([]);
    } finally {
      await app.context.unrouteAll();
    }
  }, 360_000);
});
