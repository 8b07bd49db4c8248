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

    it('loads and says in plain words that the only adapter is a software one (details on focus)', async () => {
      const page = await browser.newPage();
      await page.goto(inject('appUrl'));
      const status = page.getByTestId('webgpu-status');
      await expect.poll(() => status.getAttribute('data-kind')).toBe('software');
      expect(await page.getByTestId('webgpu-badge').textContent()).toBe('No GPU: runs on the CPU');
      const details = page.getByTestId('webgpu-details');
      expect(await details.isVisible()).toBe(false);
      await page.getByTestId('webgpu-badge').focus();
      expect(await details.isVisible()).toBe(true);
      expect(await details.textContent()).toMatch(/SwiftShader, a software renderer/);
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
      await expect.poll(() => status.getAttribute('data-kind')).toBe('none');
      expect(await page.getByTestId('webgpu-badge').textContent()).toBe('No GPU: runs on the CPU');
      // navigator.gpu may exist with WebGPU switched off; either way no adapter, and the details say so.
      expect(await page.getByTestId('webgpu-details').textContent()).toMatch(/no WebGPU|offered no GPU adapter/);
    });
  });
});
