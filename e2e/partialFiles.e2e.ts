/**
 * Files with some bad parts, in headless Chromium against the production build (no model needed):
 * what can be read is kept, what cannot is skipped and reported, counted in the unit the file was
 * read in (lines of a text or JSONL file, items of a JSON list), with singular and plural right.
 *
 * - invalid UTF-8 on one line of a text file and of a JSONL file: the other lines are kept, the bad
 *   line is skipped with a warning naming it (the whole file used to be refused);
 * - a one-line JSON list cut short (`[{"prompt": "a"}, {"pro`): one prompt kept, "1 item was
 *   skipped" (it used to say "2 lines were skipped" for a one-line file), and "1 char", not "1 chars";
 * - a file whose every line is invalid UTF-8 is still refused with the re-save advice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, openApp, type AppPage } from './appPage';

const encode = (text: string) => Array.from(new TextEncoder().encode(text));

function file(name: string, bytes: number[]) {
  return { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) };
}

const visibleAlerts = (page: Page) => page.locator('[role="alert"]:visible');

async function pick(page: Page, files: ReturnType<typeof file>[], setName: string): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(files);
  const item = page.locator('.prompt-set-item__select', { hasText: setName });
  await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
  await item.click();
  await expect.poll(() => page.getByTestId('prompt-set-name').textContent()).toBe(setName);
}

describe('files with bad parts keep what can be read', () => {
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('a text file with one Latin-1 line keeps its other lines and skips that one', async () => {
    // line 2 is "Café au lait?" saved as Latin-1 (0xE9 is not UTF-8 on its own)
    const bytes = [...encode('What is two plus two?\nCaf'), 0xe9, ...encode(' au lait?\nName a colour.\n')];
    await pick(page, [file('mixed.txt', bytes)], 'mixed.txt');
    expect(await visibleAlerts(page).count()).toBe(0);
    expect(await page.getByTestId('prompt-count').textContent()).toBe('2');
    expect(await page.getByTestId('first-prompts').textContent()).toContain('What is two plus two?');
    expect(await page.getByTestId('first-prompts').textContent()).toContain('Name a colour.');
    const warnings = page.getByTestId('parse-warnings');
    expect(await warnings.locator('summary').textContent()).toMatch(/^1 line was skipped/);
    await warnings.locator('summary').click();
    expect(await warnings.textContent()).toMatch(/Line 2 is not valid UTF-8 \(invalid byte at offset 25\); skipped\./);
    await page.screenshot({ path: `${OUTPUT}/partial-invalid-utf8.png`, fullPage: true });
  });

  it('a JSONL file with one Latin-1 line keeps the other lines', async () => {
    const lines = [
      ...encode('{"prompt": "Is the sky blue?"}\n{"prompt": "Caf'), 0xe9, ...encode('?"}\n'),
      ...encode('{"prompt": "Is grass green?"}\n{"prompt": "Na'), 0xef, ...encode('ve?"}\n'),
    ];
    await pick(page, [file('quiz-latin1.jsonl', lines)], 'quiz-latin1.jsonl');
    expect(await visibleAlerts(page).count()).toBe(0);
    expect(await page.getByTestId('prompt-count').textContent()).toBe('2');
    const summary = page.getByTestId('parse-warnings').locator('summary');
    expect(await summary.textContent()).toMatch(/^2 lines were skipped/);
    await summary.click();
    const text = await page.getByTestId('parse-warnings').textContent();
    expect(text).toMatch(/Line 2 is not valid UTF-8/);
    expect(text).toMatch(/Line 4 is not valid UTF-8/);
    expect(text).toMatch(/Latin-1 or Windows-1252/);
  });

  it('a one-line JSON list cut short counts the skipped item, in items, with the right plural', async () => {
    await pick(page, [file('truncated.json', encode('[{"prompt": "a"}, {"pro'))], 'truncated.json');
    expect(await visibleAlerts(page).count()).toBe(0);
    expect(await page.getByTestId('prompt-count').textContent()).toBe('1');
    const summary = page.getByTestId('parse-warnings').locator('summary');
    expect(await summary.textContent()).toMatch(/^1 item was skipped/);
    expect(await summary.textContent()).not.toMatch(/lines? (was|were) skipped/);
    expect(await page.getByTestId('median-length').textContent()).toBe('1 char');
    await summary.click();
    expect(await page.getByTestId('parse-warnings').textContent()).toMatch(/Item 2 \(line 1\) is not valid JSON/);
    await page.screenshot({ path: `${OUTPUT}/partial-truncated-json.png`, fullPage: true });
  });

  it('a file whose every line is invalid UTF-8 is refused with the re-save advice', async () => {
    await page.getByTestId('file-input').setInputFiles([file('all-latin1.txt', [...encode('caf'), 0xe9, 0x0a, ...encode('na'), 0xef, ...encode('ve\n')])]);
    await expect.poll(() => visibleAlerts(page).count()).toBe(1);
    const alert = visibleAlerts(page).first();
    expect(await alert.getAttribute('data-code')).toBe('invalid-utf8');
    expect(await alert.textContent()).toMatch(/all-latin1\.txt is not valid UTF-8.*line 1.*re-save it as UTF-8/);
  });
});
