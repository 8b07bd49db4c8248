/**
 * The CPU cascade (src/generator/referenceRuntime.ts, the no-WebGPU generator) reproduces the
 * PyTorch fixture layer by layer, and its LoRA equals the reference detokenisation of the
 * fixture's output.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadGenerator } from '../../src/generator/loadGenerator';
import { runReferenceGenerator } from '../../src/generator/referenceRuntime';
import { parseSafetensors } from '../../src/generator/safetensors';
import { GeneratorRunError } from '../../src/generator/errors';
import { expectHyperconvFixture } from './helpers';

const DIR = new URL('../fixtures/hyperconv/', import.meta.url);
const TOLERANCE = 1e-4;

describe('CPU reference generator vs the PyTorch fixture', () => {
  const generator = loadGenerator({
    manifest: readFileSync(new URL('generator.json', DIR), 'utf8'),
    weights: readFileSync(new URL('generator.safetensors', DIR)),
  });
  const io = parseSafetensors(readFileSync(new URL('io.safetensors', DIR)), 'io.safetensors');
  const batch = io.info('input').shape[0] as number;

  it('matches every layer and the detokenised LoRA within 1e-4, reporting each layer', async () => {
    const seen: number[] = [];
    const run = await runReferenceGenerator(generator, io.float32('input'), batch, (layer) => {
      seen.push(layer);
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expectHyperconvFixture(run, generator, io, TOLERANCE);
  });

  it('refuses a condition of the wrong size and stops when cancelled', async () => {
    await expect(runReferenceGenerator(generator, new Float32Array(5), 1)).rejects.toThrow(GeneratorRunError);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the test'));
    await expect(runReferenceGenerator(generator, io.float32('input'), batch, undefined, controller.signal)).rejects.toThrow('cancelled by the test');
  });
});
