/**
 * The Node side of the engine test page (e2e/pages/engine.html, whose script puts its functions on
 * `window.engineTest`): open the page, call a function of it with typed arguments, unwrap its
 * failures. Shared by the e2e files that drive the engine without the app's UI.
 */
import type { Browser, Page } from 'playwright-core';

/** What the page's functions return instead of throwing (an engine error's code and message). */
export interface Failure { failed: true; code: string; message: string }

/** The value, or an Error carrying the failure's code and message. */
export function ok<T>(value: T | Failure): T {
  if (typeof value === 'object' && value !== null && 'failed' in value) throw new Error(`${value.code}: ${value.message}`);
  return value;
}

/** A new tab of `browser` on the test page at `url`, ready (page errors printed). */
export async function openEnginePage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

/** Any function (a parameter of type never accepts every argument list); the caller's Api gives the real ones. */
type Functions = { [name: string]: (...args: never[]) => unknown };

/** `call(page, name, ...args)` for the page functions an e2e file declares in `Api`. */
export function engineCaller<Api extends Functions>() {
  return <K extends keyof Api & string>(page: Page, name: K, ...args: Parameters<Api[K]>): ReturnType<Api[K]> =>
    page.evaluate(
      ([n, a]) => (window as unknown as { engineTest: Record<string, (...x: unknown[]) => unknown> }).engineTest[n]!(...(a as unknown[])),
      [name, args] as const,
    ) as ReturnType<Api[K]>;
}
