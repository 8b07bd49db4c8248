/**
 * Node side of the engine test page (e2e/pages/engine.html): a fresh headless Chromium with the page
 * open and ready, and typed calls into its prompts -> adapter helpers (e2e/pages/adapterRuns.ts).
 * Used by e2e/generatorCpu.e2e.ts and scripts/bench-adapter.ts.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser';
import type * as AdapterRuns from './adapterRuns';

export async function openEnginePage(url: string, webgpu: boolean, log: (line: string) => void = console.log): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium({ webgpu });
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  return { browser, page };
}

type Helpers = typeof AdapterRuns;
type Helper = keyof Helpers;

/** Calls `engineTest.adapters[name](...args)` on the page (arguments and results are plain data). */
export function callAdapters<K extends Helper>(page: Page, name: K, ...args: Parameters<Helpers[K]>): Promise<Awaited<ReturnType<Helpers[K]>>> {
  return page.evaluate(
    ([n, a]) => (window as unknown as { engineTest: { adapters: Record<string, (...x: unknown[]) => unknown> } }).engineTest.adapters[n]!(...a),
    [name, args as unknown[]] as const,
  ) as Promise<Awaited<ReturnType<Helpers[K]>>>;
}
