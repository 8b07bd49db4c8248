/**
 * The model cache (src/model/modelCache.ts) on its own in Chromium, with the server's answers made
 * up by the test (Playwright routes), so every case is exact:
 *
 * - a file with a hash is downloaded once, then read from Cache Storage (no request);
 * - a new version of the file (another sha256 in the page's manifest) is a miss: downloaded, kept,
 *   and the old copy deleted;
 * - a download whose bytes do not match the manifest is refused with a message saying to reload;
 * - a file without a hash is never cached.
 *
 * The whole app's second visit and a damaged copy: e2e/offline.e2e.ts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { buildPages, servePages } from './pages/serve';

let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let page: Page;
let served = Buffer.from('');
let requests = 0;

type Result = { source: string; note: string | null; bytes: number; networkBytes: number; keptBytes: number; first: number } | { failed: true; code: string; message: string };

function entry(bytes: Buffer) {
  return { path: 'probe/weights.bin', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), kind: 'weights' as const };
}

async function fetchProbe(e: ReturnType<typeof entry> | null): Promise<Result> {
  return page.evaluate(([u, x]) => (window as unknown as { engineTest: { cachedFetch(a: string, b: unknown): Promise<Result> } }).engineTest.cachedFetch(u, x),
    [new URL('/probe/weights.bin', server.url).href, e] as const);
}

beforeAll(async () => {
  await buildPages();
  server = await servePages();
  browser = await launchChromium({ webgpu: false });
  page = await browser.newPage();
  await page.route('**/probe/weights.bin', async (route) => {
    requests += 1;
    await route.fulfill({ status: 200, body: served, contentType: 'application/octet-stream' });
  });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('model cache (Cache Storage with sha256 keys)', () => {
  const v1 = Buffer.alloc(4096, 1);
  const v2 = Buffer.alloc(5000, 2);

  it('downloads a file once, then reads it from the cache without a request', async () => {
    served = v1;
    expect(await fetchProbe(entry(v1))).toEqual({ source: 'network', note: null, bytes: 4096, networkBytes: 4096, keptBytes: 4096, first: 1 });
    const before = requests;
    expect(await fetchProbe(entry(v1))).toEqual({ source: 'cache', note: null, bytes: 4096, networkBytes: 0, keptBytes: 0, first: 1 });
    expect(requests).toBe(before);
  });

  it('a changed hash is a miss: the new version is downloaded and kept, the old copy deleted', async () => {
    served = v2;
    expect(await fetchProbe(entry(v2))).toMatchObject({ source: 'network', bytes: 5000, first: 2 });
    const keys = await page.evaluate(() => (window as unknown as { engineTest: { cacheKeys(): Promise<string[]> } }).engineTest.cacheKeys());
    expect(keys.filter((k) => k.includes('/probe/weights.bin'))).toEqual([`${new URL('/probe/weights.bin', server.url).href}?sha256=${entry(v2).sha256}`]);
    expect(await fetchProbe(entry(v2))).toMatchObject({ source: 'cache', first: 2 });
  });

  it('a download that does not match the page\'s hash is refused, saying to reload', async () => {
    served = v1;
    const r = await fetchProbe({ ...entry(v2), sha256: 'ab'.repeat(32) });
    expect(r).toMatchObject({ failed: true, code: 'model-load' });
    expect((r as { message: string }).message).toMatch(/built for 5000 bytes with sha256 abababababab.*reload it/);
  });

  it('a file without a hash is fetched every time and never cached', async () => {
    served = v1;
    const before = requests;
    expect(await fetchProbe(null)).toMatchObject({ source: 'network', bytes: 4096, keptBytes: 0 });
    expect(await fetchProbe(null)).toMatchObject({ source: 'network', bytes: 4096 });
    expect(requests).toBe(before + 2);
  });
});
