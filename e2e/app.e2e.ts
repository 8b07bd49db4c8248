import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';

describe('app shell', () => {
  describe('with WebGPU (SwiftShader)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ webgpu: true });
    });
    afterAll(async () => browser?.close());

    it('loads and reports a working WebGPU adapter', async () => {
      const page = await browser.newPage();
      await page.goto(inject('appUrl'));
      await expect.poll(() => page.getByTestId('webgpu-status').textContent()).toContain('WebGPU ready');
      await page.screenshot({ path: 'e2e/output/shell-webgpu.png' });
    });
  });

  describe('without WebGPU', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ webgpu: false });
    });
    afterAll(async () => browser?.close());

    it('says plainly what is unavailable', async () => {
      const page = await browser.newPage();
      await page.goto(inject('appUrl'));
      const status = page.getByTestId('webgpu-status');
      await expect.poll(() => status.textContent()).not.toContain('Checking');
      expect(await status.textContent()).toMatch(/not available|no GPU adapter/);
    });
  });
});
