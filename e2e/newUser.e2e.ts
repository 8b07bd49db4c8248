/**
 * What a new user trips over (issue 12), end to end on one page of the production build, in
 * headless Chromium whose only WebGPU adapter is SwiftShader (a software "fallback" adapter):
 *
 * - own prompt files: a JSONL file with one bad line keeps the other lines with a warning; the same
 *   file read again offers Replace / Keep both; several failures collapse into one dismissible list;
 * - Auto picks WebAssembly on the fallback adapter and says why (badge, picker, notice), the
 *   download size shown is the one measured; a 5-prompt set generates with a note on the repeats;
 *   focus lands on the result; a name typed before a second run names that run only; the Adapters
 *   list says where each adapter came from and renames; Compare lists each adapter once;
 * - sets can be appended to and merged;
 * - 320 and 400 px: every tab visible, nothing wider than the window, a compact header;
 * - the backend choice and the measured size are remembered after a reload.
 *
 * Everything runs on WebAssembly (fast here), so this file adds about a minute to the suite. The
 * prompt files are written here; no dataset content is used.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, openApp, type AppPage } from './appPage';

function file(name: string, text: string): { name: string; mimeType: string; buffer: Buffer } {
  return { name, mimeType: 'text/plain', buffer: Buffer.from(text) };
}

const FIVE = file('five.txt', [
  'What is the boiling point of water at sea level?',
  'Name the largest planet in the solar system.',
  'Which gas do plants absorb from the air?',
  'What is the chemical symbol for gold?',
  'How many legs does a spider have?',
].join('\n'));

const GOOD_LINES = [
  'Which metal is liquid at room temperature?', 'What is the capital of France?', 'Which planet is known as the red planet?',
  'What do bees make?', 'How many continents are there?', 'What is frozen water called?', 'Which animal is the largest mammal?',
  'What colour is the sky on a clear day?',
].map((prompt) => JSON.stringify({ prompt, response: 'x' }));
// Line 3 is cut short: not JSON.
const BAD_LINE = file('quiz.jsonl', [...GOOD_LINES.slice(0, 2), '{"prompt": "What is 7 times 8?", "response": "56"', ...GOOD_LINES.slice(2)].join('\n'));

const TABS = ['prompts', 'generate', 'compare', 'evaluate', 'adapters'] as const;

const visibleAlerts = (page: Page) => page.locator('[role="alert"]:visible');
const setItems = (page: Page) => page.getByTestId('prompt-set-item');
const rows = (page: Page) => page.getByTestId('adapter-row');

async function chooseSet(page: Page, name: string): Promise<void> {
  await page.getByTestId('tab-prompts').click();
  await page.locator('.prompt-set-item__select', { hasText: name }).click();
  await expect.poll(() => page.getByTestId('prompt-set-name').textContent()).toBe(name);
}

async function generateFrom(page: Page, keyboard: boolean): Promise<void> {
  const panel = page.getByTestId('panel-generate');
  await page.getByTestId('tab-generate').click();
  if (keyboard) {
    await panel.getByTestId('generate-run').focus();
    await page.keyboard.press('Enter');
  } else {
    await panel.getByTestId('generate-run').click();
  }
  await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
  // the result card names the new adapter as soon as the run is done (never "no longer loaded" first)
  expect(await panel.getByTestId('generated-result').getAttribute('data-state')).not.toBe('removed');
}

describe('a new user on a machine whose only WebGPU adapter is a software one', () => {
  let app: AppPage;
  let page: Page;
  /** Bytes of every model file the page fetched (same origin, under /models/), from the served files. */
  const modelBytes: number[] = [];

  beforeAll(async () => {
    app = await openApp({ webgpu: true });
    ({ page } = app);
    page.on('response', (response) => {
      // the build serves a copy of the repository's models/ below the app's (sub-path) URL
      const rel = decodeURIComponent(response.url().replace(inject('appUrl'), '').split('?')[0] ?? '');
      if (rel.startsWith('models/') && response.ok()) modelBytes.push(statSync(rel).size);
    });
  });
  afterAll(async () => app?.close());

  it('keeps the good lines of a JSONL file with one bad line, and recognises the same file read twice', async () => {
    await page.getByTestId('file-input').setInputFiles([FIVE, BAD_LINE]);
    await expect.poll(() => setItems(page).count()).toBe(2);
    await chooseSet(page, 'quiz.jsonl');
    expect(await page.getByTestId('prompt-count').textContent()).toBe('8');
    expect(await page.getByTestId('warning-count').textContent()).toBe('1');
    expect(await page.getByTestId('parse-warnings').textContent()).toMatch(/Line 3 is not valid JSON \(.+\); skipped\./);
    expect(await visibleAlerts(page).count()).toBe(0);

    // The same file again: a note offering Replace or Keep both; Keep both names the copy apart.
    await page.getByTestId('file-input').setInputFiles([BAD_LINE]);
    const again = page.locator('[data-testid="notice"][data-code="same-file-again"]');
    await expect.poll(() => again.count()).toBe(1);
    expect(await again.textContent()).toMatch(/quiz\.jsonl is already loaded.*same 8 prompts/);
    await again.getByRole('button', { name: 'Keep both' }).click();
    await expect.poll(() => setItems(page).count()).toBe(3);
    expect(await page.getByTestId('prompt-set-list').textContent()).toContain('quiz.jsonl (2)');
    await page.getByTestId('file-input').setInputFiles([BAD_LINE]);
    await expect.poll(() => again.count()).toBe(1);
    await again.getByRole('button', { name: 'Replace the earlier set' }).click();
    await expect.poll(() => setItems(page).count()).toBe(3);
    await page.getByRole('button', { name: 'Remove quiz.jsonl (2)' }).click();
    await expect.poll(() => setItems(page).count()).toBe(2);

    // Failures collapse into one list: the newest shown, a count, Show all, Dismiss all.
    await page.getByTestId('file-input').setInputFiles([file('a.jsonl', '{oops\n'), file('b.jsonl', 'nope\n'), file('c.json', '[1, 2')]);
    await expect.poll(() => page.getByTestId('notices').getAttribute('data-count')).toBe('4');
    expect(await visibleAlerts(page).count()).toBe(1);
    expect(await page.getByTestId('notices-count').textContent()).toMatch(/^4 messages \(3 errors, 1 note\)/);
    await page.getByTestId('notices-toggle').click();
    expect(await page.getByTestId('notice').count()).toBe(4);
    await page.getByTestId('notices-dismiss-all').click();
    expect(await page.getByTestId('notices').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main-content');
  });

  it('Auto picks WebAssembly on the fallback adapter and says why; the size shown is the one measured', async () => {
    const badge = page.getByTestId('webgpu-badge');
    await expect.poll(() => page.getByTestId('webgpu-status').getAttribute('data-kind')).toBe('software');
    expect(await badge.textContent()).toBe('No GPU: runs on the CPU');
    await badge.hover();
    expect(await page.getByTestId('webgpu-details').isVisible()).toBe(true);
    expect(await page.getByTestId('webgpu-details').textContent()).toMatch(/SwiftShader/);

    await page.getByTestId('tab-generate').click();
    const panel = page.getByTestId('panel-generate');
    expect(await panel.getByTestId('backend-auto').isChecked()).toBe(true);
    await expect.poll(() => panel.getByTestId('backend-auto-pick').getAttribute('data-backend')).toBe('wasm');
    expect(await panel.getByTestId('backend-auto-pick').textContent()).toMatch(/Here: WebAssembly \(CPU\), because the only WebGPU adapter here is SwiftShader/);
    expect(await panel.getByTestId('model-size-note').textContent()).toMatch(/size is shown as the files arrive/);
    await page.screenshot({ path: `${OUTPUT}/newuser-backend-choice.png`, fullPage: true });

    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    expect(await panel.getByTestId('model-backend').textContent()).toBe('WebAssembly');
    expect(await panel.getByTestId('model-notice').textContent()).toMatch(/^Auto chose WebAssembly: the only WebGPU adapter here is SwiftShader/);
    // No contradiction: WebAssembly still generates adapters (the generator's graphs on onnxruntime-web WebAssembly).
    expect(await panel.getByTestId('model-notice').textContent()).not.toMatch(/needs WebGPU/);
    const now = panel.getByTestId('backend-now');
    expect(await now.getAttribute('data-backend')).toBe('wasm');
    expect(await now.getAttribute('data-generator')).toBe('wasm');
    expect(await panel.getByTestId('generator-cpu-notice').isVisible()).toBe(true);

    // The size shown is what the browser measured (equal to the server's count: e2e/downloadSize.e2e.ts), in SI MB:
    // the model files as sent (compressed copies: at most their size on disk), the WebAssembly and the scripts besides.
    const size = panel.getByTestId('model-download-size');
    const total = Number(await size.getAttribute('data-bytes'));
    const models = Number(await size.getAttribute('data-model'));
    const fetched = modelBytes.reduce((a, b) => a + b, 0);
    expect(models).toBeLessThanOrEqual(fetched);
    expect(models).toBeGreaterThan(fetched * 0.5);
    expect(total).toBeGreaterThan(models);
    expect(await size.textContent()).toContain(`This page has downloaded ${(total / 1e6).toFixed(1)} MB so far`);
  });

  it('a 5-prompt set generates with a note on the repeats; focus lands on the result; a name typed before a second run names that run only', async () => {
    await chooseSet(page, 'five.txt');
    expect(await page.getByTestId('sample-item').count()).toBe(8);
    expect(await page.getByTestId('sample-short-set').textContent()).toMatch(/fewer than P = 8: all are used, and the other 3 are repeats/);

    const panel = page.getByTestId('panel-generate');
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-short-set').getAttribute('data-repeated')).toBe('3');
    expect(await panel.getByTestId('generate-short-set').textContent()).toMatch(/five\.txt has 5: all 5 are used, and the other 3 are repeats drawn at random/);
    expect(await panel.getByTestId('generate-name').inputValue()).toBe('five (generated)');

    await generateFrom(page, true);
    const heading = panel.getByTestId('generated-heading');
    expect(await heading.textContent()).toBe('Adapter ready: five (generated)');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('generated-heading');
    await expect.poll(() => heading.evaluate((el) => {
      const box = el.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    })).toBe(true);
    expect(await panel.getByTestId('generate-status').textContent()).toMatch(/Adapter “five \(generated\)” is ready\./);
    expect(await panel.getByTestId('generated-result').textContent()).toMatch(/with 3 repeated prompts to make up the batch/);
    await page.screenshot({ path: `${OUTPUT}/newuser-result-focused.png` });

    // The name field is for the next run: typing (and leaving the field) renames nothing.
    const name = panel.getByTestId('generate-name');
    expect(await name.inputValue()).toBe('five (generated 2)');
    await name.fill('second run');
    await name.press('Tab');
    await page.getByTestId('tab-adapters').click();
    expect(await rows(page).getByTestId('adapter-name').allTextContents()).toEqual(['five (generated)']);
    await generateFrom(page, false);
    await page.getByTestId('tab-adapters').click();
    await expect.poll(() => rows(page).getByTestId('adapter-name').allTextContents()).toEqual(['five (generated)', 'second run']);
    for (const source of await rows(page).getByTestId('adapter-source').allTextContents()) expect(source).toMatch(/^Generated from five\.txt, /);

    // The name follows the chosen set.
    await chooseSet(page, 'quiz.jsonl');
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-name').inputValue()).toBe('quiz (generated)');
    expect(await panel.getByTestId('generate-short-set').count()).toBe(0);

    // Rename on the Adapters tab; Compare lists each adapter once, with no doubled "(generated)".
    await page.getByTestId('tab-adapters').click();
    await rows(page).nth(1).getByTestId('rename-adapter').click();
    await page.getByTestId('adapter-rename-input').fill('tutor');
    await page.getByTestId('adapter-rename-input').press('Enter');
    await expect.poll(() => rows(page).getByTestId('adapter-name').allTextContents()).toEqual(['five (generated)', 'tutor']);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Rename tutor');
    await page.getByTestId('tab-compare').click();
    const options = await page.getByTestId('compare-adapter').locator('option').allTextContents();
    expect(options).toEqual(['None (base model only)', 'five (generated) — rank 8', 'tutor — rank 8']);
    await page.getByTestId('compare-adapter').selectOption({ label: 'tutor — rank 8' });
    expect(await page.getByTestId('compare-adapter-origin').textContent()).toMatch(/^Generated from five\.txt, /);
  });

  it('sets can be appended to and merged', async () => {
    await chooseSet(page, 'five.txt');
    await page.getByTestId('add-target').selectOption({ label: 'five.txt (5 prompts), appended' });
    await page.getByTestId('paste-text').fill('Why is the sea salty?\nWhat is the capital of France?\nWhat is the boiling point of water at sea level?');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => page.getByTestId('prompt-count').textContent()).toBe('7');
    expect(await page.getByTestId('duplicates-dropped').textContent()).toBe('1');
    expect(await setItems(page).count()).toBe(2);
    await page.getByTestId('add-target').selectOption('');

    await page.getByTestId('merge-open').click();
    const choices = page.getByTestId('merge-choice');
    await choices.nth(0).check();
    await choices.nth(1).check();
    await page.getByTestId('merge-submit').click();
    await expect.poll(() => setItems(page).count()).toBe(3);
    // named after the parts, in list order (the two files were read in parallel)
    expect(await page.getByTestId('prompt-set-name').textContent()).toMatch(/^(five\.txt \+ quiz\.jsonl|quiz\.jsonl \+ five\.txt)$/);
    // 7 + 8, the capital of France once.
    expect(await page.getByTestId('prompt-count').textContent()).toBe('14');
  });

  it('fits 320 and 400 px windows on every tab: all tabs visible, nothing wider than the window, a compact header', async () => {
    for (const width of [320, 400]) {
      await page.setViewportSize({ width, height: 800 });
      for (const tab of TABS) {
        await page.getByTestId(`tab-${tab}`).click();
        const fit = await page.evaluate(() => ({
          page: document.documentElement.scrollWidth <= window.innerWidth,
          // what sticks out, to say which element when this fails (screen-reader-only text is clipped)
          wider: [...document.querySelectorAll('main *')]
            .filter((el) => !el.closest('[hidden], .visually-hidden') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${el.textContent?.slice(0, 40) ?? ''}`),
          tabs: [...document.querySelectorAll('[role="tab"]')].every((el) => {
            const box = el.getBoundingClientRect();
            return box.left >= 0 && box.right <= window.innerWidth && el.scrollWidth <= el.clientWidth;
          }),
        }));
        expect(fit, `${tab} at ${width} px`).toEqual({ page: true, wider: [], tabs: true });
      }
      const header = await page.locator('.app-header').boundingBox();
      expect(header?.height ?? 999).toBeLessThan(170);
      await page.getByTestId('tab-compare').click();
      await page.screenshot({ path: `${OUTPUT}/newuser-${width}-compare.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('after a reload the backend choice is remembered and the kept model loads by itself on it', async () => {
    const panel = page.getByTestId('panel-generate');
    await page.getByTestId('tab-generate').click();
    await panel.getByText('Change where the model runs').click();
    await panel.getByTestId('backend-wasm').check();
    expect(await panel.getByTestId('backend-reload').isVisible()).toBe(true);
    await page.reload();
    await page.getByTestId('tab-generate').click();
    expect(await page.getByTestId('webgpu-badge').textContent()).toBe('CPU (your choice)');
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    expect(await panel.getByTestId('model-backend').textContent()).toBe('WebAssembly');
    expect(await panel.getByTestId('backend-wasm').isChecked()).toBe(true);
    expect(await panel.getByTestId('model-source').getAttribute('data-source')).toBe('cache');
    expect(app.pageErrors).toEqual([]);
  });
});
