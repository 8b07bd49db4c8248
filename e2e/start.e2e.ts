/**
 * The README's run command with Node alone: `npm start` with no Python on PATH serves the app from
 * the committed models (models/base: fp16 weights + web graphs; nothing is exported at start), and
 * the page loads the model in Chromium (WASM) from that dev server, cross-origin isolated.
 *
 * PATH holds only a folder with `node`, `npm` and `sh` (Debian puts python3 beside node in /usr/bin, so
 * /usr/bin cannot be on it); the test checks that no python is found there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';

let bin = '';
let child: ChildProcess | undefined;
let url = '';
let output = '';
let browser: Browser | undefined;

function nodeOnlyPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'node-only-bin-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  const npm = spawnSync('/bin/sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(realpathSync(npm), join(dir, 'npm'));
  symlinkSync('/bin/sh', join(dir, 'sh')); // npm runs scripts through sh
  return dir;
}

beforeAll(async () => {
  bin = nodeOnlyPath();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
  const probe = spawnSync('/bin/sh', ['-c', 'command -v python3 || command -v python || echo no-python'], { env, encoding: 'utf8' });
  expect(probe.stdout.trim()).toBe('no-python');
  // its own process group, so the whole tree (npm, sh, vite) is ended by this id at the end
  child = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', '5297'], { cwd: process.cwd(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // eslint-disable-next-line no-control-regex
      const m = /Local:\s+(http:\/\/\S+)/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) resolve(m[1]!);
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.on('exit', (code) => reject(new Error(`npm start exited (${String(code)}):\n${output}`)));
  });
  url = await started;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  if (bin) rmSync(bin, { recursive: true, force: true });
});

describe('npm start with Node alone (no Python on PATH)', () => {
  it('serves the app, cross-origin isolated, and the model loads from the committed files', async () => {
    browser = await launchChromium({ webgpu: false });
    const page = await browser.newPage();
    await page.goto(url);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.getByTestId('tab-adapters').click();
    const panel = page.getByTestId('panel-adapters');
    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 300_000, interval: 250 }).toBe('ready');
    expect(await panel.getByTestId('model-backend').textContent()).toBe('WebAssembly');
    expect(output).not.toMatch(/python|torch/i);
  }, 420_000);
});
