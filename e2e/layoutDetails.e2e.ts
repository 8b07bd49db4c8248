/**
 * Small layout facts (issue 17, point 10), in headless Chromium with WebGPU disabled, against the
 * production build and the real base model with the fixture adapter: the page names a favicon and
 * it is served (200, an image) -> prompt set names with no space in them ("sentiment.jsonl") never
 * break inside a word at 320 or 1366 px (only after a dot, underscore or dash) -> at 1366 px every
 * Adapters row keeps Rename, Inspect, Download and Remove on one line beside its name, also with a
 * long name and source -> at 320 px the inspector's wide tables say they scroll sideways (a visible
 * hint on the scrolling box, which the keyboard can reach), and say nothing where they fit (1366 px).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { OUTPUT, fixtureAdapterZip, loadModelFrom, openApp, type AppPage } from './appPage';

const SET_NAMES = ['sentiment.jsonl', 'quiz.jsonl', 'a_very_long_file_name_for_customer-support-tickets.jsonl'];
const LONG_ADAPTER = 'customer support tickets from the spring campaign (generated)';

/**
 * Where the text of each matched element wraps inside a word: for every line break (a character
 * whose box starts lower than the one before it), the two characters around it when both are
 * letters or digits.
 */
async function midWordBreaks(elements: Locator): Promise<string[]> {
  return elements.evaluateAll((els) => {
    const wordChar = /[\p{L}\p{N}]/u;
    const found: string[] = [];
    for (const el of els) {
      const chars: { ch: string; top: number }[] = [];
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        for (let i = 0; i < text.length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (rect && rect.width > 0) chars.push({ ch: text[i]!, top: rect.top });
        }
      }
      for (let i = 1; i < chars.length; i++) {
        const before = chars[i - 1]!;
        const after = chars[i]!;
        if (after.top > before.top + 2 && wordChar.test(before.ch) && wordChar.test(after.ch)) {
          found.push(`${el.textContent}: "${before.ch}|${after.ch}" at ${i}`);
        }
      }
    }
    return found;
  });
}

async function boxOf(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('not shown');
  return box;
}

describe('layout details (WASM)', () => {
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('favicon: named by the page and served', async () => {
    const href = await page.evaluate(() => (document.querySelector('link[rel~="icon"]') as HTMLLinkElement | null)?.href ?? null);
    expect(href).not.toBeNull();
    const response = await page.request.get(href!);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toMatch(/^image\//);
  });

  it('set names break only between words, at 320 and 1366 px', async () => {
    await page.getByTestId('tab-prompts').click();
    await page.getByTestId('file-input').setInputFiles(SET_NAMES.map((name) => ({
      name, mimeType: 'application/jsonl', buffer: Buffer.from(`${JSON.stringify({ prompt: `A prompt of ${name}`, response: '[A]' })}\n`),
    })));
    await expect.poll(() => page.getByTestId('prompt-set-item').count(), { timeout: 30_000 }).toBe(SET_NAMES.length);
    const names = page.locator('.prompt-set-item__name, [data-testid="prompt-set-name"]');
    for (const width of [320, 1366]) {
      await page.setViewportSize({ width, height: 900 });
      for (const name of SET_NAMES) {
        await page.locator('.prompt-set-item__select', { hasText: name }).click();
        expect(await midWordBreaks(names)).toEqual([]);
      }
    }
    await page.setViewportSize({ width: 320, height: 900 });
    await page.getByTestId('prompt-set-list').screenshot({ path: `${OUTPUT}/layout-set-names-320.png` });
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('Adapters at 1366 px: the row actions stay on one line beside the name; inspector tables hint at sideways scrolling at 320 px', async () => {
    await loadModelFrom(page, 'adapters');
    const panel = page.getByTestId('panel-adapters');
    for (const [i, name] of [LONG_ADAPTER, 'fixture'].entries()) {
      await panel.getByTestId('adapter-file-input').setInputFiles({ name: `${name}.zip`, mimeType: 'application/zip', buffer: fixtureAdapterZip() });
      await expect.poll(() => page.getByTestId('adapter-row').count(), { timeout: 60_000 }).toBe(i + 1);
    }
    const rowsShown = page.getByTestId('adapter-row');
    for (let i = 0; i < (await rowsShown.count()); i++) {
      const row = rowsShown.nth(i);
      const buttons = await Promise.all(['rename-adapter', 'inspect-adapter', 'export-adapter', 'remove-adapter'].map((id) => boxOf(row.getByTestId(id))));
      const name = await boxOf(row.locator('th'));
      const rowBox = await boxOf(row);
      // One line: every button's top where Rename's is, left to right, and inside the row beside the name.
      for (const b of buttons) expect(Math.abs(b.y - buttons[0]!.y)).toBeLessThan(2);
      for (let j = 1; j < buttons.length; j++) expect(buttons[j]!.x).toBeGreaterThan(buttons[j - 1]!.x + buttons[j - 1]!.width - 1);
      const remove = buttons[3]!;
      expect(remove.y).toBeGreaterThanOrEqual(rowBox.y);
      expect(remove.y + remove.height).toBeLessThanOrEqual(rowBox.y + rowBox.height + 1);
      expect(remove.x).toBeGreaterThan(name.x + name.width);
    }
    await page.getByTestId('adapter-table').screenshot({ path: `${OUTPUT}/layout-adapters-1366.png` });

    // The inspector: the norm table (Show the numbers) and the per-module similarity table.
    await rowsShown.first().getByTestId('inspect-adapter').click();
    const inspector = panel.getByTestId('adapter-inspector');
    await expect.poll(() => inspector.getByTestId('norm-chart').count(), { timeout: 30_000 }).toBe(1);
    await inspector.locator('.norm-chart__numbers summary').click();
    const otherId = (await rowsShown.nth(1).getAttribute('data-adapter-id'))!;
    await inspector.getByTestId('compare-with').selectOption(otherId);
    await expect.poll(() => inspector.getByTestId('similarity-modules').count(), { timeout: 30_000 }).toBe(1);
    const tables = ['norm-table', 'similarity-modules'];
    const scroller = (table: string) => inspector.locator(`[data-testid="wide-table"]:has([data-testid="${table}"])`);

    // Wide enough at 1366 px: no hint.
    for (const table of tables) {
      expect(await scroller(table).getAttribute('data-overflowing')).toBe('false');
      expect(await scroller(table).getByTestId('scroll-hint').count()).toBe(0);
    }
    await page.setViewportSize({ width: 320, height: 900 });
    for (const table of tables) {
      const box = scroller(table);
      await expect.poll(() => box.getAttribute('data-overflowing'), { timeout: 5_000 }).toBe('true');
      const hint = box.getByTestId('scroll-hint');
      expect(await hint.isVisible()).toBe(true);
      expect(await hint.textContent()).toMatch(/Scroll sideways/);
      // The scrolling box is reachable from the keyboard (arrow keys scroll it) and says what it holds.
      const region = box.getByTestId('wide-table-scroll');
      expect(await region.getAttribute('tabindex')).toBe('0');
      expect(await region.getAttribute('aria-label')).toBeTruthy();
      const hintBox = await boxOf(hint);
      expect(hintBox.x + hintBox.width).toBeLessThanOrEqual(320);
      await box.scrollIntoViewIfNeeded();
      await box.screenshot({ path: `${OUTPUT}/layout-${table}-320.png` });
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(app.pageErrors).toEqual([]);
  });
});
