/**
 * The download size the page shows is what the network carried (headless Chromium, production
 * build served like a static host: brotli copies, e2e/server.ts; WebAssembly backend):
 *
 * - a counting proxy in front of the app adds up the response bodies the server sent, per kind
 *   (model files, WebAssembly, everything else), page and workers alike;
 * - after "Load model" the page's figure (total and parts) equals that count, and its text gives
 *   the total in SI megabytes (10^6 bytes), as network panels do;
 * - a reload (the model loads by itself from this browser's storage) shows what that visit
 *   downloaded, again equal to the count, with no model file;
 * - after "Clear downloaded models", the next visit says beforehand what the last full download
 *   measured.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { OUTPUT } from './appPage';
import { downloadKindOf, type DownloadKind } from '../src/model/downloadTally';

interface Counted { path: string; status: number; bytes: number }

/** A proxy to `target` that records the body bytes of every response it passes on. */
async function countingProxy(target: string): Promise<{ url: string; ledger: Counted[]; server: Server }> {
  const upstream = new URL(target);
  const ledger: Counted[] = [];
  const server = createServer((req, res) => {
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      let bytes = 0;
      reply.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
      });
      reply.on('end', () => ledger.push({ path: req.url ?? '', status: reply.statusCode ?? 0, bytes }));
      reply.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, upstream.hostname, resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${upstream.protocol}//${upstream.hostname}:${port}${upstream.pathname}`, ledger, server };
}

function byKind(entries: readonly Counted[]): Record<DownloadKind, number> & { total: number } {
  const out = { model: 0, wasm: 0, page: 0, total: 0 };
  for (const e of entries) {
    out[downloadKindOf(e.path)] += e.bytes;
    out.total += e.bytes;
  }
  return out;
}

async function shown(page: Page): Promise<{ text: string } & Record<DownloadKind | 'total', number>> {
  const line = page.getByTestId('panel-adapters').getByTestId('model-download-size');
  await expect.poll(() => line.count(), { timeout: 30_000 }).toBe(1);
  const attr = async (name: string) => Number(await line.getAttribute(name));
  return { text: (await line.textContent()) ?? '', total: await attr('data-bytes'), model: await attr('data-model'), wasm: await attr('data-wasm'), page: await attr('data-page') };
}

const status = (page: Page) => page.getByTestId('panel-adapters').getByTestId('model-loader').getAttribute('data-status');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe('the download size shown is the one the network carried', () => {
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let browser: Browser;
  let page: Page;
  let firstTotal = 0;

  beforeAll(async () => {
    proxy = await countingProxy(inject('appUrl'));
    browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => proxy?.server.close(resolve));
  });

  it('first visit: the total and its parts equal the bytes the server sent, in SI MB', async () => {
    await page.goto(proxy.url);
    await page.getByTestId('tab-adapters').click();
    await page.getByTestId('panel-adapters').getByTestId('load-model').click();
    await expect.poll(() => status(page), { timeout: 300_000, interval: 250 }).toBe('ready');
    const sent = byKind(proxy.ledger);
    const figure = await shown(page);
    expect({ total: figure.total, model: figure.model, wasm: figure.wasm, page: figure.page }).toEqual(sent);
    expect(sent.model).toBeGreaterThan(40e6); // the fp16 weights, compressed
    expect(sent.wasm).toBeGreaterThan(1e6); // onnxruntime-web's WebAssembly
    expect(figure.text).toContain(`This page has downloaded ${mb(sent.total)} so far`);
    expect(figure.text).toContain(`${mb(sent.model)} of model files`);
    expect(figure.text).toContain('of onnxruntime WebAssembly');
    firstTotal = sent.total;
    await page.screenshot({ path: `${OUTPUT}/download-size-first-visit.png` });
  }, 360_000);

  it('reload: the model loads from this browser, and the figure is this visit\'s count, with no model file', async () => {
    proxy.ledger.length = 0;
    await page.reload();
    await page.getByTestId('tab-adapters').click();
    await expect.poll(() => status(page), { timeout: 300_000, interval: 250 }).toBe('ready');
    const sent = byKind(proxy.ledger);
    const figure = await shown(page);
    expect(sent.model).toBe(0);
    expect({ total: figure.total, model: figure.model, wasm: figure.wasm, page: figure.page }).toEqual(sent);
  }, 360_000);

  it('after clearing the downloaded models, the next visit says what the last full download measured', async () => {
    await page.getByTestId('panel-adapters').getByTestId('clear-models').click();
    await expect.poll(() => page.getByTestId('panel-adapters').getByTestId('models-cleared').count(), { timeout: 30_000 }).toBe(1);
    await page.reload();
    await page.getByTestId('tab-adapters').click();
    expect(await status(page)).toBe('idle');
    expect(await page.getByTestId('panel-adapters').getByTestId('model-size-note').textContent())
      .toContain(`the last time this browser downloaded them, the page downloaded ${mb(firstTotal)} in all`);
  });
});
