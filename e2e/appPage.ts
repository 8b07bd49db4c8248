/**
 * What the app's e2e files share: a fresh Chromium with the app open (page errors collected), the
 * fixture PEFT adapter as a zip, and the tensor names of a safetensors header.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { expect, inject } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { zipSync } from 'fflate';
import { launchChromium } from './browser';

export const OUTPUT = 'e2e/output';
export const FIXTURE_ADAPTER = 'test/fixtures/generation/adapter';

export interface AppPage {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page, in order. */
  pageErrors: string[];
  close: () => Promise<void>;
}

export interface OpenAppOptions {
  /** false: WebGPU switched off (the engine on WASM, much faster on this CPU-only machine). */
  webgpu: boolean;
  acceptDownloads?: boolean;
  width?: number;
  /** Another build of the app (default: the suite's, e2e/globalSetup.ts). */
  url?: string;
}

/** Launches Chromium, opens the app's production build and makes sure e2e/output/ exists. */
export async function openApp({ webgpu, acceptDownloads = false, width = 1366, url }: OpenAppOptions): Promise<AppPage> {
  mkdirSync(OUTPUT, { recursive: true });
  const browser = await launchChromium({ webgpu });
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url ?? inject('appUrl'));
  return {
    browser, context, page, pageErrors,
    close: async () => {
      await context.close();
      await browser.close();
    },
  };
}

/**
 * Opens `tab` (e.g. 'adapters'), presses its Load model unless the model is loading or loaded, and
 * waits until it is ready. A model kept in this browser loads by itself on page load, which can
 * start between reading the status and the click (the button then leaves the page): the click is
 * given a short while and the wait for 'ready' decides.
 */
export async function loadModelFrom(page: Page, tab: string): Promise<void> {
  await page.getByTestId(`tab-${tab}`).click();
  const loader = page.getByTestId(`panel-${tab}`).getByTestId('model-loader');
  if ((await loader.getAttribute('data-status')) === 'idle') {
    await loader.getByTestId('load-model').click({ timeout: 5_000 }).catch(async (error: unknown) => {
      if ((await loader.getAttribute('data-status')) === 'idle') throw error; // nothing started it: a real failure
    });
  }
  await expect.poll(() => loader.getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');
}

/** The committed fixture adapter (adapter_config.json + adapter_model.safetensors) as a PEFT zip. */
export function fixtureAdapterZip(safetensors?: Uint8Array): Buffer {
  return Buffer.from(zipSync({
    'adapter_config.json': readFileSync(`${FIXTURE_ADAPTER}/adapter_config.json`),
    'adapter_model.safetensors': safetensors ?? readFileSync(`${FIXTURE_ADAPTER}/adapter_model.safetensors`),
  }));
}

/** The tensor names in a safetensors file's JSON header. */
export function safetensorsNames(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

/** Drops one text file on the page, as a person dragging it from their desktop would. */
export async function dropFile(page: Page, name: string, text: string): Promise<void> {
  const transfer = await page.evaluateHandle(({ name, text }) => {
    const data = new DataTransfer();
    data.items.add(new File([text], name, { type: '' }));
    return data;
  }, { name, text });
  await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
}
