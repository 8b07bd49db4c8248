/**
 * The Prompts screen end to end, in headless Chromium against the production build: drop, pick
 * and paste prompts; bad files give a readable alert and leave loaded sets alone; a table gets a
 * column choice; a 100k-line file is read in the worker with progress while the page stays live.
 * Every input file is generated here; no dataset content is used.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, JSHandle, Page } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchChromium } from './browser';

const OUTPUT = 'e2e/output';

interface TestFile {
  name: string;
  bytes: number[];
  type?: string;
}

function textFile(name: string, text: string, type = 'text/plain'): TestFile {
  return { name, bytes: Array.from(new TextEncoder().encode(text)), type };
}

function bytesFile(name: string, bytes: number[]): TestFile {
  return { name, bytes, type: 'application/octet-stream' };
}

function jsonl(prompts: string[]): string {
  return prompts.map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n';
}

/** Builds a DataTransfer holding the files inside the page, as a real drag from the desktop would. */
async function dataTransferOf(page: Page, files: TestFile[]): Promise<JSHandle<DataTransfer>> {
  return page.evaluateHandle((specs) => {
    const transfer = new DataTransfer();
    for (const spec of specs) {
      transfer.items.add(new File([new Uint8Array(spec.bytes)], spec.name, { type: spec.type ?? '' }));
    }
    return transfer;
  }, files);
}

async function dropTransfer(page: Page, dataTransfer: JSHandle<DataTransfer>): Promise<void> {
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

async function dropFiles(page: Page, files: TestFile[]): Promise<void> {
  await dropTransfer(page, await dataTransferOf(page, files));
}

const setItems = (page: Page) => page.getByTestId('prompt-set-item');
// Alerts the person can see (other tabs' panels are hidden and may hold their own).
const alerts = (page: Page) => page.locator('[role="alert"]:visible');

async function shownPromptCount(page: Page): Promise<string | null> {
  return page.getByTestId('prompt-count').textContent();
}

/** Loads a first set that the bad files below must not disturb. */
async function loadGoodSet(page: Page): Promise<void> {
  const prompts = Array.from({ length: 12 }, (_, i) => `What is ${i} plus ${i}?`);
  await dropFiles(page, [textFile('good.jsonl', jsonl(prompts))]);
  await expect.poll(() => shownPromptCount(page)).toBe('12');
}

/** The page still does its job: a paste after the failure is read. */
async function expectStillUsable(page: Page, setsBefore: number): Promise<void> {
  await page.getByTestId('paste-text').fill('Still working?\nYes, still working.');
  await page.getByTestId('paste-submit').click();
  await expect.poll(() => setItems(page).count()).toBe(setsBefore + 1);
  await expect.poll(() => shownPromptCount(page)).toBe('2');
}

describe('Prompts screen', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
  });
  afterAll(async () => browser?.close());

  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    pageErrors.length = 0;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(inject('appUrl'));
    await expect.poll(() => page.getByTestId('webgpu-status').textContent()).not.toContain('Checking');
    return async () => {
      expect(pageErrors).toEqual([]);
    };
  });

  it('shows the empty state and the model screens', async () => {
    await expect.poll(() => page.getByTestId('no-prompt-sets').isVisible()).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/prompts-empty.png`, fullPage: true });
    // Generate says there are no prompts yet (e2e/generate.e2e.ts drives it); Compare and Adapters
    // (e2e/compare.e2e.ts) too offer to load the model.
    await page.getByTestId('tab-generate').click();
    expect(await page.getByTestId('panel-generate').getByTestId('generate-no-prompts').isVisible()).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/generate-no-prompts.png` });
    for (const tab of ['generate', 'compare', 'adapters']) {
      await page.getByTestId(`tab-${tab}`).click();
      const panel = page.getByTestId(`panel-${tab}`);
      expect(await panel.isVisible()).toBe(true);
      expect(await panel.textContent()).toMatch(/Load model/i);
    }
    // Evaluate (e2e/evaluate.e2e.ts drives it) first asks for a prompt file with responses.
    await page.getByTestId('tab-evaluate').click();
    expect(await page.getByTestId('panel-evaluate').getByTestId('evaluate-no-set').isVisible()).toBe(true);
    // Keyboard: arrow keys move between tabs.
    await page.getByTestId('tab-adapters').focus();
    await page.keyboard.press('Home');
    expect(await page.getByTestId('tab-prompts').getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-prompts');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('tab-generate').getAttribute('aria-selected')).toBe('true');
  });

  it('reads a dropped JSONL file: count, duplicates, samples, histogram, P sampled prompts', async () => {
    const prompts = Array.from({ length: 40 }, (_, i) => `Explain idea number ${i} in ${'very '.repeat(i % 7)}simple words.`);
    const withDuplicates = [...prompts, prompts[0]!, prompts[1]!, prompts[2]!];
    const transfer = await dataTransferOf(page, [textFile('ideas.jsonl', jsonl(withDuplicates))]);
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
    expect(await page.getByTestId('drop-overlay').getAttribute('data-active')).toBe('true');
    await page.screenshot({ path: `${OUTPUT}/drop-overlay.png` });
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    expect(await page.getByTestId('drop-overlay').getAttribute('data-active')).toBe('false');

    await expect.poll(() => shownPromptCount(page)).toBe('40');
    expect(await page.getByTestId('records-read').textContent()).toBe('43');
    expect(await page.getByTestId('duplicates-dropped').textContent()).toBe('3');
    expect(await page.getByTestId('prompt-set-name').textContent()).toBe('ideas.jsonl');
    expect(await page.getByTestId('first-prompts').textContent()).toContain(prompts[0]);
    expect(await page.getByTestId('length-histogram').locator('rect').count()).toBeGreaterThan(1);

    // P defaults to 8; re-sampling draws another 8 with a new seed.
    const sampleItems = page.getByTestId('sample-item');
    expect(await sampleItems.count()).toBe(8);
    const firstSample = await sampleItems.allTextContents();
    const firstSeed = await page.getByTestId('sample-seed').textContent();
    await page.getByTestId('resample').click();
    await expect.poll(() => page.getByTestId('sample-seed').textContent()).not.toBe(firstSeed);
    expect(await sampleItems.count()).toBe(8);
    expect(await sampleItems.allTextContents()).not.toEqual(firstSample);

    // P is configurable.
    await page.getByTestId('sample-size').fill('5');
    await page.getByTestId('sample-size').press('Enter');
    await expect.poll(() => sampleItems.count()).toBe(5);
    for (const text of await sampleItems.allTextContents()) {
      expect(prompts.some((prompt) => text.startsWith(prompt))).toBe(true);
    }
    await page.screenshot({ path: `${OUTPUT}/prompts-loaded-laptop.png`, fullPage: true });
  });

  it('opens the file picker from the keyboard', async () => {
    // Listen first: Playwright turns on file-chooser interception asynchronously.
    const chooserPromise = page.waitForEvent('filechooser');
    // Tab from the top of the page reaches the picker without a mouse.
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'file-input');
    }
    expect(reached).toBe(true);
    expect(await page.getByLabel('Choose prompt files…').getAttribute('type')).toBe('file');
    await page.screenshot({ path: `${OUTPUT}/keyboard-focus-picker.png`, clip: { x: 0, y: 0, width: 1366, height: 500 } });
    await page.keyboard.press('Enter');
    const chooser = await chooserPromise;
    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles([{ name: 'keyboard.txt', mimeType: 'text/plain', buffer: Buffer.from('Typed without a mouse\n') }]);
    await expect.poll(() => shownPromptCount(page)).toBe('1');
    expect(await page.getByTestId('announcer').textContent()).toBe('Read keyboard.txt: 1 prompt.');
  });

  it('reads files chosen with the file picker', async () => {
    await page.getByTestId('file-input').setInputFiles([
      { name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('First prompt\nSecond prompt\nThird prompt\n') },
      { name: 'two.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(jsonl(['Alpha', 'Beta'])) },
    ]);
    await expect.poll(() => setItems(page).count()).toBe(2);
    const names = await setItems(page).allTextContents();
    expect(names.join(' ')).toContain('one.txt');
    expect(names.join(' ')).toContain('two.jsonl');
  });

  it('reads pasted text, and keeps the draft when the paste cannot be read', async () => {
    const box = page.getByTestId('paste-text');
    await box.fill('How do tides work?\nWhy is the sky blue?\nWhat is a prime number?');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => shownPromptCount(page)).toBe('3');
    expect(await page.getByTestId('prompt-set-name').textContent()).toBe('Pasted text 1');
    expect(await box.inputValue()).toBe('');

    // JSONL pasted with one malformed line: the good lines are read, the bad one is a warning.
    await box.fill('{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": "c"\n');
    await box.press('Control+Enter');
    await expect.poll(() => setItems(page).count()).toBe(2);
    expect(await shownPromptCount(page)).toBe('2');
    expect(await page.getByTestId('parse-warnings').textContent()).toMatch(/Line 3 is not valid JSON/);
    expect(await alerts(page).count()).toBe(0);

    // Whitespace only is refused with a message; the typed text stays, the sets stay.
    await box.fill('   \n   ');
    await page.getByTestId('paste-submit').click();
    await expect.poll(() => alerts(page).count()).toBe(1);
    expect(await alerts(page).last().textContent()).toMatch(/only whitespace/);
    expect(await box.inputValue()).toBe('   \n   ');
    expect(await setItems(page).count()).toBe(2);

    // The draft survives a reload.
    await page.reload();
    expect(await page.getByTestId('paste-text').inputValue()).toBe('   \n   ');
  });

  const badInputs: Array<{ label: string; file: TestFile; message: RegExp; code: string }> = [
    { label: 'an empty file', file: textFile('empty.txt', ''), message: /empty\.txt is empty/, code: 'empty-file' },
    {
      label: 'a binary file',
      file: bytesFile('picture.txt', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 1, 2, 3]),
      message: /not a text file/,
      code: 'binary-file',
    },
    {
      // Every line saved as Latin-1 ("café", "naïve"); one bad line among good ones costs only that
      // line (e2e/partialFiles.e2e.ts).
      label: 'invalid UTF-8',
      file: bytesFile('latin1.txt', [...new TextEncoder().encode('caf'), 0xe9, 0x0a, ...new TextEncoder().encode('na'), 0xef, ...new TextEncoder().encode('ve\n')]),
      message: /not valid UTF-8.*line 1/,
      code: 'invalid-utf8',
    },
    {
      // One bad line among good ones is a warning (e2e/newUser.e2e.ts); no valid line fails the file.
      label: 'JSONL with no valid line',
      file: textFile('broken.jsonl', '{"prompt": "one"\n{"prompt": "two",}\n'),
      message: /Line 1 of broken\.jsonl is not valid JSON.*2 malformed lines/,
      code: 'malformed-jsonl',
    },
    {
      label: 'JSON with no valid item',
      file: textFile('broken.json', '[\n  {"prompt": "one",},\n  {"prompt" "two"}\n]\n'),
      message: /broken\.json is not valid JSON at line 2/,
      code: 'malformed-json',
    },
    {
      label: 'a spreadsheet',
      file: bytesFile('sheet.xlsx', [0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]),
      message: /export the sheet as CSV/,
      code: 'unsupported-format',
    },
  ];

  for (const bad of badInputs) {
    it(`reports ${bad.label} clearly and keeps the loaded set`, async () => {
      await loadGoodSet(page);
      await dropFiles(page, [bad.file]);
      await expect.poll(() => alerts(page).count()).toBe(1);
      const alert = alerts(page).first();
      expect(await alert.getAttribute('data-code')).toBe(bad.code);
      expect(await alert.textContent()).toMatch(bad.message);
      // The earlier set is still there and still shown.
      expect(await setItems(page).count()).toBe(1);
      expect(await page.getByTestId('prompt-set-name').textContent()).toBe('good.jsonl');
      expect(await shownPromptCount(page)).toBe('12');
      if (bad.code === 'malformed-jsonl') await page.screenshot({ path: `${OUTPUT}/error-malformed-jsonl.png`, fullPage: true });
      // The alert can be dismissed from the keyboard, and the page keeps working.
      await alert.getByRole('button', { name: /Dismiss/ }).press('Enter');
      await expect.poll(() => alerts(page).count()).toBe(0);
      await expectStillUsable(page, 1);
    });
  }

  it('reads good files dropped together with a bad one', async () => {
    await dropFiles(page, [
      textFile('a.txt', 'Prompt A1\nPrompt A2\n'),
      textFile('bad.jsonl', 'not json at all\n{"prompt": "fine"\n'),
      textFile('b.txt', 'Prompt B1\n'),
    ]);
    await expect.poll(() => setItems(page).count()).toBe(2);
    await expect.poll(() => alerts(page).count()).toBe(1);
    expect(await alerts(page).textContent()).toMatch(/Line 1 of bad\.jsonl/);
  });

  it('keeps prompt sets across a reload (IndexedDB) and removes them on request', async () => {
    await loadGoodSet(page);
    await dropFiles(page, [textFile('second.txt', 'One more prompt\nAnd another one\n')]);
    await expect.poll(() => setItems(page).count()).toBe(2);
    // Writes are asynchronous; give them a moment before reloading.
    await page.waitForTimeout(300);
    await page.reload();
    await expect.poll(() => setItems(page).count()).toBe(2);
    expect((await setItems(page).allTextContents()).join(' ')).toMatch(/good\.jsonl.*second\.txt/);
    // Removing says so and offers Undo.
    await page.getByRole('button', { name: 'Remove good.jsonl' }).click();
    await expect.poll(() => setItems(page).count()).toBe(1);
    await page.getByTestId('notice-action').click();
    await expect.poll(() => setItems(page).count()).toBe(2);
    expect(await page.getByTestId('prompt-set-name').textContent()).toBe('good.jsonl');
    await page.getByRole('button', { name: 'Remove good.jsonl' }).click();
    await expect.poll(() => setItems(page).count()).toBe(1);
    expect(await page.getByTestId('prompt-set-name').textContent()).toBe('second.txt');
    // Focus stays in the list, on the set that took the removed one's place.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('second.txt');
    await page.waitForTimeout(300);
    await page.reload();
    await expect.poll(() => setItems(page).count()).toBe(1);
  });

  it('lets the person choose the prompt column of a CSV file', async () => {
    const rows = [
      ['id', 'question', 'answer'],
      ...Array.from({ length: 10 }, (_, i) => [String(i + 1), `Question number ${i + 1}, asked politely?`, `Answer ${i + 1}`]),
    ];
    const csv = rows.map((row) => row.map((cell) => (cell.includes(',') ? `"${cell}"` : cell)).join(',')).join('\n');
    await dropFiles(page, [textFile('qa.csv', csv, 'text/csv')]);
    await expect.poll(() => shownPromptCount(page)).toBe('10');
    const chooser = page.getByTestId('csv-chooser');
    expect(await chooser.isVisible()).toBe(true);
    const promptColumn = page.getByTestId('csv-prompt-column');
    // The suggested column is the one named "question".
    expect(await promptColumn.locator('option:checked').textContent()).toContain('question');
    expect(await page.getByTestId('first-prompts').textContent()).toContain('Question number 1, asked politely?');
    await page.screenshot({ path: `${OUTPUT}/csv-chooser.png`, fullPage: true });

    await promptColumn.selectOption({ label: (await promptColumn.locator('option', { hasText: 'answer' }).textContent()) ?? '' });
    await page.getByTestId('csv-apply').click();
    await expect.poll(() => page.getByTestId('first-prompts').textContent()).toContain('Answer 1');
    expect(await shownPromptCount(page)).toBe('10');
    expect(await setItems(page).count()).toBe(1);

    // After a reload the choice is kept, and the file (saved with the set) can be re-read again.
    await page.waitForTimeout(300);
    await page.reload();
    await expect.poll(() => page.getByTestId('first-prompts').textContent()).toContain('Answer 1');
    await page.getByTestId('csv-prompt-column').selectOption({ index: 1 });
    await page.getByTestId('csv-apply').click();
    await expect.poll(() => page.getByTestId('first-prompts').textContent()).toContain('Question number 1, asked politely?');
  });

  it('reads 100k prompts in the worker with progress, and the page stays responsive', async () => {
    await loadGoodSet(page);
    // Watch for the progress bar and for long tasks on the UI thread from before the drop.
    await page.evaluate(() => {
      const probe = { sawProgress: false, longestTaskMs: 0 };
      (window as unknown as { __probe: typeof probe }).__probe = probe;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="read-job-progress"]')) probe.sawProgress = true;
      }).observe(document.body, { childList: true, subtree: true });
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) probe.longestTaskMs = Math.max(probe.longestTaskMs, entry.duration);
      }).observe({ type: 'longtask', buffered: false });
    });
    const transfer = await page.evaluateHandle((count: number) => {
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        lines.push(JSON.stringify({ prompt: `Prompt ${i}: describe item ${i % 977} of the catalogue in ${(i % 13) + 1} sentences.` }));
      }
      const transfer = new DataTransfer();
      transfer.items.add(new File([lines.join('\n')], 'big.jsonl', { type: 'application/jsonl' }));
      return transfer;
    }, 100_000);
    await dropTransfer(page, transfer);

    // While the worker parses, the page answers at once.
    await page.getByTestId('read-job').waitFor({ state: 'visible' });
    await page.screenshot({ path: `${OUTPUT}/progress-big-file.png` });
    const roundTrips: number[] = [];
    while ((await page.getByTestId('read-job').count()) > 0) {
      const started = Date.now();
      await page.evaluate(() => document.title);
      roundTrips.push(Date.now() - started);
    }
    await expect.poll(() => page.getByTestId('prompt-set-name').textContent()).toBe('big.jsonl');
    expect(await shownPromptCount(page)).toBe('100,000');
    await page.screenshot({ path: `${OUTPUT}/prompts-100k-loaded.png`, fullPage: true });
    expect(await page.getByTestId('sample-item').count()).toBe(8);
    const probe = await page.evaluate(() => (window as unknown as { __probe: { sawProgress: boolean; longestTaskMs: number } }).__probe);
    expect(probe.sawProgress).toBe(true);
    expect(Math.max(...roundTrips)).toBeLessThan(500);
    // Records arrive as one JSON string and are saved in chunks, so no task holds the page long
    // (about 60 ms measured on SwiftShader; the bound leaves room for a loaded CI machine).
    expect(probe.longestTaskMs).toBeLessThan(500);
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(
      `${OUTPUT}/big-file-responsiveness.json`,
      JSON.stringify({ prompts: 100_000, roundTrips: roundTrips.length, slowestRoundTripMs: Math.max(...roundTrips), longestUiTaskMs: probe.longestTaskMs }, null, 2),
    );
    expect(await setItems(page).count()).toBe(2);
  });

  it('reads a 50 MB file without freezing the page', async () => {
    await page.evaluate(() => {
      const probe = { longestTaskMs: 0 };
      (window as unknown as { __probe: typeof probe }).__probe = probe;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) probe.longestTaskMs = Math.max(probe.longestTaskMs, entry.duration);
      }).observe({ type: 'longtask', buffered: false });
    });
    const transfer = await page.evaluateHandle((targetBytes: number) => {
      const lines: string[] = [];
      let size = 0;
      for (let i = 0; size < targetBytes; i++) {
        const line = JSON.stringify({ prompt: `Prompt ${i}: ${'summarise the following paragraph about topic '.repeat(4)}${i % 1009}.` });
        lines.push(line);
        size += line.length + 1;
      }
      const transfer = new DataTransfer();
      transfer.items.add(new File([lines.join('\n')], 'fifty.jsonl', { type: 'application/jsonl' }));
      return transfer;
    }, 50 * 1024 * 1024);
    const started = Date.now();
    await dropTransfer(page, transfer);
    await page.getByTestId('read-job').waitFor({ state: 'visible' });
    const roundTrips: number[] = [];
    while ((await page.getByTestId('read-job').count()) > 0) {
      const t = Date.now();
      await page.evaluate(() => document.title);
      roundTrips.push(Date.now() - t);
    }
    await expect.poll(() => page.getByTestId('prompt-set-name').textContent()).toBe('fifty.jsonl');
    const probe = await page.evaluate(() => (window as unknown as { __probe: { longestTaskMs: number } }).__probe);
    const prompts = await shownPromptCount(page);
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(
      `${OUTPUT}/fifty-mb-responsiveness.json`,
      JSON.stringify({ prompts, totalMs: Date.now() - started, roundTrips: roundTrips.length, slowestRoundTripMs: Math.max(...roundTrips), longestUiTaskMs: probe.longestTaskMs }, null, 2),
    );
    expect(Math.max(...roundTrips)).toBeLessThan(1000);
    expect(probe.longestTaskMs).toBeLessThan(1000);
  });

  it('cancels a big read and keeps what was loaded', async () => {
    await loadGoodSet(page);
    const transfer = await page.evaluateHandle((count: number) => {
      const lines: string[] = [];
      for (let i = 0; i < count; i++) lines.push(`Line prompt ${i} with some padding text to make the file longer.`);
      const transfer = new DataTransfer();
      transfer.items.add(new File([lines.join('\n')], 'huge.txt', { type: 'text/plain' }));
      return transfer;
    }, 400_000);
    await dropTransfer(page, transfer);
    await page.getByTestId('read-job-cancel').click();
    await expect.poll(() => page.getByTestId('read-job').count()).toBe(0);
    await expect.poll(() => page.locator('[data-code="cancelled"]').count()).toBe(1);
    expect(await setItems(page).count()).toBe(1);
    expect(await shownPromptCount(page)).toBe('12');
    await expectStillUsable(page, 1);
  });

  it('restarts a crashed prompt reader, says so, and keeps working', async () => {
    await page.goto(`${inject('appUrl')}?e2e-hooks`);
    await loadGoodSet(page);
    const transfer = await page.evaluateHandle((count: number) => {
      const lines: string[] = [];
      for (let i = 0; i < count; i++) lines.push(`Crash test prompt ${i} with some padding text to make the file longer.`);
      const transfer = new DataTransfer();
      transfer.items.add(new File([lines.join('\n')], 'doomed.txt', { type: 'text/plain' }));
      return transfer;
    }, 400_000);
    await dropTransfer(page, transfer);
    // Crash once the worker is parsing this file (before that, the bytes are still being read).
    await expect.poll(() => page.getByTestId('read-job').textContent(), { timeout: 20_000, interval: 20 }).toContain('Parsing');
    await page.evaluate(() => (window as unknown as { __dndLoraTestHooks: { crashPromptsWorker: () => void } }).__dndLoraTestHooks.crashPromptsWorker());
    await expect.poll(() => page.locator('[role="alert"][data-code="worker-crashed"]').count()).toBe(1);
    expect(await alerts(page).textContent()).toMatch(/doomed\.txt.*restarted/s);
    expect(await page.getByTestId('read-job').count()).toBe(0);
    expect(await setItems(page).count()).toBe(1);
    // The fresh worker reads the next file.
    await dropFiles(page, [textFile('after.txt', 'After the crash\n')]);
    await expect.poll(() => setItems(page).count()).toBe(2);
  });

  it('fits a projector with large text', async () => {
    await context.close();
    context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    page = await context.newPage();
    await page.goto(inject('appUrl'));
    await loadGoodSet(page);
    await page.getByTestId('large-text-toggle').click();
    expect(await page.getByTestId('large-text-toggle').getAttribute('aria-pressed')).toBe('true');
    expect(await page.evaluate(() => document.documentElement.classList.contains('large-text'))).toBe(true);
    // Nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/prompts-projector-large-text.png`, fullPage: true });
  });

  it('is readable in dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await loadGoodSet(page);
    await dropFiles(page, [textFile('broken.jsonl', '{oops\n{"prompt": "x"\n')]);
    await expect.poll(() => alerts(page).count()).toBe(1);
    await page.screenshot({ path: `${OUTPUT}/prompts-dark.png`, fullPage: true });
  });

  it('fits a narrow window without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await loadGoodSet(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/prompts-narrow.png`, fullPage: true });
    await page.screenshot({ path: `${OUTPUT}/prompts-narrow-top.png` });
  });
});
