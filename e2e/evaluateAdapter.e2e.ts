/**
 * Which adapter the Evaluate tab offers (issue 17, point 2), in headless Chromium with WebGPU
 * disabled (the engine and the generator's CPU reference on WASM), against the production build and
 * the real base model and release generator: adapters generated from arith.jsonl and then from
 * quiz.jsonl -> with quiz.jsonl chosen, Evaluate offers "quiz (generated)" (not the first of the
 * list) and says why; with arith.jsonl, "arith (generated)" -> the same after a reload -> an adapter
 * chosen and run for quiz.jsonl is offered for it again ("last used"), also after a reload, while
 * arith.jsonl keeps its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, loadModelFrom, openApp, type AppPage } from './appPage';

const line = (prompt: string, response: string) => JSON.stringify({ prompt, response });
const ARITH = ['Compute 3 * 4.', 'Compute 5 + 6.', 'Compute 9 - 2.', 'Compute 8 / 2.', 'Compute 7 + 7.'].map((p, i) => line(p, ['12', '11', '7', '4', '14'][i]!));
const QUIZ = [
  line('Which planet is known as the red planet?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn', '[B]'),
  line('What do bees make?\nA: Honey\nB: Milk\nC: Silk\nD: Wool', '[A]'),
  line('Which of these is a mammal?\nA: Shark\nB: Trout\nC: Dolphin\nD: Octopus', '[C]'),
  line('How many legs does a spider have?\nA: Six\nB: Four\nC: Ten\nD: Eight', '[D]'),
];

async function addFile(page: Page, name: string, lines: string[]): Promise<void> {
  const count = await page.getByTestId('prompt-set-item').count();
  await page.getByTestId('tab-prompts').click();
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(`${lines.join('\n')}\n`) });
  await expect.poll(() => page.getByTestId('prompt-set-item').count(), { timeout: 30_000 }).toBe(count + 1);
}

async function chooseSet(page: Page, name: string): Promise<void> {
  await page.getByTestId('tab-prompts').click();
  await page.locator('.prompt-set-item__select', { hasText: name }).click();
  await expect.poll(() => page.getByTestId('prompt-set-name').textContent()).toBe(name);
}

async function generate(page: Page): Promise<void> {
  const panel = page.getByTestId('panel-generate');
  await page.getByTestId('tab-generate').click();
  await panel.getByTestId('generate-run').click();
  await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
}

/** The Evaluate tab's adapter for the set now chosen: the select's option and the reason line. */
async function offered(page: Page, setName: string, adapterCount: number): Promise<{ option: string; reason: string | null; note: string }> {
  await chooseSet(page, setName);
  await page.getByTestId('tab-evaluate').click();
  const panel = page.getByTestId('panel-evaluate');
  await expect.poll(() => panel.getByTestId('evaluate-adapter').locator('option').count(), { timeout: 60_000 }).toBe(adapterCount);
  const note = panel.getByTestId('evaluate-adapter-reason');
  return {
    option: (await panel.getByTestId('evaluate-adapter').locator('option:checked').textContent()) ?? '',
    reason: (await note.count()) > 0 ? await note.getAttribute('data-reason') : null,
    note: (await note.count()) > 0 ? ((await note.textContent()) ?? '') : '',
  };
}

describe('Evaluate offers the adapter of the chosen prompt set (WASM)', () => {
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    page = app.page;
  });
  afterAll(async () => app?.close());

  it('defaults to the adapter generated from (or last used with) the set, says which, and keeps it after a reload', async () => {
    await addFile(page, 'arith.jsonl', ARITH);
    await addFile(page, 'quiz.jsonl', QUIZ);
    await loadModelFrom(page, 'evaluate');
    await chooseSet(page, 'arith.jsonl');
    await generate(page);
    await chooseSet(page, 'quiz.jsonl');
    await generate(page);

    let quiz = await offered(page, 'quiz.jsonl', 2);
    expect(quiz.option).toContain('quiz (generated)');
    expect(quiz.reason).toBe('generated');
    expect(quiz.note).toMatch(/^Chosen: “quiz \(generated\)”, the adapter generated from quiz\.jsonl, /);
    await page.getByTestId('panel-evaluate').screenshot({ path: `${OUTPUT}/evaluate-adapter-default.png` });
    let arith = await offered(page, 'arith.jsonl', 2);
    expect(arith.option).toContain('arith (generated)');
    expect(arith.reason).toBe('generated');

    // After a reload (the sets and adapters come back, with new engine ids): the same.
    await page.reload();
    await loadModelFrom(page, 'evaluate');
    quiz = await offered(page, 'quiz.jsonl', 2);
    expect(quiz.option).toContain('quiz (generated)');
    expect(quiz.reason).toBe('generated');

    // Chosen and run for quiz.jsonl: arith's adapter is offered for quiz.jsonl from now on ("last used").
    const panel = page.getByTestId('panel-evaluate');
    const arithOption = panel.getByTestId('evaluate-adapter').locator('option', { hasText: 'arith (generated)' });
    await panel.getByTestId('evaluate-adapter').selectOption((await arithOption.getAttribute('value'))!);
    await panel.getByTestId('evaluate-count').fill('1');
    await panel.getByTestId('evaluate-run').click();
    await expect.poll(() => panel.getByTestId('evaluate-results').getAttribute('data-status'), { timeout: 120_000, interval: 250 }).toBe('done');
    expect(await panel.getByTestId('evaluate-results').locator('h3').textContent()).toContain('arith (generated)');
    quiz = await offered(page, 'quiz.jsonl', 2);
    expect(quiz.option).toContain('arith (generated)');
    expect(quiz.reason).toBe('last-used');
    expect(quiz.note).toMatch(/^Chosen: “arith \(generated\)”, the adapter you last used with quiz\.jsonl \(Generated from arith\.jsonl, /);
    arith = await offered(page, 'arith.jsonl', 2);
    expect(arith.option).toContain('arith (generated)');
    expect(arith.reason).toBe('generated');

    await page.reload();
    await loadModelFrom(page, 'evaluate');
    quiz = await offered(page, 'quiz.jsonl', 2);
    expect(quiz.option).toContain('arith (generated)');
    expect(quiz.reason).toBe('last-used');
    await page.screenshot({ path: `${OUTPUT}/evaluate-adapter-last-used.png`, fullPage: true });
    expect(app.pageErrors).toEqual([]);
  });
});
