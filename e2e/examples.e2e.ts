/**
 * The Prompts screen's "Examples" group end to end, against the production build whose examples
 * come from the made-up fixture test/fixtures/datasets-mini (e2e/server.ts sets DND_DATASETS):
 * one button per held-out task found there; a click loads that file as a prompt set with the
 * file's count; a missing file or list gives a readable message and leaves the sets alone.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser';

const OUTPUT = 'e2e/output';
const FIXTURE = 'test/fixtures/datasets-mini';

function fixtureLines(task: string): { prompt: string }[] {
  return readFileSync(`${FIXTURE}/${task}/test.jsonl`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { prompt: string });
}

const buttons = (page: Page) => page.getByTestId('example-button');
const setItems = (page: Page) => page.getByTestId('prompt-set-item');

describe('Examples', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await launchChromium({ webgpu: false });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  async function open(width = 1366): Promise<void> {
    await context?.close();
    context = await browser.newContext({ viewport: { width, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }

  it('lists the held-out tasks of the datasets folder and loads one as a prompt set', async () => {
    await open();
    await page.goto(inject('appUrl'));
    const group = page.getByTestId('examples');
    await expect.poll(() => group.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
    // The fixture holds two of the held-out tasks; in the zoo configuration's order.
    expect(await buttons(page).evaluateAll((els) => els.map((el) => el.getAttribute('data-task')))).toEqual(['ARC-Easy', 'GSM8K']);
    expect(await buttons(page).first().textContent()).toContain('multiple choice · 12');
    expect(await buttons(page).first().getAttribute('aria-label')).toBe('Load example ARC-Easy: 12 multiple choice prompts');
    await page.screenshot({ path: `${OUTPUT}/examples-list.png`, fullPage: true });

    await page.locator('[data-task="GSM8K"]').click();
    await expect.poll(() => setItems(page).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('prompt-set-name').textContent()).toContain('GSM8K.jsonl');
    expect(await page.getByTestId('prompt-count').textContent()).toBe('9');
    // The prompts are the fixture's own lines, in order.
    const shown = await page.getByTestId('first-prompts').textContent();
    expect(shown).toContain(fixtureLines('GSM8K')[0]!.prompt);

    // Keyboard: Tab reaches the buttons; Enter loads the other example.
    await page.locator('[data-task="ARC-Easy"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => setItems(page).count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('prompt-count').textContent()).toBe('12');
    expect(await page.getByTestId('prompt-set-name').textContent()).toContain('ARC-Easy.jsonl');
    await page.screenshot({ path: `${OUTPUT}/examples-loaded.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('says so when an example file is missing and keeps the sets', async () => {
    await open();
    await page.goto(inject('appUrl'));
    await page.locator('[data-task="GSM8K"]').click();
    await expect.poll(() => setItems(page).count(), { timeout: 30_000 }).toBe(1);
    await page.route('**/examples/ARC-Easy.jsonl', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await page.locator('[data-task="ARC-Easy"]').click();
    const alert = page.locator('[role="alert"][data-code="example-unavailable"]');
    await expect.poll(() => alert.count(), { timeout: 30_000 }).toBe(1);
    expect(await alert.textContent()).toMatch(/Example ARC-Easy not loaded.*ARC-Easy\.jsonl is not served \(HTTP 404\)/s);
    expect(await setItems(page).count()).toBe(1);
    expect(await page.locator('[data-task="ARC-Easy"]').isDisabled()).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('shows why when the build has no examples', async () => {
    await open();
    const reason = 'The datasets folder /nowhere was not found when the app was built, so no example files are included.';
    await page.route('**/examples/index.json', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ available: false, reason, examples: [], skipped: [] }) }),
    );
    await page.goto(inject('appUrl'));
    const unavailable = page.getByTestId('examples-unavailable');
    await expect.poll(() => unavailable.count(), { timeout: 30_000 }).toBe(1);
    expect(await unavailable.textContent()).toBe(`No examples in this build. ${reason}`);
    expect(await buttons(page).count()).toBe(0);
    // The rest of the screen works as before.
    await page.getByTestId('paste-text').fill('One\nTwo');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => page.getByTestId('prompt-count').textContent()).toBe('2');
    expect(pageErrors).toEqual([]);
  });

  it('fits a narrow window', async () => {
    await open(420);
    await page.goto(inject('appUrl'));
    await expect.poll(() => page.getByTestId('examples').getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.getByTestId('examples').screenshot({ path: `${OUTPUT}/examples-narrow.png` });
    expect(pageErrors).toEqual([]);
  });
});
