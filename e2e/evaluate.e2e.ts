/**
 * The Evaluate tab end to end, in headless Chromium with WebGPU disabled (the engine on WASM: far
 * faster than SwiftShader), against the production build and the real base model with the fixture
 * adapter (test/fixtures/generation/adapter, zipped here): a dropped .jsonl of multiple-choice items
 * with bracketed responses -> scoring kind shown -> load the model -> no adapter message -> import
 * the adapter -> N = 3 -> Run -> progress -> table and chart whose accuracies equal the table's marks
 * -> results kept across tabs -> Stop mid-run keeps the partial results -> a set without responses
 * shows which formats carry them -> narrow layout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { OUTPUT, dropFile, fixtureAdapterZip, openApp, type AppPage } from './appPage';



/** Made-up multiple-choice items in the trainer's task shape; one has a system prompt. */
const ITEMS = [
  { prompt: 'Which planet is known as the red planet?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn', response: '[B]' },
  { prompt: 'What do bees make?\nA: Honey\nB: Milk\nC: Silk\nD: Wool', response: '[A]', system: 'Answer with the letter of the right option in brackets, like [A].' },
  { prompt: 'Which of these is a mammal?\nA: Shark\nB: Trout\nC: Dolphin\nD: Octopus', response: '[C]' },
  { prompt: 'How many legs does a spider have?\nA: Six\nB: Four\nC: Ten\nD: Eight', response: '[D]' },
];

/** The ok marks of one side, from the table. */
async function marks(panel: Locator, side: 'base' | 'adapted'): Promise<string[]> {
  return panel.getByTestId('eval-row').locator(`[data-testid="eval-${side}"]`).evaluateAll((cells) => cells.map((c) => c.getAttribute('data-ok') ?? ''));
}

describe('Evaluate (WASM)', () => {
  let app: AppPage;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    ({ page, pageErrors } = app);
  });
  afterAll(async () => app?.close());

  it('scores base vs adapted on N items with progress, a table and a chart; Stop keeps partial results; a set without responses is explained', async () => {
    const panel = page.getByTestId('panel-evaluate');
    await page.getByTestId('tab-evaluate').click();
    expect(await panel.getByTestId('evaluate-no-set').isVisible()).toBe(true);

    // A dropped JSONL with responses: the Evaluate tab reads its kind.
    await dropFile(page, 'quiz.jsonl', ITEMS.map((item) => JSON.stringify(item)).join('\n') + '\n');
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('4');
    await page.getByTestId('tab-evaluate').click();
    expect(await panel.getByTestId('evaluate-set-info').textContent()).toContain('4 of 4 prompts have a response');
    expect(await panel.getByTestId('evaluate-kind').getAttribute('data-kind')).toBe('mcq');
    expect(await panel.getByTestId('evaluate-kind').textContent()).toContain('Multiple choice');
    expect(await panel.getByTestId('evaluate-run').isDisabled()).toBe(true);

    // Load the model from this tab; no adapter yet: say where to get one.
    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
    await expect.poll(() => panel.getByTestId('evaluate-no-adapter').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await panel.getByTestId('evaluate-no-adapter').textContent()).toMatch(/Generate.*Adapters/);
    expect(await panel.getByTestId('evaluate-run').isDisabled()).toBe(true);
    await page.screenshot({ path: `${OUTPUT}/evaluate-no-adapter.png`, fullPage: true });

    // Import the fixture adapter on the Adapters tab.
    await page.getByTestId('tab-adapters').click();
    await page.getByTestId('panel-adapters').getByTestId('adapter-file-input').setInputFiles({ name: 'fixture.zip', mimeType: 'application/zip', buffer: fixtureAdapterZip() });
    await expect.poll(() => page.getByTestId('adapter-row').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('tab-evaluate').click();
    expect(await panel.getByTestId('evaluate-adapter').locator('option:checked').textContent()).toContain('fixture');

    // N = 3, default token budget of a choice set (8), Run.
    expect(await panel.getByTestId('evaluate-max-tokens').inputValue()).toBe('8');
    await panel.getByTestId('evaluate-count').fill('3');
    await panel.getByTestId('evaluate-run').click();
    const results = panel.getByTestId('evaluate-results');
    await expect.poll(() => results.isVisible(), { timeout: 10_000 }).toBe(true);
    // Progress: the base side moves before the run ends; both reach 3 of 3.
    const baseProgress = panel.getByTestId('evaluate-progress-base');
    const seen = new Set<string>();
    await expect.poll(async () => {
      seen.add(`${await baseProgress.getAttribute('data-done')}/${await results.getAttribute('data-status')}`);
      return results.getAttribute('data-status');
    }, { timeout: 180_000, interval: 50 }).toBe('done');
    expect([...seen].some((s) => s.endsWith('/running'))).toBe(true);
    expect(await baseProgress.getAttribute('data-done')).toBe('3');
    expect(await baseProgress.getAttribute('data-total')).toBe('3');
    expect(await panel.getByTestId('evaluate-progress-adapted').getAttribute('data-done')).toBe('3');
    expect(await panel.getByTestId('eval-row').count()).toBe(3);

    // The chart's and the summary's numbers are the table's ok marks.
    const baseMarks = await marks(panel, 'base');
    const adaptedMarks = await marks(panel, 'adapted');
    console.log('answers', await panel.getByTestId('eval-table').innerText());
    for (const m of [...baseMarks, ...adaptedMarks]) expect(['true', 'false']).toContain(m);
    const baseRight = baseMarks.filter((m) => m === 'true').length;
    const adaptedRight = adaptedMarks.filter((m) => m === 'true').length;
    const baseBar = panel.getByTestId('accuracy-bar-base');
    const adaptedBar = panel.getByTestId('accuracy-bar-adapted');
    expect(await baseBar.getAttribute('data-correct')).toBe(String(baseRight));
    expect(await adaptedBar.getAttribute('data-correct')).toBe(String(adaptedRight));
    expect(await baseBar.getAttribute('data-n')).toBe('3');
    expect(Number(await adaptedBar.getAttribute('data-accuracy'))).toBeCloseTo(adaptedRight / 3, 10);
    expect(await baseBar.textContent()).toContain(`${((baseRight / 3) * 100).toFixed(1)}%`);
    expect(await adaptedBar.textContent()).toContain(`${((adaptedRight / 3) * 100).toFixed(1)}%`);
    expect(await panel.getByTestId('evaluate-accuracy-base').textContent()).toContain(`${baseRight} of 3 right`);
    expect(await panel.getByTestId('evaluate-accuracy-adapted').textContent()).toContain(`${adaptedRight} of 3 right`);
    expect(await panel.getByTestId('accuracy-chart').locator('svg').getAttribute('role')).toBe('img');
    expect(await panel.getByTestId('accuracy-chart').locator('svg').getAttribute('aria-label')).toContain(`${baseRight} of 3 right`);
    expect(await panel.getByTestId('evaluate-uncertainty').textContent()).toContain('n = 3');
    // Every answer names the rule it was read with; an answer with none found is never right.
    const cells = await panel.locator('td.eval-answer').evaluateAll((tds) => tds.map((td) => ({
      rule: td.getAttribute('data-rule'), ok: td.getAttribute('data-ok'), text: td.querySelector('.eval-answer__rule')?.textContent ?? '',
    })));
    expect(cells).toHaveLength(6);
    for (const c of cells) {
      expect(['bracket', 'first-word', 'none']).toContain(c.rule);
      if (c.rule === 'none') expect(c).toMatchObject({ ok: 'false', text: expect.stringContaining('No answer found') });
      else expect(c.text).toMatch(/Read as \[[A-D]\] · (first bracketed candidate|bare first word)/);
    }
    await page.screenshot({ path: `${OUTPUT}/evaluate-results.png`, fullPage: true });

    // The results stay while other tabs are used.
    await page.getByTestId('tab-compare').click();
    await page.getByTestId('tab-evaluate').click();
    expect(await panel.getByTestId('eval-row').count()).toBe(3);
    expect(await results.getAttribute('data-status')).toBe('done');

    // Stop mid-run: long answers (400 tokens) on all 4 items; Stop once the first item is scored.
    await panel.getByTestId('evaluate-count').fill('4');
    await panel.getByTestId('evaluate-max-tokens').fill('400');
    await panel.getByTestId('evaluate-run').click();
    await expect.poll(() => panel.getByTestId('evaluate-progress-adapted').getAttribute('data-done'), { timeout: 180_000, interval: 50 }).not.toBe('0');
    await panel.getByTestId('evaluate-stop').click();
    await expect.poll(() => results.getAttribute('data-status'), { timeout: 60_000, interval: 100 }).toBe('stopped');
    const complete = await panel.locator('[data-testid="eval-row"][data-complete="true"]').count();
    console.log('stopped with complete items:', complete);
    expect(complete).toBeGreaterThanOrEqual(1);
    expect(complete).toBeLessThan(4);
    expect(await panel.getByTestId('eval-row').count()).toBe(4);
    expect(await panel.getByTestId('evaluate-status').textContent()).toContain(`Stopped: ${complete} of 4`);
    expect(await panel.getByTestId('accuracy-bar-base').getAttribute('data-n')).toBe(String(complete));
    expect(await panel.getByTestId('evaluate-run').isDisabled()).toBe(false);
    await page.screenshot({ path: `${OUTPUT}/evaluate-stopped.png`, fullPage: true });

    // An engine error is readable and leaves the app usable: Compare holds the engine, so Run is refused as busy.
    await page.getByTestId('tab-compare').click();
    const compare = page.getByTestId('panel-compare');
    await compare.getByTestId('compare-prompt').fill(Array.from({ length: 20 }, (_, i) => i + 1).join(', ') + ',');
    await compare.getByTestId('compare-max-tokens').fill('400');
    await compare.getByTestId('compare-chat').uncheck();
    await compare.getByTestId('compare-run').click();
    await expect.poll(() => compare.getByTestId('answer-base-text').textContent(), { timeout: 60_000, interval: 100 }).not.toBe('');
    await page.getByTestId('tab-evaluate').click();
    await panel.getByTestId('evaluate-count').fill('1');
    await panel.getByTestId('evaluate-run').click();
    const engineError = panel.getByTestId('evaluate-start-error');
    await expect.poll(() => engineError.count(), { timeout: 30_000, interval: 100 }).toBe(1);
    expect(await engineError.getAttribute('role')).toBe('alert');
    expect(await engineError.getAttribute('data-code')).toBe('busy');
    expect(await engineError.textContent()).toContain('already running');
    expect(await panel.getByTestId('evaluate-run').isDisabled()).toBe(false);
    // The refused run did not replace the stopped run's results.
    expect(await results.getAttribute('data-status')).toBe('stopped');
    expect(await panel.locator('[data-testid="eval-row"][data-complete="true"]').count()).toBe(complete);
    await page.screenshot({ path: `${OUTPUT}/evaluate-engine-error.png`, fullPage: true });
    await page.getByTestId('tab-compare').click();
    await compare.getByTestId('compare-stop').click();
    await expect.poll(() => compare.getByTestId('answer-base').getAttribute('data-state'), { timeout: 30_000, interval: 100 }).toBe('stopped');
    await page.getByTestId('tab-evaluate').click();

    // A set without responses: the message says which formats carry them.
    await dropFile(page, 'questions.txt', 'What is the capital of France?\nName a prime number.\n');
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('2');
    await page.getByTestId('tab-evaluate').click();
    const noResponses = panel.getByTestId('evaluate-no-responses');
    expect(await noResponses.isVisible()).toBe(true);
    const message = (await noResponses.textContent()) ?? '';
    expect(message).toContain('questions.txt');
    expect(message).toContain('no responses');
    expect(message).toMatch(/JSONL/);
    expect(message).toMatch(/CSV/);
    // The earlier results are still there, labelled with their own set.
    expect(await results.textContent()).toContain('quiz.jsonl');
    await page.screenshot({ path: `${OUTPUT}/evaluate-no-responses.png`, fullPage: true });

    // Narrow window: nothing scrolls sideways, the table stacks.
    await page.setViewportSize({ width: 420, height: 900 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await results.screenshot({ path: `${OUTPUT}/evaluate-narrow.png` });

    expect(pageErrors).toEqual([]);
  });
});
