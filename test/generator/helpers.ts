// Shared builders for the generator loader tests (not a test file itself).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { fixtureRelativeError } from '../../bench/stats';
import type { LoadedGenerator } from '../../src/generator/loadGenerator';
import { detokenizeReference } from '../../src/generator/loraLayout';
import type { ReferenceRun } from '../../src/generator/referenceRuntime';
import type { SafetensorsFile } from '../../src/generator/safetensors';

/** Builds raw safetensors bytes from a header object (or raw header text) and a data section. */
export function rawSafetensors(
  header: Record<string, unknown> | string,
  data: Uint8Array = new Uint8Array(0),
  headerLengthOverride?: bigint,
): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, headerLengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/**
 * A valid manifest shaped like the trainer's parity fixture: P=4, L=6, C=8; tokens 4 x 5;
 * 2 layers of q_proj (16 -> 16) and v_proj (16 -> 8), rank 2 -> 7 tokens per layer, 14 in all.
 */
export function validManifestJson(): Record<string, unknown> {
  const layout: Record<string, unknown>[] = [];
  let offset = 0;
  for (let layer = 0; layer < 2; layer++) {
    for (const [module, rowsA, colsA, rowsB, colsB] of [
      ['q_proj', 2, 16, 16, 2],
      ['v_proj', 2, 16, 8, 2],
    ] as const) {
      for (const [matrix, rows, cols] of [
        ['A', rowsA, colsA],
        ['B', rowsB, colsB],
      ] as const) {
        const count = Math.ceil((rows * cols) / 20);
        layout.push({ layer, module, matrix, rows, cols, token_offset: offset, token_count: count });
        offset += count;
      }
    }
  }
  return {
    format: 'dnd-lora-generator',
    version: 1,
    base_model: { id: 'tiny-base', weights_sha256: 'ab'.repeat(32) },
    encoder: {
      id: 'tiny-base',
      kind: 'decoder-hidden-states',
      layer: -1,
      prompt_count: 4,
      max_tokens: 6,
      pooling: 'none',
      channels: 8,
      template: 'chat',
    },
    decoder: {
      features: [
        [4, 6, 8],
        [8, 5, 10],
        [8, 5, 10],
        [14, 4, 5],
      ],
      kernel_sizes: [3, 5, 1],
      layer_norm_eps: 1e-5,
    },
    tokens: { height: 4, width: 5, count: 14, normalization: 'per_matrix', mean: 'tokens.mean', std: 'tokens.std' },
    lora: {
      rank: 2,
      alpha: 4,
      num_layers: 2,
      target_modules: ['q_proj', 'v_proj'],
      modules: {
        q_proj: { parent: 'self_attn', in: 16, out: 16 },
        v_proj: { parent: 'self_attn', in: 16, out: 8 },
      },
      layout,
    },
    training: { note: 'test' },
  };
}

/**
 * The same manifest in version 2 (trainer/generator/release.py): tail window (W = 10), shared-LoRA
 * token normalisation, and a kNN gate of 3 tasks (k = 2) named in training.gate_tasks.
 */
export function validManifestV2Json(): Record<string, unknown> {
  const m = validManifestJson();
  m['version'] = 2;
  Object.assign(m['encoder'] as Record<string, unknown>, { window: 'tail', max_input_tokens: 10 });
  (m['tokens'] as Record<string, unknown>)['normalization'] = 'shared_lora_residual';
  m['gate'] = {
    kind: 'knn', k: 2, feature: 'condition', centroids: 'gate.centroids', scales: 'gate.scales', tasks: 3, applies_to: 'B',
  };
  m['training'] = { note: 'test', gate_tasks: ['alpha', 'beta', 'gamma'] };
  return m;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hyperconv');
export const FIXTURE_FILES = ['generator.json', 'generator.safetensors', 'io.safetensors'] as const;
export const fixturePresent = FIXTURE_FILES.every((f) => existsSync(join(FIXTURE_DIR, f)));
export const FIXTURE_SKIP_REASON =
  `parity fixture absent (${FIXTURE_DIR}: expected ${FIXTURE_FILES.join(', ')}); ` +
  'generate it with `/usr/bin/python3 -m trainer.fixtures.hyperconv --out test/fixtures/hyperconv`';

export function readFixture(name: (typeof FIXTURE_FILES)[number]): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURE_DIR, name)));
}

/**
 * A CPU run of the hyperconv fixture's generator (test/fixtures/hyperconv) equals the PyTorch fixture:
 * every layer, and per batch element the detokenised LoRA of the fixture's output, each tensor within
 * `tolerance` (max |got - expected| / max(1, max |expected|), the fixture README's measure).
 */
export function expectHyperconvFixture(run: ReferenceRun, generator: LoadedGenerator, io: SafetensorsFile, tolerance: number): void {
  const err = (got: Float32Array, want: Float32Array) => {
    expect(got.length).toBe(want.length);
    return fixtureRelativeError(got, want);
  };
  run.layers.forEach((got, i) => expect(err(got, io.float32(`layer.${i}`)), `layer ${i}`).toBeLessThan(tolerance));
  const out = io.float32('output');
  const batch = io.info('input').shape[0] as number;
  const per = out.length / batch;
  const { manifest, weights, layout } = generator;
  for (let b = 0; b < batch; b++) {
    const expected = detokenizeReference(out.slice(b * per, (b + 1) * per), weights.float32(manifest.tokens.mean), weights.float32(manifest.tokens.std), layout);
    const got = run.lora[b] as Map<string, Float32Array>;
    expect([...got.keys()]).toEqual([...expected.keys()]);
    for (const [name, values] of expected) expect(err(got.get(name) as Float32Array, values), name).toBeLessThan(tolerance);
  }
}
