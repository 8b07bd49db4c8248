/**
 * Compare under message races (issue 17, point 1), in headless Chromium with WebGPU disabled (the
 * engine on WASM) against the production build and the real base model with the fixture adapter.
 *
 * The engine streams each token to the page through a `Comlink.proxy` callback, which travels on its
 * own MessagePort, while the finished result comes back on the worker's port: the two are not
 * ordered with respect to each other, so late token messages can arrive after the result. This file
 * makes that happen on purpose: an init script (e2e/streamRaces.ts) holds every message that arrives
 * on a page-side MessagePort for a random 0-120 ms, so token events arrive late, out of order and
 * after the result, and it records the wire (each result's ids, each callback's token events). Compare
 * runs many times on several prompts; after every run the text on the page must equal the decoded
 * ids of that run's result (decoded here, in Node, with the committed tokenizer), every text shown
 * while it streamed must be a prefix of it, and the token events' pieces in index order must add up
 * to it (the engine's streaming detokenizer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { OUTPUT, fixtureAdapterZip, loadModelFrom, openApp, type AppPage } from './appPage';
import { loadBaseTokenizer } from '../test/setup/baseTokenizer';
import { installStreamRaces, readWire, type WireRecord } from './streamRaces';

const PROMPTS = [
  'Classify the feeling in this sentence as [joy] or [sadness]: "I lost my keys and missed the bus."',
  'What is the capital of Kenya? Answer in one word.',
  'Add 4 and 5. The answer is',
  'Name three colours of the rainbow.',
];
const RUNS = 12;
const MAX_TOKENS = 14;

/** Starts recording every text the answer shows (without the cursor) until the next call. */
async function watchAnswers(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = { base: [], adapted: [] };
    (window as unknown as { __shown: typeof seen }).__shown = seen;
    for (const side of ['base', 'adapted'] as const) {
      const pre = document.querySelector(`[data-testid="panel-compare"] [data-testid="answer-${side}-text"]`)!;
      const record = () => seen[side]!.push((pre.textContent ?? '').replace('▍', ''));
      new MutationObserver(record).observe(pre, { childList: true, subtree: true, characterData: true });
    }
  });
}

describe('Compare with token messages delayed and reordered (WASM)', () => {
  let app: AppPage;
  let page: Page;
  let tokenizer: PreTrainedTokenizer;

  beforeAll(async () => {
    tokenizer = await loadBaseTokenizer();
    app = await openApp({ webgpu: false });
    page = app.page;
    await installStreamRaces(app.context, { maxDelayMs: 120, seed: 17 });
    await page.reload();
  });
  afterAll(async () => app?.close());

  it('shows exactly the decoded output of every run, however the messages interleave', async () => {
    await loadModelFrom(page, 'adapters');
    const adapters = page.getByTestId('panel-adapters');
    await adapters.getByTestId('adapter-file-input').setInputFiles({ name: 'fixture.zip', mimeType: 'application/zip', buffer: fixtureAdapterZip() });
    await expect.poll(() => page.getByTestId('adapter-row').count(), { timeout: 60_000 }).toBe(1);
    const adapterId = (await page.getByTestId('adapter-row').first().getAttribute('data-adapter-id'))!;

    await page.getByTestId('tab-compare').click();
    const compare = page.getByTestId('panel-compare');
    await compare.getByTestId('compare-adapter').selectOption(adapterId);
    await compare.getByTestId('compare-max-tokens').fill(String(MAX_TOKENS));

    const mismatches: string[] = [];
    let lateTokens = 0;
    for (let run = 0; run < RUNS; run++) {
      const prompt = PROMPTS[run % PROMPTS.length]!;
      await compare.getByTestId('compare-prompt').fill(prompt);
      const before = (await readWire(page)).results.length;
      await watchAnswers(page);
      await compare.getByTestId('compare-run').click();
      await expect.poll(() => compare.getByTestId('answer-adapted').getAttribute('data-state'), { timeout: 120_000, interval: 50 }).toBe('done');
      expect(await compare.getByTestId('answer-base').getAttribute('data-state')).toBe('done');
      // Let every held token message arrive (the longest hold is 120 ms), as the person keeps looking.
      await page.waitForTimeout(400);

      const wire = await readWire(page);
      const results = wire.results.slice(before);
      expect(results.map((r) => r.adapter)).toEqual([null, adapterId]);
      const shownDuring = await page.evaluate(() => (window as unknown as { __shown: Record<string, string[]> }).__shown);
      for (const [offset, side] of (['base', 'adapted'] as const).entries()) {
        const result = results[offset]!;
        const expected = tokenizer.decode(result.ids, { skip_special_tokens: true });
        expect(result.text).toBe(expected);
        const shown = (await compare.getByTestId(`answer-${side}-text`).textContent()) ?? '';
        if (shown !== expected) mismatches.push(`run ${run} ${side}: shown ${JSON.stringify(shown)}, decoded ${JSON.stringify(expected)}`);
        for (const text of shownDuring[side]!) {
          if (!expected.startsWith(text)) mismatches.push(`run ${run} ${side}: while streaming showed ${JSON.stringify(text)}, not a prefix of ${JSON.stringify(expected)}`);
        }
        // The engine's streaming detokenizer: the pieces in index order are the decoded text.
        const events = tokenEventsOf(wire.tokens, before + offset);
        expect(events.map((t) => t.id)).toEqual(result.ids);
        expect(events.map((t) => t.text).join('')).toBe(expected);
        lateTokens += events.filter((t) => t.deliveredAt > result.deliveredAt).length;
      }
    }
    await page.screenshot({ path: `${OUTPUT}/compare-stream-races.png`, fullPage: true });
    // The races did happen: some token events reached the page after their run's result.
    expect(lateTokens).toBeGreaterThan(0);
    expect(mismatches).toEqual([]);
    expect(app.pageErrors).toEqual([]);
  });
});

/** The token events of the k-th generation since the page loaded: each call makes one callback port, in call order. */
function tokenEventsOf(tokens: WireRecord['tokens'], k: number): WireRecord['tokens'] {
  const ports = [...new Set(tokens.map((t) => t.port))].sort((a, b) => a - b);
  return tokens.filter((t) => t.port === ports[k]).sort((a, b) => a.index - b.index);
}
