/**
 * npm run bench:generator — the WGSL generator vs onnxruntime-web's WebGPU EP on an ONNX export of
 * the same generator, in headless Chromium, median of >= 10 runs after warm-up. Writes
 * reports/bench-generator.json with the commit, machine, browser adapter and command.
 *
 * Options: --generator DIR (generator.json + generator.safetensors; default: a random-weight
 * generator of bench/release-standin.json, written into build/bench-generator), --runs N,
 * --warmup N, --out FILE, --native (use the machine's GPU instead of SwiftShader).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';
import { chromium, type Page } from 'playwright-core';
import { chromiumPath, WEBGPU_SWIFTSHADER_FLAGS } from '../e2e/browser';
import type { BenchRequest, BenchResult } from '../bench/generatorBench';

const { values: args } = parseArgs({
  options: {
    generator: { type: 'string' },
    schedule: { type: 'string', default: 'bench/release-standin.json' },
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    out: { type: 'string', default: 'reports/bench-generator.json' },
    native: { type: 'boolean', default: false },
  },
});

const root = path.resolve(import.meta.dirname, '..');
const python = process.env.PYTHON ?? '/usr/bin/python3';

function sh(cmd: string, argv: string[]): string {
  return execFileSync(cmd, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function prepareGenerator(): string {
  const dir = args.generator ?? 'build/bench-generator';
  if (!args.generator) {
    sh(python, ['-m', 'trainer.generator.random_weights', '--schedule', args.schedule as string, '--out', dir]);
  }
  if (!existsSync(path.join(root, dir, 'generator.json'))) throw new Error(`${dir}: no generator.json`);
  sh(python, ['-m', 'trainer.export.onnx_generator', '--generator', dir, '--out', path.join(dir, 'generator.onnx'), '--batch', '1']);
  return dir;
}

/** Vite's dev server may reload the page once while it discovers dependencies: retry then. */
async function runInPage(page: Page, pageUrl: string, req: BenchRequest): Promise<BenchResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(pageUrl);
      page.setDefaultTimeout(0);
      await page.waitForFunction(() => typeof window.runGeneratorBench === 'function', null, { timeout: 120_000 });
      return await page.evaluate((r) => window.runGeneratorBench!(r), req);
    } catch (e) {
      if (attempt >= 2 || !String(e).includes('context was destroyed')) throw e;
    }
  }
}

async function main(): Promise<void> {
  const dir = prepareGenerator();
  // A production build of the bench page (no dev-server reloads mid-run), the generator files
  // copied beside it.
  const outDir = path.join(root, 'build/bench-dist');
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true, rollupOptions: { input: path.join(root, 'bench/generator.html') } } });
  mkdirSync(path.join(outDir, 'generator'), { recursive: true });
  for (const f of ['generator.json', 'generator.safetensors', 'generator.onnx']) copyFileSync(path.join(root, dir, f), path.join(outDir, 'generator', f));
  const server = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite did not report a URL');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      ...(args.native ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan'] : WEBGPU_SWIFTSHADER_FLAGS),
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    const req: BenchRequest = { baseUrl: '/generator', runs: Number(args.runs), warmup: Number(args.warmup) };
    const result = await runInPage(page, `${url}bench/generator.html`, req);
    const report = {
      benchmark: 'generator: hand-written WGSL vs onnxruntime-web WebGPU EP (ONNX export, same weights and input)',
      timing: 'end to end per generation: condition uploaded from the host, normalised tokens read back; median of runs after warm-up, the two engines interleaved',
      generator: dir,
      schedule: args.generator ? null : args.schedule,
      ...result,
      speedup_wgsl_over_ort: result.ort_webgpu_ms / result.wgsl_ms,
      runs: req.runs,
      warmup: req.warmup,
      device: `${result.adapter.vendor} ${result.adapter.architecture} ${result.adapter.description}`.trim(),
      browser: `${await browser.version()} (headless${args.native ? '' : ', SwiftShader'})`,
      machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memory_gb: Math.round(os.totalmem() / 2 ** 30) },
      commit: sh('git', ['rev-parse', 'HEAD']),
      dirty: sh('git', ['status', '--porcelain']).length > 0,
      command: `npm run bench:generator${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
      date: new Date().toISOString(),
    };
    mkdirSync(path.dirname(path.resolve(root, args.out as string)), { recursive: true });
    writeFileSync(path.resolve(root, args.out as string), JSON.stringify(report, null, 2) + '\n');
    console.log(`wgsl ${report.wgsl_ms.toFixed(1)} ms, ort-webgpu ${report.ort_webgpu_ms.toFixed(1)} ms, speedup ${report.speedup_wgsl_over_ort.toFixed(2)}x, max |diff| ${report.max_abs_diff.toExponential(2)} (ref max ${report.max_abs_ref.toFixed(2)}) -> ${args.out}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
