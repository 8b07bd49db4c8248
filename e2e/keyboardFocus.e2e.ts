/**
 * Keyboard focus after the actions that change the page (issue 17, point 7), in headless Chromium
 * with WebGPU disabled (everything on WASM), against the production build, the real base model and
 * the release generator, driven from the keyboard only: Tab to "Choose prompt files…" and Enter opens
 * the file chooser -> Load model (Enter): focus stays on the model's card while it loads and once it
 * is ready, never falls to the top of the page -> Generate -> the result card's Compare (Enter): the
 * Compare tab opens with focus on its adapter select, which holds the new adapter -> Run (Enter):
 * focus moves to the base model's answer, which streams -> Evaluate's Run (Enter): focus moves to
 * the results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileChooser, Page } from 'playwright-core';
import { OUTPUT, openApp, type AppPage } from './appPage';

const ITEMS = [
  { prompt: 'Which planet is known as the red planet?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn', response: '[B]' },
  { prompt: 'What do bees make?\nA: Honey\nB: Milk\nC: Silk\nD: Wool', response: '[A]' },
  { prompt: 'Which of these is a mammal?\nA: Shark\nB: Trout\nC: Dolphin\nD: Octopus', response: '[C]' },
];

interface Focus {
  tag: string;
  testId: string | null;
  /** The data-testid of the nearest ancestor (or self) that has one. */
  within: string | null;
  /** The open tab panel that holds it, if any. */
  panel: string | null;
}

async function focused(page: Page): Promise<Focus> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      tag: el?.tagName ?? '',
      testId: el?.getAttribute('data-testid') ?? null,
      within: el?.closest('[data-testid]')?.getAttribute('data-testid') ?? null,
      panel: el?.closest('[role="tabpanel"]')?.getAttribute('data-testid') ?? null,
    };
  });
}

/** Presses Tab until the focused element's accessible name is `name` (at most `limit` presses). */
async function tabTo(page: Page, name: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      const labelled = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`)?.textContent : null;
      return (el.getAttribute('aria-label') ?? labelled ?? el.textContent ?? '').trim();
    });
    if (label === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}

describe('keyboard focus follows what changed (WASM)', () => {
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('Enter opens the file chooser; focus stays on or moves to what changed after Load model, Compare and Run', async () => {
    // "Choose prompt files…" from the keyboard: Enter opens the chooser; the chosen file is read.
    // (Playwright intercepts file choosers only once a listener is set, asynchronously: set it well
    // before the key press, or a chooser that did open goes unseen and Enter seems to do nothing.)
    const choosers: FileChooser[] = [];
    page.on('filechooser', (c) => choosers.push(c));
    await page.getByTestId('tab-prompts').focus();
    await tabTo(page, 'Choose prompt files…');
    expect((await focused(page)).testId).toBe('file-input');
    await page.keyboard.press('Enter');
    await expect.poll(() => choosers.length, { timeout: 5_000 }).toBe(1);
    await choosers[0]!.setFiles({ name: 'quiz.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(ITEMS.map((i) => JSON.stringify(i)).join('\n')) });
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('3');

    // Load model on the Generate tab: focus stays on the model's card, loading and loaded.
    await page.getByTestId('tab-generate').click();
    const generate = page.getByTestId('panel-generate');
    await generate.getByTestId('load-model').focus();
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatchObject({ panel: 'panel-generate', within: 'model-loader' });
    await expect.poll(() => generate.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    expect(await focused(page)).toMatchObject({ panel: 'panel-generate', within: 'model-loader' });
    await page.screenshot({ path: `${OUTPUT}/focus-after-load.png` });

    // Generate (its result heading takes focus, as before), then the result card's Compare.
    await generate.getByTestId('generate-run').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => generate.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
    await expect.poll(async () => (await focused(page)).testId).toBe('generated-heading');
    const adapterId = await generate.getByTestId('generated-result').getAttribute('data-adapter-id');
    await tabTo(page, 'Compare');
    expect((await focused(page)).testId).toBe('generated-compare');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('tab-compare').getAttribute('aria-selected')).toBe('true');
    const compare = page.getByTestId('panel-compare');
    await expect.poll(async () => (await focused(page)).testId).toBe('compare-adapter');
    expect(await compare.getByTestId('compare-adapter').inputValue()).toBe(adapterId);
    await page.screenshot({ path: `${OUTPUT}/focus-after-compare.png` });

    // Run (Enter on the button): focus moves to the base model's answer and stays there.
    await compare.getByTestId('compare-prompt').fill(ITEMS[0]!.prompt);
    await compare.getByTestId('compare-max-tokens').fill('8');
    await compare.getByTestId('compare-run').focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await focused(page)).testId).toBe('answer-base');
    await expect.poll(() => compare.getByTestId('answer-adapted').getAttribute('data-state'), { timeout: 120_000, interval: 250 }).toBe('done');
    expect((await focused(page)).testId).toBe('answer-base');
    await page.screenshot({ path: `${OUTPUT}/focus-after-run.png` });

    // Evaluate's Run: focus moves to the results.
    await page.getByTestId('tab-evaluate').click();
    const evaluate = page.getByTestId('panel-evaluate');
    await evaluate.getByTestId('evaluate-count').fill('1');
    await evaluate.getByTestId('evaluate-run').focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await focused(page)).testId).toBe('evaluate-results-heading');
    await expect.poll(() => evaluate.getByTestId('evaluate-results').getAttribute('data-status'), { timeout: 120_000, interval: 250 }).toBe('done');
    expect((await focused(page)).testId).toBe('evaluate-results-heading');
    expect(app.pageErrors).toEqual([]);
  });
});
