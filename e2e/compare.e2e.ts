/**
 * The Compare and Adapters tabs end to end, in headless Chromium with WebGPU disabled (the engine
 * on WASM, ~100 tokens/s; SwiftShader would take minutes per answer), against the production build
 * and the real base model: load the model -> import the fixture adapter (test/fixtures/generation/
 * adapter, zipped here with fflate) -> listed -> Compare: base and adapted answers stream and differ
 * -> a bad zip shows an alert and leaves the list alone -> Download gives a PEFT zip -> Stop -> after
 * Clear downloaded models and a reload, a failed model load (file blocked) shows an alert and Try again loads it, with the saved
 * adapter back (IndexedDB) -> a dropped .zip is imported -> Remove -> narrow Compare layout.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { FIXTURE_ADAPTER as FIXTURE, OUTPUT, fixtureAdapterZip, openApp, safetensorsNames, type AppPage } from './appPage';

const PROMPT = 'UPPERCASE lowercase MiXeD CaSe';



const rows = (page: Page) => page.getByTestId('adapter-row');

describe('Compare and Adapters (WASM)', () => {
  let app: AppPage;
  let page: Page;
  let context: BrowserContext;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    app = await openApp({ webgpu: false, acceptDownloads: true });
    ({ page, context, pageErrors } = app);
  });
  afterAll(async () => app?.close());

  it('loads the model, imports, compares, exports, refuses a bad zip, restores after reload, removes', async () => {
    // Adapters tab before the model is loaded: honest empty state, import disabled.
    await page.getByTestId('tab-adapters').click();
    const adaptersPanel = page.getByTestId('panel-adapters');
    expect(await adaptersPanel.getByTestId('no-adapters').textContent()).toContain('not loaded');
    expect(await adaptersPanel.getByTestId('adapter-file-input').isDisabled()).toBe(true);

    // A pasted prompt set, to pick a prompt from on the Compare tab later.
    await page.getByTestId('tab-prompts').click();
    await page.getByTestId('paste-text').fill(`${PROMPT}\nA second prompt.`);
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => page.getByTestId('prompt-count').textContent()).toBe('2');
    await page.getByTestId('tab-adapters').click();

    // Load: byte progress, then the WASM notice.
    await adaptersPanel.getByTestId('load-model').click();
    const bytesShown = adaptersPanel.getByTestId('model-bytes');
    await expect.poll(async () => ((await bytesShown.count()) > 0 ? await bytesShown.textContent() : ''), { timeout: 60_000, interval: 50 }).toMatch(/model\.safetensors: [\d.]+ (B|kB|MB)/);
    await page.screenshot({ path: `${OUTPUT}/adapters-loading.png` });
    await expect.poll(() => adaptersPanel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    expect(await adaptersPanel.getByTestId('model-backend').textContent()).toBe('WebAssembly');
    expect((await adaptersPanel.getByTestId('model-notice').textContent())?.length ?? 0).toBeGreaterThan(10);
    // The Compare tab shares the one engine: already loaded there too.
    expect(await page.getByTestId('panel-compare').getByTestId('model-loader').getAttribute('data-status')).toBe('ready');

    // Import the fixture adapter through the file picker.
    await adaptersPanel.getByTestId('adapter-file-input').setInputFiles({ name: 'fixture.zip', mimeType: 'application/zip', buffer: fixtureAdapterZip() });
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
    const row = rows(page).first();
    expect(await row.getByTestId('adapter-name').textContent()).toBe('fixture');
    const rowText = (await row.textContent()) ?? '';
    expect(await row.getByTestId('adapter-source').getAttribute('data-source')).toBe('imported');
    expect(rowText).toMatch(/Imported from fixture\.zip, /);
    expect(rowText).toContain('8');
    const adapterId = await row.getAttribute('data-adapter-id');
    expect(adapterId).toBeTruthy();

    // A bad zip (text renamed .zip): readable alert, list unchanged.
    await adaptersPanel.getByTestId('adapter-file-input').setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from(strToU8('this is not a zip file\n')) });
    await expect.poll(() => adaptersPanel.getByTestId('adapter-error').isVisible(), { timeout: 30_000 }).toBe(true);
    const alert = adaptersPanel.getByTestId('adapter-error');
    expect(await alert.getAttribute('role')).toBe('alert');
    expect(await alert.textContent()).toContain('notes.zip was not imported');
    expect(await rows(page).count()).toBe(1);
    await page.screenshot({ path: `${OUTPUT}/adapters-bad-zip.png`, fullPage: true });

    // A wrong-shape adapter (config says rank 4, tensors are rank 8): the engine's error, list unchanged.
    const config = JSON.parse(readFileSync(`${FIXTURE}/adapter_config.json`, 'utf8')) as Record<string, unknown>;
    const wrongShape = zipSync({
      'adapter_config.json': strToU8(JSON.stringify({ ...config, r: 4 })),
      'adapter_model.safetensors': readFileSync(`${FIXTURE}/adapter_model.safetensors`),
    });
    await adaptersPanel.getByTestId('adapter-file-input').setInputFiles({ name: 'wrong-shape.zip', mimeType: 'application/zip', buffer: Buffer.from(wrongShape) });
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toContain('wrong-shape.zip was not imported');
    expect(await alert.getAttribute('data-code')).toBe('adapter-invalid');
    await alert.screenshot({ path: `${OUTPUT}/adapters-wrong-shape-alert.png` });
    expect(await rows(page).count()).toBe(1);

    // Export: a PEFT zip whose safetensors header names the LoRA tensors.
    const downloadPromise = page.waitForEvent('download');
    await row.getByTestId('export-adapter').click();
    const download = await downloadPromise;
    expect(download.suggestedFilename()).toBe('fixture.zip');
    const files = unzipSync(readFileSync(await download.path()));
    expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(safetensorsNames(files['adapter_model.safetensors']!)).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(JSON.parse(new TextDecoder().decode(files['adapter_config.json'])).peft_type).toBe('LORA');

    // Compare: base then adapted, streamed side by side, different answers.
    await page.getByTestId('tab-compare').click();
    const compare = page.getByTestId('panel-compare');
    await compare.getByTestId('compare-prompt-picker').selectOption({ index: 1 });
    expect(await compare.getByTestId('compare-prompt').inputValue()).toBe(PROMPT);
    await compare.getByTestId('compare-adapter').selectOption(adapterId!);
    await compare.getByTestId('compare-max-tokens').fill('12');
    await compare.getByTestId('compare-chat').uncheck();
    await compare.getByTestId('compare-run').click();
    await expect.poll(() => compare.getByTestId('answer-adapted').getAttribute('data-state'), { timeout: 120_000, interval: 250 }).toBe('done');
    expect(await compare.getByTestId('answer-base').getAttribute('data-state')).toBe('done');
    const baseText = (await compare.getByTestId('answer-base-text').textContent()) ?? '';
    const adaptedText = (await compare.getByTestId('answer-adapted-text').textContent()) ?? '';
    expect(baseText.trim().length).toBeGreaterThan(0);
    expect(adaptedText.trim().length).toBeGreaterThan(0);
    expect(adaptedText).not.toBe(baseText);
    expect(await compare.getByTestId('answer-base-stats').textContent()).toMatch(/tokens\/s/);
    expect(await compare.getByTestId('answer-adapted-stats').textContent()).toMatch(/tokens\/s/);
    expect(await compare.getByTestId('compare-stop').isDisabled()).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/compare-wasm.png`, fullPage: true });

    // Stop: a long run is cancelled; the base side says so and the adapted side does not start.
    // (A counting prompt: greedy decoding keeps counting, so the run is still going when Stop is pressed.)
    await compare.getByTestId('compare-prompt').fill(Array.from({ length: 20 }, (_, i) => i + 1).join(', ') + ',');
    await compare.getByTestId('compare-max-tokens').fill('400');
    // Keyboard: Ctrl+Enter in the prompt box runs.
    await compare.getByTestId('compare-prompt').focus();
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => compare.getByTestId('answer-base-text').textContent(), { timeout: 60_000, interval: 100 }).not.toBe('');
    await compare.getByTestId('compare-stop').click();
    await expect.poll(() => compare.getByTestId('answer-base').getAttribute('data-state'), { timeout: 30_000, interval: 100 }).toBe('stopped');
    expect(await compare.getByTestId('answer-adapted').getAttribute('data-state')).toBe('stopped');
    expect(await compare.getByTestId('compare-run').isDisabled()).toBe(false);

    // Clear downloaded models (the model keeps running), then reload with the weights unreachable:
    // nothing kept, so a readable error and Try again.
    await page.getByTestId('tab-adapters').click();
    await page.getByTestId('panel-adapters').getByTestId('clear-models').click();
    await expect.poll(() => page.getByTestId('panel-adapters').getByTestId('models-cleared').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('panel-adapters').getByTestId('models-cleared').textContent()).toMatch(/Removed [\d.]+ MB of downloaded models/);
    await page.reload();
    await page.getByTestId('tab-adapters').click();
    const blocked = /model\.safetensors/;
    await context.route(blocked, (route) => route.abort('connectionfailed'));
    const panel = page.getByTestId('panel-adapters');
    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 120_000, interval: 250 }).toBe('error');
    const loadError = panel.getByTestId('model-error');
    expect(await loadError.getAttribute('role')).toBe('alert');
    expect(await loadError.textContent()).toContain('model.safetensors');
    await page.screenshot({ path: `${OUTPUT}/adapters-load-error.png`, fullPage: true });
    await context.unroute(blocked);

    // Try again: the model loads and the saved zip (IndexedDB) is imported again.
    await panel.getByTestId('retry-load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
    expect(await rows(page).first().getByTestId('adapter-name').textContent()).toBe('fixture');

    // A .zip dropped on the page while the Adapters tab is open is imported (not read as prompts).
    const zipBytes = Array.from(fixtureAdapterZip());
    const transfer = await page.evaluateHandle((bytes) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], 'dropped.zip', { type: 'application/zip' }));
      return data;
    }, zipBytes);
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
    await page.dispatchEvent('body', 'dragover', { dataTransfer: transfer });
    expect(await page.getByTestId('drop-overlay').textContent()).toContain('adapter');
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(2);
    expect(await rows(page).nth(1).getByTestId('adapter-name').textContent()).toBe('dropped');
    expect(await page.getByTestId('tab-adapters').getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: `${OUTPUT}/adapters-wasm.png`, fullPage: true });

    // Remove both.
    await rows(page).first().getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count()).toBe(1);
    await rows(page).first().getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count()).toBe(0);
    expect(await page.getByTestId('panel-adapters').getByTestId('no-adapters').isVisible()).toBe(true);

    // Compare in a narrow window: the answers stack, nothing scrolls sideways.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.getByTestId('tab-compare').click();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/compare-narrow.png`, fullPage: true });

    expect(pageErrors).toEqual([]);
  });
});
