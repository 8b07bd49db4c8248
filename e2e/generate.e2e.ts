/**
 * The Generate tab end to end, in headless Chromium with WebGPU on SwiftShader, against the
 * production build, the real base model and the release generator (models/generator/): one click
 * on an example (ARC-Easy from test/fixtures/datasets-mini, made-up prompts) -> Generate: Cancel while encoding and Cancel in
 * a step-through pause leave no adapter; step-through really pauses after a block (explanation,
 * heatmap, keyboard Next) -> a full run: every stage done with its time, every block's heatmap ->
 * the adapter is listed as generated -> Compare: base and adapted answers differ -> Download: a
 * PEFT zip with every expected tensor -> imported back -> after a reload the generated adapter is
 * restored, still labelled generated.
 *
 * The release's manifest decides what the page must show: its decoder blocks (stages, heatmaps,
 * step-through explanations) and, for a version-2 generator with a gate, the strength line (and at
 * strength 0 the adapted answer equals the base one). Version 1 and 2 releases both pass.
 *
 * SwiftShader is slow: encoding 8 prompts takes ~30 s, the generator ~7 s, a token several seconds.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { OUTPUT, openApp, safetensorsNames, type AppPage } from './appPage';

const LAYERS = 6;
const MODULES = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
/** The release served to the page (scripts/prepare-models.sh copies models/generator/ as committed). */
const release = JSON.parse(readFileSync('models/generator/generator.json', 'utf8')) as {
  version: number;
  encoder: { max_tokens: number; window?: 'head' | 'tail'; max_input_tokens?: number };
  decoder: { features: [number, number, number][]; kernel_sizes: number[] };
  gate?: object;
  training: { gate_tasks?: string[] };
};
const BLOCKS = release.decoder.kernel_sizes.length;

/** The step-through explanation's shape part for block i (src/ui/generate/blockText.ts). */
function blockShapes(i: number): string {
  const shape = (f: readonly number[]) => f.join(' × ');
  const k = release.decoder.kernel_sizes[i]!;
  return `${shape(release.decoder.features[i]!)} → ${shape(release.decoder.features[i + 1]!)}, kernel ${k} × ${k}`;
}
const residual = (i: number) => release.decoder.features[i]!.join() === release.decoder.features[i + 1]!.join();

function expectedNames(): string[] {
  const names: string[] = [];
  for (let l = 0; l < LAYERS; l++) {
    for (const m of MODULES) for (const ab of ['A', 'B']) names.push(`base_model.model.model.layers.${l}.${m}.lora_${ab}.weight`);
  }
  return names.sort();
}

const rows = (page: Page) => page.getByTestId('adapter-row');

async function loadModelOn(page: Page, tab: 'generate' | 'adapters'): Promise<void> {
  await page.getByTestId(`tab-${tab}`).click();
  const panel = page.getByTestId(`panel-${tab}`);
  // WebGPU is the point here: Auto would pick WebAssembly on SwiftShader (e2e/newUser.e2e.ts).
  await panel.getByTestId('backend-webgpu').check();
  await panel.getByTestId('load-model').click();
  await expect.poll(() => page.getByTestId('panel-adapters').getByTestId('model-loader').getAttribute('data-status'), { timeout: 300_000, interval: 500 }).toBe('ready');
}

/** After a reload with the model files kept in this browser: the model loads with no click. */
async function loadsByItself(page: Page): Promise<void> {
  await page.getByTestId('tab-adapters').click();
  await expect.poll(() => page.getByTestId('panel-adapters').getByTestId('model-loader').getAttribute('data-status'), { timeout: 300_000, interval: 500 }).toBe('ready');
  expect(await page.getByTestId('panel-adapters').getByTestId('model-source').getAttribute('data-source')).toBe('cache');
}

describe('Generate (WebGPU on SwiftShader, release generator)', () => {
  let app: AppPage;
  let page: Page;
  let pageErrors: string[] = [];
  let generatedId = '';
  /** The gate's strength of the generated adapter (1 for a release without a gate). */
  let gateStrength = 1;

  beforeAll(async () => {
    app = await openApp({ webgpu: true, acceptDownloads: true });
    ({ page, pageErrors } = app);
  });
  afterAll(async () => app?.close());

  it('says when there are no prompts, then takes an example file and loads the model with the generator', async () => {
    await page.getByTestId('tab-generate').click();
    const panel = page.getByTestId('panel-generate');
    expect(await panel.getByTestId('generate-no-prompts').textContent()).toContain('No prompts yet');
    expect(await panel.getByTestId('generate-run').isDisabled()).toBe(true);
    await panel.getByTestId('generate-go-prompts').click();
    expect(await page.getByTestId('tab-prompts').getAttribute('aria-selected')).toBe('true');

    // One click on an example: a held-out task's test prompts (e2e: test/fixtures/datasets-mini).
    await page.locator('[data-testid="example-button"][data-task="ARC-Easy"]').click();
    await expect.poll(() => page.getByTestId('prompt-count').textContent(), { timeout: 30_000 }).toBe('12');

    await loadModelOn(page, 'generate');
    // The release reads answers too: a file with answered rows gets "Use the answers", on. This file
    // drives the prompts-mode WGSL path (examples mode sizes its adapter by decoding, which takes
    // minutes on SwiftShader; e2e/examplesMode.e2e.ts covers it on WebAssembly), so it is turned off.
    const useAnswers = panel.getByTestId('generate-use-answers');
    expect(await useAnswers.isChecked()).toBe(true);
    expect(await panel.getByTestId('generate-prompt-source').textContent()).toContain('8 prompts with their answers from ARC-Easy.jsonl');
    await useAnswers.uncheck();
    expect(await panel.getByTestId('generate-prompt-source').textContent()).toContain('8 prompts from ARC-Easy.jsonl');
    expect(await panel.getByTestId('generate-name').inputValue()).toBe('ARC-Easy (generated)');
    expect(await panel.getByTestId('generator-unavailable').count()).toBe(0);
    expect(await panel.getByTestId('generator-cpu-notice').count()).toBe(0);
    // WebGPU as chosen, on a software adapter: said plainly, with what Auto would do.
    expect(await panel.getByTestId('backend-now').getAttribute('data-backend')).toBe('webgpu');
    expect(await panel.getByTestId('backend-software-warning').textContent()).toMatch(/^Slow here: the only WebGPU adapter here is SwiftShader.*Auto would run everything on WebAssembly/);
    expect(await page.getByTestId('webgpu-badge').textContent()).toBe('Software GPU: slow');
    await expect.poll(() => panel.getByTestId('generate-run').isDisabled(), { timeout: 30_000 }).toBe(false);
  }, 420_000);

  it('Cancel while the prompts are encoded and Cancel in a step-through pause leave no adapter', async () => {
    const panel = page.getByTestId('panel-generate');
    // Cancel during the encode stage: takes effect when the encoder returns, nothing registered.
    await panel.getByTestId('generate-run').click();
    await expect.poll(() => panel.locator('[data-stage="encode"]').getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    expect(await panel.locator('[data-stage="encode"]').getAttribute('aria-current')).toBe('step');
    await panel.getByTestId('generate-cancel').click();
    await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 180_000, interval: 250 }).toBe('cancelled');
    expect(await panel.getByTestId('generate-status').textContent()).toContain('Cancelled');
    expect(await panel.getByTestId('generate-status').getAttribute('role')).toBe('status');
    expect(await panel.getByTestId('stage-heatmap').count()).toBe(0);

    // Step-through: the engine stops after block 0 and shows it; Enter (focus is on Next) goes on to block 1.
    await panel.getByTestId('generate-step-through').check();
    await panel.getByTestId('generate-run').click();
    const step = panel.getByTestId('step-panel');
    await expect.poll(() => step.count(), { timeout: 180_000, interval: 250 }).toBe(1);
    expect(await step.getAttribute('data-layer')).toBe('0');
    expect(BLOCKS, 'step-through is shown on a release with at least 2 decoder blocks').toBeGreaterThan(1);
    const explanation0 = (await panel.getByTestId('step-explanation').textContent()) ?? '';
    expect(explanation0).toContain(blockShapes(0));
    expect(explanation0).toContain(residual(0) ? 'Residual' : 'Not residual');
    expect(await panel.getByTestId('step-heatmap').count()).toBe(1);
    expect(await panel.locator('[data-stage="block-1"]').getAttribute('data-state')).toBe('pending');
    // Really paused: nothing moves on while we wait.
    await page.waitForTimeout(3000);
    expect(await panel.locator('[data-stage="block-1"]').getAttribute('data-state')).toBe('pending');
    await page.screenshot({ path: `${OUTPUT}/generate-step-paused.png`, fullPage: true });
    await page.keyboard.press('Enter');
    await expect.poll(() => step.getAttribute('data-layer'), { timeout: 60_000, interval: 250 }).toBe('1');
    expect(await panel.getByTestId('step-explanation').textContent()).toContain(blockShapes(1));
    expect(await panel.getByTestId('stage-heatmap').count()).toBe(2);
    await panel.getByTestId('step-cancel').click();
    await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 60_000, interval: 250 }).toBe('cancelled');
    expect(await panel.getByTestId('step-panel').count()).toBe(0);

    await page.getByTestId('tab-adapters').click();
    expect(await rows(page).count()).toBe(0);
    await page.getByTestId('tab-generate').click();
    expect(await panel.getByTestId('generate-run').isDisabled()).toBe(false);
    await panel.getByTestId('generate-step-through').uncheck();
  }, 420_000);

  it('generates: every stage done with its time, a heatmap per block; listed as generated; renamable', async () => {
    const panel = page.getByTestId('panel-generate');
    await panel.getByTestId('generate-run').click();
    // A screenshot while it runs, once the first block's heatmap is in.
    await expect.poll(() => panel.getByTestId('stage-heatmap').count(), { timeout: 180_000, interval: 100 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${OUTPUT}/generate-running.png`, fullPage: true });
    await expect.poll(() => panel.getByTestId('generate-screen').getAttribute('data-status'), { timeout: 180_000, interval: 250 }).toBe('done');

    const stages = panel.getByTestId('stage');
    const keys = await stages.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-stage')}:${e.getAttribute('data-state')}`));
    expect(keys).toEqual(['encode', ...Array.from({ length: BLOCKS }, (_, i) => `block-${i}`), 'detokenize', 'apply'].map((k) => `${k}:done`));
    for (const time of await panel.getByTestId('stage-time').allTextContents()) expect(time).toMatch(/^\d+(\.\d)? (ms|s)$/);
    // the encode stage says which tokens the encoder reads: the first L, or the last W (version 2's tail window)
    const { window = 'head', max_tokens: L, max_input_tokens: W } = release.encoder;
    expect(await panel.locator('[data-stage="encode"]').textContent()).toContain(window === 'tail' ? `its last ${W} tokens` : `its first ${L} tokens`);
    expect(await panel.getByTestId('stage-heatmap').count()).toBe(BLOCKS);
    expect(await panel.getByTestId('generate-status').textContent()).toMatch(/Done: the stages took \d+(\.\d)? m?s \(\d+(\.\d)? m?s from pressing Generate until the adapter was listed\)\./);
    // on WebGPU the apply stage says the LoRA was read back from the GPU and the model's inputs written there
    expect(await panel.locator('[data-stage="apply"] .stage__help').textContent()).toMatch(/read back from the GPU once.*LoRA inputs on the GPU/);
    const result = panel.getByTestId('generated-result');
    generatedId = (await result.getAttribute('data-adapter-id')) ?? '';
    expect(generatedId).toBeTruthy();
    // A gated (version 2) release says how strongly the adapter is applied and which training tasks the prompts resemble.
    const gateLine = result.getByTestId('generated-gate');
    if (release.gate) {
      expect(await gateLine.count()).toBe(1);
      const strength = Number(await gateLine.getAttribute('data-strength'));
      gateStrength = strength;
      expect(strength).toBeGreaterThanOrEqual(0);
      expect(strength).toBeLessThanOrEqual(1);
      const text = (await gateLine.textContent()) ?? '';
      expect(text).toMatch(strength === 0 ? /found nothing in these prompts it can help with.*equals the base model/ : /Applied at (\d+%|under 1%|full) strength/);
      // the nearest training tasks in words, each with its raw id as the tooltip
      const ids = await gateLine.getByTestId('gate-task').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(release.training.gate_tasks).toContain(id);
      expect(text).not.toMatch(/synth\//);
    } else {
      expect(await gateLine.count()).toBe(0);
    }
    await page.screenshot({ path: `${OUTPUT}/generate-done.png`, fullPage: true });

    // The adapter inspector opens for the new adapter and closes again.
    await result.getByTestId('generated-inspect').click();
    const inspector = result.getByTestId('adapter-inspector');
    expect(await inspector.getAttribute('data-adapter-id')).toBe(generatedId);
    await expect.poll(() => inspector.getByTestId('inspector-summary').count(), { timeout: 60_000 }).toBe(1);
    await inspector.getByTestId('inspector-close').click();
    expect(await result.getByTestId('adapter-inspector').count()).toBe(0);

    // Rename after the run (the result's own field): the Adapters list follows.
    await result.getByTestId('generated-rename-input').fill('science tutor');
    await result.getByTestId('generated-rename-input').press('Enter');
    await page.getByTestId('tab-adapters').click();
    await expect.poll(() => rows(page).count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => rows(page).first().getByTestId('adapter-name').textContent(), { timeout: 30_000 }).toBe('science tutor');
    expect(await rows(page).first().getByTestId('adapter-source').getAttribute('data-source')).toBe('generated');
    expect(await rows(page).first().getByTestId('adapter-source').textContent()).toMatch(/^Generated from ARC-Easy\.jsonl, /);
  }, 420_000);

  it('Compare opens with the generated adapter and the answers differ; Download gives a PEFT zip that imports back', async () => {
    await page.getByTestId('tab-generate').click();
    const panel = page.getByTestId('panel-generate');
    // Narrow width first, while the result is on screen.
    await page.setViewportSize({ width: 400, height: 900 });
    await page.screenshot({ path: `${OUTPUT}/generate-narrow.png`, fullPage: true });
    await page.setViewportSize({ width: 1366, height: 900 });

    await panel.getByTestId('generated-compare').click();
    expect(await page.getByTestId('tab-compare').getAttribute('aria-selected')).toBe('true');
    const compare = page.getByTestId('panel-compare');
    expect(await compare.getByTestId('compare-adapter').inputValue()).toBe(generatedId);
    await compare.getByTestId('compare-prompt').fill('What is the chemical symbol for iron?');
    await compare.getByTestId('compare-max-tokens').fill('6');
    await compare.getByTestId('compare-run').click();
    await expect.poll(() => compare.getByTestId('answer-adapted').getAttribute('data-state'), { timeout: 300_000, interval: 500 }).toBe('done');
    const baseText = (await compare.getByTestId('answer-base-text').textContent()) ?? '';
    const adaptedText = (await compare.getByTestId('answer-adapted-text').textContent()) ?? '';
    expect(baseText.trim().length).toBeGreaterThan(0);
    expect(adaptedText.trim().length).toBeGreaterThan(0);
    // At gate strength 0 the adapter is the base model; otherwise it changes the answer.
    if (gateStrength === 0) expect(adaptedText).toBe(baseText);
    else expect(adaptedText).not.toBe(baseText);
    await page.screenshot({ path: `${OUTPUT}/generate-compare.png`, fullPage: true });

    await page.getByTestId('tab-generate').click();
    const downloadPromise = page.waitForEvent('download');
    await panel.getByTestId('generated-download').click();
    const download = await downloadPromise;
    expect(download.suggestedFilename()).toBe('science tutor.zip');
    const zip = readFileSync(await download.path());
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(safetensorsNames(files['adapter_model.safetensors']!).sort()).toEqual(expectedNames());

    await page.getByTestId('tab-adapters').click();
    await page.getByTestId('panel-adapters').getByTestId('adapter-file-input').setInputFiles({ name: 'round-trip.zip', mimeType: 'application/zip', buffer: zip });
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(2);
    expect(await rows(page).nth(1).getByTestId('adapter-name').textContent()).toBe('round-trip');
    expect(await rows(page).nth(1).getByTestId('adapter-source').textContent()).toMatch(/^Imported from round-trip\.zip, /);
  }, 480_000);

  it('after a reload the generated adapter is restored and still labelled generated', async () => {
    await page.reload();
    // The model files are kept in this browser, so the model loads by itself, on the backend chosen
    // before the reload (remembered across visits).
    await loadsByItself(page);
    expect(await page.getByTestId('panel-adapters').getByTestId('model-backend').textContent()).toBe('WebGPU');
    expect(await page.getByTestId('panel-adapters').getByTestId('backend-webgpu').isChecked()).toBe(true);
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(2);
    const names = await rows(page).getByTestId('adapter-name').allTextContents();
    const sources = await rows(page).getByTestId('adapter-source').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-source')));
    expect(Object.fromEntries(names.map((n, i) => [n, sources[i]]))).toEqual({ 'science tutor': 'generated', 'round-trip': 'imported' });

    // Remove deletes the saved copy too: after another reload only the imported one comes back.
    await rows(page).first().getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count()).toBe(1);
    await page.reload();
    await loadsByItself(page);
    await expect.poll(() => rows(page).count(), { timeout: 60_000 }).toBe(1);
    expect(await rows(page).first().getByTestId('adapter-name').textContent()).toBe('round-trip');
    await rows(page).first().getByTestId('remove-adapter').click();
    await expect.poll(() => rows(page).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 600_000);
});
