/**
 * The adapter inspector on the Adapters tab, end to end in headless Chromium with WebGPU disabled
 * (the engine on WASM), against the production build and the real base model: load the model ->
 * import the fixture adapter (test/fixtures/generation/adapter, zipped here) as "fixture" and
 * "copy", a copy with every B negated ("flipped", made here by flipping the F16 sign bits) and a
 * copy without the MLP modules ("attention-only") -> Inspect: the norm chart has 6 layers x 7
 * modules, the A/B/ΔW heatmaps draw (keyboard-operated selects), cosine similarity with the copy is
 * 1.00 and with the flipped copy -1.00 for every layer and module -> bad selections: a module the
 * adapter does not change, a comparison with modules missing on one side, the compared adapter
 * removed, no other adapter left (how to import one), the inspected adapter removed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { FIXTURE_ADAPTER as FIXTURE, OUTPUT, fixtureAdapterZip, openApp, type AppPage } from './appPage';

const MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * A safetensors file rewritten tensor by tensor: `edit` returns the new bytes of a tensor (same
 * dtype and shape), or null to leave it out.
 */
function editSafetensors(bytes: Uint8Array, edit: (name: string, info: TensorInfo, data: Uint8Array) => Uint8Array | null): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, TensorInfo | Record<string, string>>;
  const body = bytes.subarray(8 + length);
  const outHeader: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      outHeader[name] = value;
      continue;
    }
    const info = value as TensorInfo;
    const data = edit(name, info, body.slice(info.data_offsets[0], info.data_offsets[1]));
    if (!data) continue;
    outHeader[name] = { ...info, data_offsets: [offset, offset + data.byteLength] };
    chunks.push(data);
    offset += data.byteLength;
  }
  let json = JSON.stringify(outHeader);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const fixtureWeights = (): Uint8Array => new Uint8Array(readFileSync(`${FIXTURE}/adapter_model.safetensors`));

/** Every lora_B negated: F16 sign bit flipped (the fixture stores F16). */
function flippedWeights(): Uint8Array {
  return editSafetensors(fixtureWeights(), (name, info, data) => {
    if (!name.includes('.lora_B.')) return data;
    expect(info.dtype).toBe('F16');
    const out = data.slice();
    for (let i = 1; i < out.length; i += 2) out[i] = (out[i] as number) ^ 0x80; // little-endian: high byte holds the sign
    return out;
  });
}

/** Only the attention modules (no gate/up/down_proj tensors). */
function attentionOnlyWeights(): Uint8Array {
  return editSafetensors(fixtureWeights(), (name, _info, data) => (name.includes('.mlp.') ? null : data));
}

const rows = (page: Page) => page.getByTestId('adapter-row');

async function idOf(page: Page, name: string): Promise<string> {
  const row = rows(page).filter({ has: page.getByTestId('adapter-name').getByText(name, { exact: true }) });
  const id = await row.getAttribute('data-adapter-id');
  expect(id).toBeTruthy();
  return id!;
}

/** How many different colours a canvas holds (0 for a blank or unreadable one). */
async function canvasColours(canvas: Locator): Promise<number> {
  return canvas.evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0 || c.height === 0) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add(((d[i] as number) << 16) | ((d[i + 1] as number) << 8) | (d[i + 2] as number));
    return seen.size;
  });
}

async function layerValues(inspector: Locator): Promise<string[]> {
  return inspector.getByTestId('similarity-layer-value').allTextContents();
}

async function moduleValues(inspector: Locator): Promise<string[]> {
  return (await inspector.getByTestId('similarity-module').allTextContents()).map((s) => s.trim());
}

describe('Adapter inspector (WASM)', () => {
  let app: AppPage;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    app = await openApp({ webgpu: false });
    ({ page, pageErrors } = app);
  });
  afterAll(async () => app?.close());

  it('norm chart, heatmaps, similarity 1 / -1, and bad selections', async () => {
    await page.getByTestId('tab-adapters').click();
    const panel = page.getByTestId('panel-adapters');
    await panel.getByTestId('load-model').click();
    await expect.poll(() => panel.getByTestId('model-loader').getAttribute('data-status'), { timeout: 240_000, interval: 250 }).toBe('ready');

    const input = panel.getByTestId('adapter-file-input');
    const imports: [string, Uint8Array][] = [
      ['fixture', fixtureWeights()], ['copy', fixtureWeights()], ['flipped', flippedWeights()], ['attention-only', attentionOnlyWeights()],
    ];
    for (const [name, weights] of imports) {
      const before = await rows(page).count();
      await input.setInputFiles({ name: `${name}.zip`, mimeType: 'application/zip', buffer: fixtureAdapterZip(weights) });
      await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(before + 1);
    }
    expect(await panel.getByTestId('adapter-error').count()).toBe(0);
    const ids = {
      fixture: await idOf(page, 'fixture'), copy: await idOf(page, 'copy'), flipped: await idOf(page, 'flipped'), attention: await idOf(page, 'attention-only'),
    };

    // Inspect the fixture: focus moves to the inspector's heading.
    const rowOf = (id: string) => page.locator(`[data-testid="adapter-row"][data-adapter-id="${id}"]`);
    const fixtureRow = rowOf(ids.fixture);
    await fixtureRow.getByTestId('inspect-adapter').click();
    const inspector = panel.getByTestId('adapter-inspector');
    await expect.poll(() => inspector.getAttribute('data-adapter-id'), { timeout: 30_000 }).toBe(ids.fixture);
    expect(await fixtureRow.getByTestId('inspect-adapter').getAttribute('aria-expanded')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Inspect fixture');

    // (a) Norm chart: 6 layers x 7 modules, every bar a positive norm, on one scale.
    const chart = inspector.getByTestId('norm-chart');
    await expect.poll(() => chart.count(), { timeout: 30_000 }).toBe(1);
    expect(await chart.getAttribute('data-layers')).toBe('6');
    expect(await chart.getAttribute('data-modules')).toBe('7');
    expect(await chart.getByTestId('norm-panel').evaluateAll((els) => els.map((e) => e.getAttribute('data-module')))).toEqual(MODULES);
    const bars = chart.getByTestId('norm-bar');
    expect(await bars.count()).toBe(42);
    const norms = (await bars.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value')))));
    expect(norms.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(await chart.getByTestId('norm-row').count()).toBe(42);
    expect(await inspector.getByTestId('inspector-summary').textContent()).toContain('rank 8');

    // (b) Heatmaps of A, B and ΔW for layer 0 q_proj: canvases with more than one colour.
    const images = inspector.getByTestId('heatmap-images');
    await expect.poll(() => images.getAttribute('data-module'), { timeout: 30_000 }).toBe('q_proj');
    for (const id of ['heatmap-a', 'heatmap-b', 'heatmap-delta']) {
      expect(await canvasColours(images.getByTestId(id).locator('canvas'))).toBeGreaterThan(10);
    }
    expect(await images.getByTestId('heatmap-a').textContent()).toContain('8 rank x 512 inputs, shown as 8 x 64 blocks');

    // Keyboard: the layer select moves with the arrow keys; the module select too.
    await inspector.getByTestId('heatmap-layer').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => images.getAttribute('data-layer'), { timeout: 30_000 }).toBe('1');
    await inspector.getByTestId('heatmap-module').selectOption('down_proj');
    await expect.poll(() => images.getAttribute('data-module'), { timeout: 30_000 }).toBe('down_proj');
    await expect.poll(() => images.getAttribute('data-stale'), { timeout: 30_000 }).toBe('false');
    expect(await images.getByTestId('heatmap-a').textContent()).toContain('8 rank x 1536 inputs');
    expect(await canvasColours(images.getByTestId('heatmap-delta').locator('canvas'))).toBeGreaterThan(10);
    await inspector.getByTestId('heatmap-pooling').selectOption('mean');
    await expect.poll(() => images.getAttribute('data-pooling'), { timeout: 30_000 }).toBe('mean');

    // (c) Compare with the identical copy: 1.00 everywhere; with the sign-flipped copy: -1.00.
    const compareWith = inspector.getByTestId('compare-with');
    const options = await compareWith.locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    expect(options).toEqual(['', ids.copy, ids.flipped, ids.attention]); // not the inspected adapter itself
    await compareWith.selectOption(ids.copy);
    const result = inspector.getByTestId('compare-result');
    await expect.poll(() => result.getAttribute('data-second-id'), { timeout: 30_000 }).toBe(ids.copy);
    expect(await layerValues(inspector)).toEqual(Array(6).fill('1.00'));
    expect(await moduleValues(inspector)).toEqual(Array(42).fill('1.00'));
    expect(await inspector.getByTestId('compare-overall').textContent()).toContain('1.00');
    await inspector.screenshot({ path: `${OUTPUT}/inspect-fixture.png` });

    await compareWith.selectOption(ids.flipped);
    await expect.poll(() => result.getAttribute('data-second-id'), { timeout: 30_000 }).toBe(ids.flipped);
    expect(await layerValues(inspector)).toEqual(Array(6).fill('-1.00'));
    expect(await moduleValues(inspector)).toEqual(Array(42).fill('-1.00'));
    await inspector.getByTestId('adapter-compare').screenshot({ path: `${OUTPUT}/inspect-compare-flipped.png` });

    // Modules missing on one side: n/a with the reason, and the layer similarity below 1.
    await compareWith.selectOption(ids.attention);
    await expect.poll(() => result.getAttribute('data-second-id'), { timeout: 30_000 }).toBe(ids.attention);
    const moduleTexts = await moduleValues(inspector);
    for (let i = 0; i < 42; i++) expect(moduleTexts[i]).toBe(i % 7 < 4 ? '1.00' : 'n/a');
    const layerNumbers = (await layerValues(inspector)).map(Number);
    expect(layerNumbers.every((v) => v > 0 && v < 1)).toBe(true);
    expect(await inspector.getByTestId('similarity-reasons').textContent()).toContain('"attention-only" does not change gate_proj, so there is no direction to compare (layers 0, 1, 2, 3, 4, 5)');

    await inspector.getByTestId('adapter-compare').screenshot({ path: `${OUTPUT}/inspect-compare-missing.png` });

    // The compared adapter is removed: the choice resets, no stale numbers stay.
    await compareWith.selectOption(ids.copy);
    await expect.poll(() => result.getAttribute('data-second-id'), { timeout: 30_000 }).toBe(ids.copy);
    await rowOf(ids.copy).getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count(), { timeout: 30_000 }).toBe(3);
    await expect.poll(() => compareWith.inputValue(), { timeout: 30_000 }).toBe('');
    expect(await result.count()).toBe(0);
    expect(await inspector.getByTestId('compare-overall').count()).toBe(0);

    // Inspect the attention-only copy: a fresh panel; its MLP modules are dashes, and choosing one
    // says there is nothing to draw instead of asking the engine.
    const attentionRow = rowOf(ids.attention);
    await attentionRow.getByTestId('inspect-adapter').click();
    await expect.poll(() => inspector.getAttribute('data-adapter-id'), { timeout: 30_000 }).toBe(ids.attention);
    expect(await fixtureRow.getByTestId('inspect-adapter').getAttribute('aria-expanded')).toBe('false');
    await expect.poll(() => chart.getByTestId('norm-bar').count(), { timeout: 30_000 }).toBe(24);
    expect(await inspector.getByTestId('inspector-summary').textContent()).toContain('It changes 24 of the 42 modules');
    await expect.poll(() => images.getAttribute('data-module'), { timeout: 30_000 }).toBe('q_proj');
    expect(await images.getAttribute('data-layer')).toBe('0');
    await inspector.getByTestId('heatmap-module').selectOption('gate_proj');
    const notAdapted = inspector.getByTestId('heatmap-not-adapted');
    await expect.poll(() => notAdapted.count(), { timeout: 30_000 }).toBe(1);
    expect(await notAdapted.textContent()).toContain('attention-only does not change layer 0 gate_proj');
    expect(await images.count()).toBe(0);
    expect(await inspector.getByTestId('heatmap-error').count()).toBe(0);
    await inspector.screenshot({ path: `${OUTPUT}/inspect-attention-only.png` });

    // The inspected adapter is removed: the inspector closes.
    await attentionRow.getByTestId('remove-adapter').click();
    await expect.poll(() => inspector.count(), { timeout: 30_000 }).toBe(0);

    // Only one adapter left: the compare section says how to import another.
    const flippedRow = rowOf(ids.flipped);
    await flippedRow.getByTestId('inspect-adapter').click();
    await expect.poll(() => inspector.getAttribute('data-adapter-id'), { timeout: 30_000 }).toBe(ids.flipped);
    await fixtureRow.getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count(), { timeout: 30_000 }).toBe(1);
    const empty = inspector.getByTestId('compare-empty');
    await expect.poll(() => empty.count(), { timeout: 30_000 }).toBe(1);
    expect(await empty.textContent()).toContain('Import a trained LoRA');
    await page.screenshot({ path: `${OUTPUT}/inspect-page.png`, fullPage: true });

    // Narrow screen: nothing of the inspector wider than the viewport.
    await page.setViewportSize({ width: 400, height: 900 });
    await page.screenshot({ path: `${OUTPUT}/inspect-narrow.png`, fullPage: true });
    const wide = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth;
      return [...document.querySelectorAll('[data-testid="adapter-inspector"], [data-testid="adapter-inspector"] *')]
        // wide tables scroll inside their own box, which must fit
        .filter((e) => e.getBoundingClientRect().right > limit + 1 && !e.parentElement?.closest('.wide-table__scroll'))
        .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 8);
    });
    expect(wide).toEqual([]);
    await page.setViewportSize({ width: 1366, height: 900 });

    // Close returns focus to the row's Inspect button.
    await inspector.getByTestId('inspector-close').click();
    expect(await inspector.count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('inspect-adapter');
    expect(pageErrors).toEqual([]);
  });
});
