/**
 * Words a newcomer can read on the Generate tab (issue 17, point 8), in headless Chromium with
 * WebGPU off (the engine and the generator on WebAssembly):
 *
 * - the result card names the training tasks the prompts resemble in words (family or dataset and
 *   what the task does), each with its raw id as a tooltip, never the raw id as the text;
 * - "Apply to the model" says what happened on the backend in use (on the CPU: no GPU copies);
 * - the run's time is said the same way in the status line and on the result card, each figure
 *   named: the stages' own total (the stage list's times added up) and the time from pressing
 *   Generate until the adapter was listed.
 *
 * The prompt file is written here (arithmetic in words, which the release generator's gate places
 * among its synthetic arithmetic tasks); no dataset content is used.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { readableTask, taskLabel } from '../src/ui/generate/taskNames';
import { OUTPUT, loadModelFrom, openApp, type AppPage } from './appPage';

const SUMS = [
  'What is seven times eight? Write the answer as #### N.',
  'What is twelve plus nine? Write the answer as #### N.',
  'What is forty minus seventeen? Write the answer as #### N.',
  'What is six times nine? Write the answer as #### N.',
  'What is thirty-one plus fourteen? Write the answer as #### N.',
  'What is eighty minus twenty-six? Write the answer as #### N.',
  'What is three times eleven? Write the answer as #### N.',
  'What is fifteen plus twenty-eight? Write the answer as #### N.',
].join('\n');

const release = JSON.parse(readFileSync('models/generator/generator.json', 'utf8')) as { training: { gate_tasks: string[] }; gate: { k: number } };
const GATE_TASKS = new Set(release.training.gate_tasks);

/** "850 ms" or "2.4 s" (blockText.ts formatMs) in milliseconds, with the half-step its rounding allows. */
function parseTime(text: string): { ms: number; slack: number } {
  const m = /^(\d+(?:\.\d)?) (ms|s)$/.exec(text.trim());
  if (!m) throw new Error(`not a time: "${text}"`);
  return m[2] === 's' ? { ms: Number(m[1]) * 1000, slack: 50 } : { ms: Number(m[1]), slack: 0.5 };
}

/** The named figures of a text: "the stages took X" and "X from pressing Generate", as written. */
function namedTimes(text: string): { stages: string | null; wall: string | null } {
  return {
    stages: /the stages took (\d+(?:\.\d)? m?s)/.exec(text)?.[1] ?? null,
    wall: /(\d+(?:\.\d)? m?s) from pressing Generate/.exec(text)?.[1] ?? null,
  };
}

describe('the Generate tab in words a newcomer can read (WebAssembly)', () => {
  let app: AppPage;
  let page: Page;
  let panel: Locator;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    ({ page } = app);
    panel = page.getByTestId('panel-generate');
  });
  afterAll(async () => app?.close());

  // expect.poll works inside tests only: the run the other tests read is this first test
  it('generates an adapter from a file of arithmetic questions in words', async () => {
    await page.getByTestId('file-input').setInputFiles([{ name: 'sums.txt', mimeType: 'text/plain', buffer: Buffer.from(SUMS) }]);
    await expect.poll(() => page.getByTestId('prompt-set-item').count()).toBe(1);
    await loadModelFrom(page, 'generate');
    await panel.getByTestId('generate-run').click();
    await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
    await panel.getByTestId('generated-result').screenshot({ path: `${OUTPUT}/result-words.png` });
    await page.screenshot({ path: `${OUTPUT}/result-words-page.png`, fullPage: true });
  });

  it('names the nearest training tasks in words, each with its raw id as a tooltip', async () => {
    const gate = panel.getByTestId('generated-gate');
    const tasks = gate.locator('[data-testid="gate-task"]');
    expect(await tasks.count()).toBe(release.gate.k);
    const ids: string[] = [];
    for (const task of await tasks.all()) {
      const id = await task.getAttribute('title');
      expect(id !== null && GATE_TASKS.has(id), `title "${id}" is a task of the generator's gate`).toBe(true);
      ids.push(id ?? '');
      const text = (await task.textContent()) ?? '';
      expect(text).toBe(taskLabel(readableTask(id ?? '')));
      expect(text).not.toContain(id);
    }
    // The prompts resemble the generator's synthetic arithmetic: the case the issue saw as "synth/arith/mul-words-hash".
    expect(ids.some((id) => id.startsWith('synth/'))).toBe(true);
    // No raw id anywhere in the line's text (synthetic ids, or a dataset's sub-task such as MMLU-STEM/college-physics).
    const text = (await gate.textContent()) ?? '';
    for (const id of ids) expect(text).not.toContain(id);
    expect(text).not.toMatch(/synth\//);
    expect(text).toMatch(/\(synthetic\)/);
  });

  it('"Apply to the model" says what happened on the CPU (no GPU copies or read-back)', async () => {
    expect(await panel.getByTestId('backend-now').getAttribute('data-backend')).toBe('wasm');
    const help = (await panel.locator('[data-stage="apply"] .stage__help').textContent()) ?? '';
    expect(help).not.toMatch(/GPU|read back|copied into/i);
    expect(help).toMatch(/CPU/);
  });

  it('says the run’s time the same way in the status line and on the result card, each figure named', async () => {
    const status = (await panel.getByTestId('generate-status').textContent()) ?? '';
    const card = (await panel.getByTestId('generated-result').textContent()) ?? '';
    const inStatus = namedTimes(status);
    const onCard = namedTimes(card);
    expect(onCard.stages, `the card names the stages' total: "${card}"`).not.toBeNull();
    expect(onCard).toEqual(inStatus);
    // The stages' total is the stage list's times added up (each shown rounded).
    const shown = (await panel.getByTestId('stage-time').allTextContents()).map(parseTime);
    const sum = shown.reduce((a, t) => a + t.ms, 0);
    const slack = shown.reduce((a, t) => a + t.slack, 0) + 50;
    const total = parseTime(onCard.stages ?? '').ms;
    expect(Math.abs(total - sum)).toBeLessThanOrEqual(slack);
    // From pressing Generate until the adapter was listed: the stages and the messages around them.
    expect(onCard.wall).not.toBeNull();
    expect(parseTime(onCard.wall ?? '').ms).toBeGreaterThanOrEqual(total - 100);
    // No other time on the card or in the status line than those two.
    const times = (s: string) => s.match(/\d+(?:\.\d)? m?s\b/g) ?? [];
    expect(times(status)).toEqual([inStatus.stages, inStatus.wall]);
    expect(times(card)).toEqual([onCard.stages, onCard.wall]);
  });
});
