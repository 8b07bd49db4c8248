/**
 * Examples mode in the app (issue 16), end to end in headless Chromium with WebGPU disabled (the
 * engine on WASM, the generator's CPU reference), against a production build served from a models
 * folder whose generator offers examples mode: the real base model (models/base) beside a random-weight
 * version-2 generator with an `examples` section (trainer/fixtures/random_release_v2.py
 * --examples-validation-rows 6; never shipped: the release generator gets one when it is retrained).
 *
 * A labelled headlines file (three labels, 26 rows) -> "Use the answers" offered and on by default,
 * saying how many other rows validate -> Generate: a 'gate' stage, the result card says examples mode,
 * the strength chosen and on how many rows -> Evaluate leaves out the 8 rows of the condition (and
 * lists them); the scored rows are none of them -> after a reload the saved adapter still excludes
 * them -> "Use the answers" off gives a prompts-mode adapter -> a file without answers, and one with
 * too few, have no option and say why.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { OUTPUT, dropFile, loadModelFrom, openApp, type AppPage } from './appPage';
import { startAppServer } from './server';
import { writeRandomV2Generator } from './randomGenerator';

const MODELS = 'build/e2e-models-examples';
const LABELS = ['World', 'Sports', 'Business'] as const;
const HEADLINES = [
  'Leaders meet in Geneva to discuss a ceasefire', 'Striker scores twice as United win the derby', 'Shares rise after the bank cuts interest rates',
  'Floods force thousands from their homes in the delta', 'Tennis champion reaches the final in straight sets', 'Carmaker recalls half a million vehicles',
  'Election results delayed in the capital', 'Olympic swimmer breaks the world record', 'Retail sales fall for the third month',
  'Peace talks resume after a week of fighting', 'Coach sacked after a run of six defeats', 'Oil prices climb as supply tightens',
  'President visits flood-hit region', 'Cyclist wins the mountain stage', 'Tech giant buys a chip maker for 4 billion',
  'Protesters gather outside parliament', 'Rugby side names a new captain', 'Airline reports record quarterly profit',
  'Earthquake shakes the northern coast', 'Golfer leads by three after the first round', 'Factory output grows faster than expected',
  'Ministers agree on a new trade treaty', 'Marathon runner sets a course record', 'Central bank holds rates steady',
  'Refugees cross the border as the conflict spreads', 'Goalkeeper signs a five-year contract',
];
const ROWS = HEADLINES.map((prompt, i) => ({ prompt, response: `[${LABELS[i % 3]}]` }));

async function selectSet(page: Page, name: string): Promise<void> {
  await page.getByTestId('tab-prompts').click();
  await page.getByTestId('prompt-set-item').filter({ hasText: name }).locator('.prompt-set-item__select').click();
}

describe('examples mode in the app (WASM, a generator with examples)', () => {
  let server: { url: string; close: () => Promise<void> };
  let app: AppPage;
  let page: Page;

  beforeAll(async () => {
    rmSync(MODELS, { recursive: true, force: true });
    mkdirSync(MODELS, { recursive: true });
    symlinkSync(resolve('models/base'), `${MODELS}/base`, 'dir');
    writeRandomV2Generator(`${MODELS}/generator`, ['--examples-validation-rows', '6']);
    server = await startAppServer({ modelsDir: MODELS });
    app = await openApp({ webgpu: false, url: server.url });
    ({ page } = app);
  }, 300_000);
  afterAll(async () => {
    await app?.close();
    await server?.close();
  });

  it('a labelled file: "Use the answers" on by default -> examples mode on the result card -> Evaluate leaves the condition rows out, also after a reload', async () => {
    await dropFile(page, 'headlines.jsonl', ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('26');
    await page.getByTestId('tab-generate').click();
    const panel = page.getByTestId('panel-generate');
    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');

    // offered and on by default, with what it will do
    const toggle = panel.getByTestId('generate-use-answers');
    await expect.poll(() => toggle.count(), { timeout: 30_000 }).toBe(1);
    expect(await toggle.isChecked()).toBe(true);
    const explain = await panel.getByTestId('generate-answers-explain').textContent();
    expect(explain).toContain('8 of your prompts with their answers');
    expect(explain).toContain('6 other answered rows (at most 6)');
    expect(await panel.getByTestId('generate-answers').textContent()).toContain('26 answered rows');
    const shown = await panel.getByTestId('generate-condition-rows').locator('li').allTextContents();
    expect(shown).toHaveLength(8);
    const conditionPrompts = shown.map((t) => t.split(' → ')[0]!.trim());
    for (const p of conditionPrompts) expect(HEADLINES).toContain(p);
    await page.screenshot({ path: `${OUTPUT}/examples-mode-offered.png`, fullPage: true });

    await panel.getByTestId('generate-run').click();
    const stages = panel.getByTestId('stage');
    await expect.poll(() => page.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
    expect(await stages.evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')))).toEqual(['encode', 'block-0', 'detokenize', 'gate', 'apply']);
    expect(await stages.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(await panel.locator('[data-stage="gate"]').textContent()).toContain('Validate on your other answers');
    const mode = panel.getByTestId('generated-mode');
    expect(await mode.getAttribute('data-mode')).toBe('examples');
    expect(await mode.getAttribute('data-validation-rows')).toBe('6');
    expect(await mode.getAttribute('data-validation-source')).toBe('held-out');
    const strength = Number(await mode.getAttribute('data-strength'));
    expect([0, 0.25, 0.5, 0.75, 1]).toContain(strength);
    const card = await mode.textContent();
    expect(card).toContain('Made in examples mode');
    expect(card).toContain('8 of your prompts with their answers');
    expect(card).toContain('6 other answered rows');
    expect(card).toContain(strength === 0 ? 'Applied at 0% strength (the base model unchanged)' : 'Applied at ');
    expect(card).toContain(strength === 1 ? 'full strength (100%)' : `${Math.round(strength * 100)}% strength`);
    expect(await panel.getByTestId('generated-mode-table').locator('tbody tr').count()).toBe(5);
    expect(await panel.getByTestId('generated-gate').count()).toBe(0); // the kNN gate line is prompts mode's
    await page.screenshot({ path: `${OUTPUT}/examples-mode-result.png`, fullPage: true });

    // Evaluate: the 8 condition rows are left out and listed; the scored rows are none of them
    await page.getByTestId('tab-evaluate').click();
    const ev = page.getByTestId('panel-evaluate');
    const excluded = ev.getByTestId('evaluate-excluded');
    await expect.poll(() => excluded.getAttribute('data-excluded'), { timeout: 30_000 }).toBe('8');
    expect(await excluded.textContent()).toContain('made in examples mode from 8 prompts with their answers');
    expect(await excluded.textContent()).toContain('18 rows are left to score');
    // the 6 validation rows stay scorable, and the note says they chose the strength
    expect(await excluded.getAttribute('data-validated')).toBe('6');
    expect(await excluded.textContent()).toContain('6 of them chose its strength');
    const listed = await ev.getByTestId('evaluate-excluded-list').locator('li').allTextContents();
    expect(listed.sort()).toEqual([...conditionPrompts].sort());
    expect(await ev.getByTestId('evaluate-count').getAttribute('max')).toBe('18');
    await ev.getByTestId('evaluate-count').fill('3');
    await ev.getByTestId('evaluate-run').click();
    const results = ev.getByTestId('evaluate-results');
    await expect.poll(() => results.getAttribute('data-status').catch(() => null), { timeout: 180_000, interval: 250 }).toBe('done');
    expect(await ev.getByTestId('evaluate-results-excluded').getAttribute('data-excluded')).toBe('8');
    const scored = await ev.getByTestId('eval-row').evaluateAll((rows) => rows.map((r) => r.querySelector('td')?.textContent ?? ''));
    expect(scored).toHaveLength(3);
    for (const s of scored) for (const p of conditionPrompts) expect(s.includes(p)).toBe(false);
    await page.screenshot({ path: `${OUTPUT}/examples-mode-evaluate.png`, fullPage: true });

    // the Adapters tab says how it was made
    await page.getByTestId('tab-adapters').click();
    expect(await page.getByTestId('adapter-row').first().textContent()).toContain('Generated from headlines.jsonl with its answers (examples mode)');

    // the saved adapter keeps its mode and condition rows across a reload
    await page.reload();
    await loadModelFrom(page, 'evaluate'); // the kept model may start loading by itself after the reload
    await expect.poll(() => ev.getByTestId('evaluate-excluded').getAttribute('data-excluded').catch(() => null), { timeout: 240_000, interval: 250 }).toBe('8');
  }, 600_000);

  it('"Use the answers" off: prompts mode; a file without answers, or with too few, has no option and says why', async () => {
    await page.getByTestId('tab-generate').click();
    const panel = page.getByTestId('panel-generate');
    const toggle = panel.getByTestId('generate-use-answers');
    await expect.poll(() => toggle.count(), { timeout: 30_000 }).toBe(1);
    await toggle.uncheck();
    expect(await panel.getByTestId('generate-answers').textContent()).toContain('Off: the generator reads 8 prompts alone');
    await panel.getByTestId('generate-run').click();
    await expect.poll(() => page.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('done');
    expect(await panel.getByTestId('generated-mode').getAttribute('data-mode')).toBe('prompts');
    expect(await panel.getByTestId('stage').evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')))).not.toContain('gate');

    await dropFile(page, 'plain-headlines.txt', HEADLINES.slice(0, 10).join('\n') + '\n');
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('10');
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-use-answers').count()).toBe(0);
    expect(await panel.getByTestId('generate-answers-unavailable').textContent()).toContain('this set has no answers');
    await page.screenshot({ path: `${OUTPUT}/examples-mode-no-answers.png`, fullPage: true });

    await dropFile(page, 'five.jsonl', ROWS.slice(0, 5).map((r) => JSON.stringify(r)).join('\n') + '\n');
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('5');
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-use-answers').count()).toBe(0);
    expect(await panel.getByTestId('generate-answers-unavailable').textContent()).toContain('the generator needs 8 answered rows and this set has 5');

    // back to the labelled set: offered again, with the choice made for it (off) kept
    await selectSet(page, 'headlines.jsonl');
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-use-answers').isChecked()).toBe(false);
  }, 600_000);
});
