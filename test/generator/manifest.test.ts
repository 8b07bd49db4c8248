import { describe, expect, it, vi } from 'vitest';

import {
  BaseModelMismatchError,
  GeneratorError,
  GeneratorFormatError,
  MissingTensorError,
  TensorDtypeError,
  TensorShapeError,
  WebCryptoUnavailableError,
} from '../../src/generator/errors';
import {
  checkBaseModelHash,
  checkGeneratorTensors,
  expectedGeneratorTensors,
  parseGeneratorManifest,
  sha256Hex,
  type GeneratorManifest,
} from '../../src/generator/manifest';
import { encodeSafetensors, parseSafetensors, type SafetensorsTensorInput } from '../../src/generator/safetensors';
import { FIXTURE_SKIP_REASON, fixturePresent, rawSafetensors, readFixture, validManifestJson, validManifestV2Json } from './helpers';

type Json = Record<string, unknown>;

/** A valid manifest, changed by `edit`, must be refused naming `path`. */
function expectFieldError(edit: (m: Json & { [k: string]: any }) => void, path: string, ...fragments: string[]): void {
  expectFieldErrorIn(validManifestJson, edit, path, ...fragments);
}

/** The same for a manifest made by `base` (e.g. version 2). */
function expectFieldErrorIn(base: () => Json, edit: (m: Json & { [k: string]: any }) => void, path: string, ...fragments: string[]): void {
  const m = base() as Json & { [k: string]: any };
  edit(m);
  let caught: unknown;
  try {
    parseGeneratorManifest(m);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an error at ${path}`).toBeInstanceOf(GeneratorFormatError);
  const err = caught as GeneratorFormatError;
  expect(err.code).toBe('generator-format');
  expect(err.path).toBe(path);
  expect(err.message).toContain(`field ${path}:`);
  for (const f of fragments) expect(err.message).toContain(f);
}

function tensorsFor(manifest: GeneratorManifest, dtype: 'F32' | 'F16' = 'F16'): Record<string, SafetensorsTensorInput> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const t of expectedGeneratorTensors(manifest)) {
    out[t.name] = { dtype, shape: t.shape, data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)) };
  }
  return out;
}

describe('parseGeneratorManifest accepts a valid manifest', () => {
  it('returns it typed, with the hash lower-cased', () => {
    const json = validManifestJson();
    (json['base_model'] as Json)['weights_sha256'] = 'AB'.repeat(32);
    const m = parseGeneratorManifest(JSON.parse(JSON.stringify(json)));
    expect(m.base_model.weights_sha256).toBe('ab'.repeat(32));
    expect(m.decoder.features).toEqual([
      [4, 6, 8],
      [8, 5, 10],
      [8, 5, 10],
      [14, 4, 5],
    ]);
    expect(m.lora.layout).toHaveLength(8);
    expect(m.lora.modules['v_proj']).toEqual({ parent: 'self_attn', in: 16, out: 8 });
    expect(m.training).toEqual({ note: 'test' });
  });

  it('takes the parent of a usual Llama module from the default table when omitted', () => {
    const json = validManifestJson() as any;
    delete json.lora.modules.q_proj.parent;
    expect(parseGeneratorManifest(json).lora.modules['q_proj']?.parent).toBe('self_attn');
  });

  it('does not pin features[0] to the encoder when pooling is "mean"', () => {
    const json = validManifestJson() as any;
    json.encoder.pooling = 'mean';
    json.encoder.max_tokens = 32;
    expect(parseGeneratorManifest(json).encoder.pooling).toBe('mean');
  });
});

describe('manifest version 2 (tail window, shared-LoRA tokens, kNN gate)', () => {
  it('is read with its window, normalisation and gate; version 1 gets the version-1 meaning', () => {
    const m = parseGeneratorManifest(validManifestV2Json());
    expect(m.version).toBe(2);
    expect(m.encoder).toMatchObject({ window: 'tail', max_input_tokens: 10, max_tokens: 6 });
    expect(m.tokens.normalization).toBe('shared_lora_residual');
    expect(m.gate).toEqual({
      kind: 'knn', k: 2, feature: 'condition', centroids: 'gate.centroids', scales: 'gate.scales', tasks: 3, applies_to: 'B', rule: 'mean', metric: 'cosine',
    });
    const v1 = parseGeneratorManifest(validManifestJson());
    expect(v1.version).toBe(1);
    expect(v1.encoder).toMatchObject({ window: 'head', max_input_tokens: 6 });
    expect(v1.gate).toBeUndefined();
  });

  it('a version-2 manifest may have no gate (every adapter applied in full), and a head window', () => {
    const json = validManifestV2Json() as any;
    delete json.gate;
    json.encoder.window = 'head';
    const m = parseGeneratorManifest(json);
    expect(m.gate).toBeUndefined();
    expect(m.encoder.window).toBe('head');
  });

  it('refuses bad window fields, naming them', () => {
    expectFieldErrorIn(validManifestV2Json, (m) => delete m['encoder'].window, 'encoder.window', '"head", "tail"', 'missing');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['encoder'].window = 'middle'), 'encoder.window', 'middle');
    expectFieldErrorIn(validManifestV2Json, (m) => delete m['encoder'].max_input_tokens, 'encoder.max_input_tokens', 'integer');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['encoder'].max_input_tokens = 5), 'encoder.max_input_tokens', 'at least encoder.max_tokens = 6', 'got 5');
  });

  it('refuses version-2 fields in a version-1 manifest (a version-1 reader would ignore them)', () => {
    expectFieldError((m) => (m['encoder'].window = 'tail'), 'encoder.window', 'version 2 field');
    expectFieldError((m) => (m['encoder'].max_input_tokens = 64), 'encoder.max_input_tokens', 'version 2 field');
    expectFieldError((m) => (m['gate'] = validManifestV2Json()['gate']), 'gate', 'version 2 field');
  });

  it('refuses a bad gate section, naming the field', () => {
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'] = 'knn'), 'gate', 'must be an object');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].kind = 'mlp'), 'gate.kind', '"knn"', 'mlp');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].k = 0), 'gate.k', 'positive integer');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].feature = 'prompts'), 'gate.feature', '"condition", "output"', 'prompts');
    expectFieldErrorIn(validManifestV2Json, (m) => delete m['gate'].centroids, 'gate.centroids', 'missing');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].scales = 'gate.centroids'), 'gate.scales', 'another tensor');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].applies_to = 'A'), 'gate.applies_to', '"B"');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['gate'].tasks = 1.5), 'gate.tasks', 'integer');
    expectFieldErrorIn(validManifestV2Json, (m) => delete m['training'].gate_tasks, 'training.gate_tasks', 'must be a list');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['training'].gate_tasks = ['a', 7, 'c']), 'training.gate_tasks[1]', 'non-empty string');
    expectFieldErrorIn(validManifestV2Json, (m) => (m['training'].gate_tasks = ['a', 'b']), 'training.gate_tasks', 'gate.tasks = 3 names, got 2');
  });

  it('gate.feature: "condition" when absent; "output" reads 2 x tokens.count values', () => {
    const json = validManifestV2Json() as any;
    delete json.gate.feature;
    expect(parseGeneratorManifest(json).gate?.feature).toBe('condition');
    json.gate.feature = 'output';
    const m = parseGeneratorManifest(json);
    expect(m.gate?.feature).toBe('output');
    expect(new Map(expectedGeneratorTensors(m).map((t) => [t.name, t.shape])).get('gate.centroids')).toEqual([3, 28]);
    // an "output" gate does not pool condition rows, so pooling "mean" with other channels is fine
    json.encoder.pooling = 'mean';
    json.encoder.channels = 16;
    expect(parseGeneratorManifest(json).gate?.feature).toBe('output');
  });

  it('gate.rule: "mean" when absent; "risk" needs its curves (M, S), a grid rising from 0 to at most 1 and a risk >= 0', () => {
    const json = validManifestV2Json() as any;
    expect(parseGeneratorManifest(json).gate?.rule).toBe('mean');
    json.gate = { ...json.gate, rule: 'risk', curves: 'gate.curves', grid: [0, 0.5, 1], risk: 2 };
    const m = parseGeneratorManifest(json);
    expect(m.gate).toMatchObject({ rule: 'risk', curves: 'gate.curves', grid: [0, 0.5, 1], risk: 2 });
    expect(new Map(expectedGeneratorTensors(m).map((t) => [t.name, t.shape])).get('gate.curves')).toEqual([3, 3]);
    const risky = (edit: (g: Record<string, unknown>) => void) => (m2: Record<string, any>) => {
      m2['gate'] = { ...m2['gate'], rule: 'risk', curves: 'gate.curves', grid: [0, 0.5, 1], risk: 2 };
      edit(m2['gate']);
    };
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['rule'] = 'max')), 'gate.rule', '"mean", "risk"', 'max');
    expectFieldErrorIn(validManifestV2Json, risky((g) => delete g['curves']), 'gate.curves', 'missing');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['curves'] = 'gate.scales')), 'gate.curves', 'its own tensor');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['grid'] = [0.25, 0.5, 1])), 'gate.grid', 'rise from 0');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['grid'] = [0, 1, 0.5])), 'gate.grid', 'rise from 0');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['grid'] = [0, 2])), 'gate.grid', 'at most 1');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['grid'] = [0, 'x'])), 'gate.grid[1]', 'must be a number');
    expectFieldErrorIn(validManifestV2Json, risky((g) => (g['risk'] = -1)), 'gate.risk', '>= 0');
  });

  it('a gate over a pooled condition whose rows are not encoder.channels wide is refused', () => {
    expectFieldErrorIn(validManifestV2Json, (m) => {
      m['encoder'].pooling = 'mean';
      m['encoder'].channels = 16;
    }, 'gate', 'encoder.channels = 16', 'rows of 8');
  });

  it('expects the gate tensors: centroids (M, C) and scales (M,), M = the number of gate tasks', () => {
    const manifest = parseGeneratorManifest(validManifestV2Json());
    const byName = new Map(expectedGeneratorTensors(manifest).map((t) => [t.name, t.shape]));
    expect(byName.get('gate.centroids')).toEqual([3, 8]);
    expect(byName.get('gate.scales')).toEqual([3]);
    const good = tensorsFor(manifest);
    expect(checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(good))).unexpected).toEqual([]);
    const wide = { ...good, 'gate.centroids': { dtype: 'F32' as const, shape: [3, 9], data: new Float32Array(27) } };
    expect(() => checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(wide)))).toThrow(TensorShapeError);
    expect(() => checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(wide)))).toThrow(/"gate\.centroids" has shape \(3, 9\) but generator\.json implies \(3, 8\)/);
    const { 'gate.scales': _, ...noScales } = good;
    expect(() => checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(noScales)))).toThrow(MissingTensorError);
    // a version-1 reading of the same file: the gate tensors are extra (a warning, not an error)
    const v1 = parseGeneratorManifest(validManifestJson());
    expect(checkGeneratorTensors(v1, parseSafetensors(encodeSafetensors(good))).unexpected).toEqual(['gate.centroids', 'gate.scales']);
  });
});

describe('manifest version 2, optional fields of trainer/generator/manifest.py (metric, answer feature, examples)', () => {
  const euclidean = (extra: Record<string, unknown> = {}) => () => {
    const m = validManifestV2Json() as any;
    m.gate = { ...m.gate, metric: 'euclidean', feature_mean: 'gate.feature_mean', feature_std: 'gate.feature_std', ...extra };
    return m as Json;
  };
  const answer = () => {
    const m = euclidean({ feature: 'answer', answer: { tokens: 4, max_prompt_tokens: 320 } })() as any;
    return m as Json;
  };
  const withExamples = () => ({ ...validManifestV2Json(), examples: { template: 'chat-answer', validation_rows: 16, grid: [0, 0.25, 0.5, 0.75, 1] } });

  it('gate.metric is "cosine" when absent; "euclidean" names its (F,) feature_mean and feature_std tensors', () => {
    expect(parseGeneratorManifest(validManifestV2Json()).gate?.metric).toBe('cosine');
    const m = parseGeneratorManifest(euclidean()());
    expect(m.gate).toMatchObject({ metric: 'euclidean', feature_mean: 'gate.feature_mean', feature_std: 'gate.feature_std' });
    const shapes = new Map(expectedGeneratorTensors(m).map((t) => [t.name, t.shape]));
    expect(shapes.get('gate.feature_mean')).toEqual([8]);
    expect(shapes.get('gate.feature_std')).toEqual([8]);
    // a cosine gate expects neither
    expect(expectedGeneratorTensors(parseGeneratorManifest(validManifestV2Json())).some((t) => t.name.startsWith('gate.feature_'))).toBe(false);
    expectFieldErrorIn(validManifestV2Json, (g) => (g['gate'].metric = 'manhattan'), 'gate.metric', '"cosine", "euclidean"', 'manhattan');
    expectFieldErrorIn(euclidean(), (g) => delete g['gate'].feature_mean, 'gate.feature_mean', 'missing');
    expectFieldErrorIn(euclidean(), (g) => delete g['gate'].feature_std, 'gate.feature_std', 'missing');
    expectFieldErrorIn(euclidean(), (g) => (g['gate'].feature_std = 'gate.feature_mean'), 'gate.feature_std', 'another tensor');
  });

  it('gate.feature "answer": F = 5, with gate.answer = {tokens, max_prompt_tokens}', () => {
    const m = parseGeneratorManifest(answer());
    expect(m.gate).toMatchObject({ feature: 'answer', metric: 'euclidean', answer: { tokens: 4, max_prompt_tokens: 320 } });
    const shapes = new Map(expectedGeneratorTensors(m).map((t) => [t.name, t.shape]));
    expect(shapes.get('gate.centroids')).toEqual([3, 5]);
    expect(shapes.get('gate.feature_std')).toEqual([5]);
    expectFieldErrorIn(answer, (g) => delete g['gate'].answer, 'gate.answer', 'must be an object');
    expectFieldErrorIn(answer, (g) => (g['gate'].answer.tokens = 0), 'gate.answer.tokens', 'positive integer');
    expectFieldErrorIn(answer, (g) => (g['gate'].answer.max_prompt_tokens = 2.5), 'gate.answer.max_prompt_tokens', 'integer');
    expectFieldErrorIn(answer, (g) => delete g['gate'].answer.max_prompt_tokens, 'gate.answer.max_prompt_tokens', 'missing');
  });

  it('examples: template "chat-answer", validation_rows >= 0 and a grid rising from 0 to at most 1', () => {
    expect(parseGeneratorManifest(validManifestV2Json()).examples).toBeUndefined();
    expect(parseGeneratorManifest(withExamples()).examples).toEqual({ template: 'chat-answer', validation_rows: 16, grid: [0, 0.25, 0.5, 0.75, 1] });
    expect(parseGeneratorManifest({ ...withExamples(), examples: { template: 'chat-answer', validation_rows: 0, grid: [0, 1] } }).examples?.validation_rows).toBe(0);
    expectFieldErrorIn(withExamples, (m) => (m['examples'] = [1]), 'examples', 'must be an object');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].template = 'chat'), 'examples.template', '"chat-answer"', 'chat');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].validation_rows = -1), 'examples.validation_rows', 'non-negative');
    expectFieldErrorIn(withExamples, (m) => delete m['examples'].validation_rows, 'examples.validation_rows', 'missing');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].grid = [0]), 'examples.grid', 'at least two scales');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].grid = [0.5, 1]), 'examples.grid', 'rise from 0');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].grid = [0, 1.5]), 'examples.grid', 'at most 1');
    expectFieldErrorIn(withExamples, (m) => (m['examples'].grid = [0, null]), 'examples.grid[1]', 'must be a number');
    // a version-1 reader would ignore it: refused, as the other version-2 fields
    expectFieldError((m) => (m['examples'] = withExamples()['examples']), 'examples', 'version 2 field');
  });

  it('examples do not need a gate (examples mode is sized by validation, not the kNN table)', () => {
    const { gate: _, ...json } = withExamples() as Json;
    const m = parseGeneratorManifest(json);
    expect(m.gate).toBeUndefined();
    expect(m.examples?.grid).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
});

describe('parseGeneratorManifest refuses, naming the field', () => {
  it('something that is not an object', () => {
    expect(() => parseGeneratorManifest(null)).toThrow(GeneratorFormatError);
    expect(() => parseGeneratorManifest([1])).toThrow(/field \(root\): must be an object/);
  });

  it('a wrong format or version', () => {
    expectFieldError((m) => (m['format'] = 'something-else'), 'format', '"dnd-lora-generator"', 'something-else');
    expectFieldError((m) => delete m['format'], 'format', 'missing');
    expectFieldError((m) => (m['version'] = 3), 'version', 'must be 1 or 2', 'got number 3');
    expectFieldError((m) => (m['version'] = '1'), 'version');
  });

  it('missing sections and fields', () => {
    expectFieldError((m) => delete m['base_model'], 'base_model', 'must be an object', 'missing');
    expectFieldError((m) => delete m['base_model'].id, 'base_model.id', 'non-empty string');
    expectFieldError((m) => delete m['encoder'].prompt_count, 'encoder.prompt_count', 'missing');
    expectFieldError((m) => delete m['decoder'].layer_norm_eps, 'decoder.layer_norm_eps');
    expectFieldError((m) => delete m['tokens'].std, 'tokens.std');
    expectFieldError((m) => delete m['lora'].layout, 'lora.layout', 'must be a list');
    expectFieldError((m) => delete m['training'], 'training', 'must be an object');
  });

  it('bad scalar fields', () => {
    expectFieldError((m) => (m['base_model'].weights_sha256 = 'abc'), 'base_model.weights_sha256', '64 hexadecimal digits');
    expectFieldError((m) => (m['encoder'].pooling = 'max'), 'encoder.pooling', '"none", "mean"');
    expectFieldError((m) => (m['encoder'].layer = 1.5), 'encoder.layer', 'integer');
    expectFieldError((m) => (m['encoder'].channels = 0), 'encoder.channels', 'positive integer');
    expectFieldError((m) => (m['decoder'].layer_norm_eps = -1), 'decoder.layer_norm_eps', 'positive');
    expectFieldError((m) => (m['tokens'].normalization = 'global'), 'tokens.normalization');
    expectFieldError((m) => (m['lora'].alpha = 0), 'lora.alpha');
    expectFieldError((m) => (m['lora'].rank = '2'), 'lora.rank');
  });

  it('features that are not lists of 3 positive integers', () => {
    expectFieldError((m) => (m['decoder'].features = 'x'), 'decoder.features', 'must be a list');
    expectFieldError((m) => (m['decoder'].features = [[4, 6, 8]]), 'decoder.features', 'at least 2');
    expectFieldError((m) => (m['decoder'].features[1] = [8, 5]), 'decoder.features[1]', '3 positive integers');
    expectFieldError((m) => (m['decoder'].features[2] = [8, 0, 10]), 'decoder.features[2][1]', 'positive integer');
    expectFieldError((m) => (m['decoder'].features[2] = [8, 5, 2.5]), 'decoder.features[2][2]', 'integer');
    expectFieldError((m) => (m['decoder'].features[1][0] = -8), 'decoder.features[1][0]');
  });

  it('kernel sizes that are not odd positive integers, or not one per layer', () => {
    expectFieldError((m) => (m['decoder'].kernel_sizes = [3, 5]), 'decoder.kernel_sizes', '3 for 4 features, got 2');
    expectFieldError((m) => (m['decoder'].kernel_sizes = [3, 5, 1, 3]), 'decoder.kernel_sizes', 'got 4');
    expectFieldError((m) => (m['decoder'].kernel_sizes[1] = 4), 'decoder.kernel_sizes[1]', 'must be odd');
    expectFieldError((m) => (m['decoder'].kernel_sizes[0] = -3), 'decoder.kernel_sizes[0]', 'positive');
    expectFieldError((m) => (m['decoder'].kernel_sizes[2] = 0), 'decoder.kernel_sizes[2]', 'positive');
  });

  it('a first feature that is not the condition shape when pooling is "none"', () => {
    expectFieldError((m) => (m['encoder'].max_tokens = 7), 'decoder.features[0]', '(4, 7, 8)', 'got (4, 6, 8)');
    expectFieldError((m) => (m['decoder'].features[0] = [4, 8, 6]), 'decoder.features[0]', 'pooling is "none"');
  });

  it('token sizes inconsistent with the last feature', () => {
    expectFieldError((m) => (m['tokens'].height = 5), 'tokens.height', 'decoder.features[3][1] = 4');
    expectFieldError((m) => (m['tokens'].width = 4), 'tokens.width', 'decoder.features[3][2] = 5');
    expectFieldError((m) => (m['tokens'].count = 15), 'tokens.count', 'decoder.features[3][0] = 14');
  });

  it('target modules and module table that do not agree', () => {
    expectFieldError((m) => (m['lora'].target_modules = []), 'lora.target_modules', 'at least one');
    expectFieldError((m) => (m['lora'].target_modules = ['q_proj', 'q_proj']), 'lora.target_modules[1]', 'repeats');
    expectFieldError((m) => delete m['lora'].modules.v_proj, 'lora.modules.v_proj', 'missing');
    expectFieldError((m) => (m['lora'].modules.k_proj = { parent: 'self_attn', in: 16, out: 8 }), 'lora.modules.k_proj', 'does not list');
    expectFieldError((m) => (m['lora'].modules.v_proj.parent = 'mlp'), 'lora.modules.v_proj.parent', '"self_attn"');
    expectFieldError((m) => (m['lora'].modules.v_proj.parent = 'attn'), 'lora.modules.v_proj.parent');
    expectFieldError((m) => (m['lora'].modules.v_proj.in = 0), 'lora.modules.v_proj.in', 'positive');
    expectFieldError((m) => delete m['lora'].modules.v_proj.out, 'lora.modules.v_proj.out');
  });

  it('module shapes that contradict each other (Llama hidden size)', () => {
    expectFieldError(
      (m) => (m['lora'].modules.v_proj.in = 32),
      'lora.modules.v_proj.in',
      'must equal lora.modules.q_proj.in = 16',
      'hidden size',
    );
  });

  it('a module name that is not one of the usual Llama projections needs a parent', () => {
    expectFieldError(
      (m) => {
        m['lora'].target_modules = ['q_proj', 'v_proj', 'custom'];
        m['lora'].modules.custom = { in: 4, out: 4 };
      },
      'lora.modules.custom.parent',
    );
  });

  it('layout entries out of order', () => {
    expectFieldError(
      (m) => {
        const l = m['lora'].layout;
        [l[0], l[1]] = [l[1], l[0]];
      },
      'lora.layout[0]',
      'out of order',
      'expected (layer 0, q_proj, A)',
    );
    expectFieldError((m) => (m['lora'].layout[4].layer = 0), 'lora.layout[4]', 'out of order');
    expectFieldError((m) => (m['lora'].layout[4].layer = 2), 'lora.layout[4].layer', 'below lora.num_layers = 2');
    expectFieldError((m) => (m['lora'].layout[2].module = 'k_proj'), 'lora.layout[2].module', 'not in lora.target_modules');
    expectFieldError((m) => (m['lora'].layout[2].matrix = 'C'), 'lora.layout[2].matrix');
  });

  it('overlapping layout entries, and gaps', () => {
    expectFieldError((m) => (m['lora'].layout[3].token_offset = 5), 'lora.layout[3].token_offset', 'overlaps', 'ends at token 6');
    expectFieldError((m) => (m['lora'].layout[3].token_offset = 7), 'lora.layout[3].token_offset', 'gap');
  });

  it('a token_count that is not ceil(rows*cols / (h*w))', () => {
    expectFieldError((m) => (m['lora'].layout[3].token_count = 2), 'lora.layout[3].token_count', 'ceil(16 / 20) = 1', 'got 2');
  });

  it('entries that exceed tokens.count, are missing, or are extra', () => {
    expectFieldError(
      (m) => {
        m['lora'].modules.v_proj.out = 16; // v_proj B now needs 2 tokens -> 16 in all
        for (const i of [3, 7]) {
          m['lora'].layout[i].rows = 16;
          m['lora'].layout[i].token_count = 2;
        }
        for (let i = 4; i < 8; i++) m['lora'].layout[i].token_offset += 1;
      },
      'lora.layout[7]',
      'exceed tokens.count = 14',
    );
    expectFieldError((m) => m['lora'].layout.pop(), 'lora.layout', 'has 7 entries but needs 8', '(layer 1, v_proj, B)');
    expectFieldError((m) => m['lora'].layout.push({ ...m['lora'].layout[7], token_offset: 14 }), 'lora.layout[8]', 'extra');
  });

  it('A/B shapes that do not match the rank or the module table', () => {
    expectFieldError((m) => (m['lora'].layout[0].rows = 3), 'lora.layout[0].rows', 'lora.rank = 2');
    expectFieldError((m) => (m['lora'].layout[1].cols = 4), 'lora.layout[1].cols', 'lora.rank = 2');
    expectFieldError((m) => (m['lora'].rank = 4), 'lora.layout[0].rows', 'lora.rank = 4');
    expectFieldError((m) => (m['lora'].layout[0].cols = 8), 'lora.layout[0]', 'q_proj.A must be 2 x 16', 'got 2 x 8');
    expectFieldError((m) => (m['lora'].layout[3].rows = 16), 'lora.layout[3]', 'v_proj.B must be 8 x 2');
  });

  it('a tokens.count larger than the layout fills', () => {
    expectFieldError(
      (m) => {
        m['decoder'].features[3] = [15, 4, 5];
        m['tokens'].count = 15;
      },
      'tokens.count',
      'lora.layout fills 14 tokens',
    );
  });
});

describe('checkGeneratorTensors', () => {
  const manifest = parseGeneratorManifest(validManifestJson());

  it('lists every decoder tensor with the shapes of docs/hyperconv.md', () => {
    const byName = new Map(expectedGeneratorTensors(manifest).map((t) => [t.name, t.shape]));
    expect(byName.size).toBe(3 * 9 + 2);
    // layer 0: (4, 6, 8) -> (8, 5, 10), k = 3
    expect(byName.get('decoder.layers.0.norm.weight')).toEqual([6, 8]);
    expect(byName.get('decoder.layers.0.norm.bias')).toEqual([6, 8]);
    expect(byName.get('decoder.layers.0.a_w.weight')).toEqual([10, 8, 3, 3]);
    expect(byName.get('decoder.layers.0.a_h.weight')).toEqual([5, 6, 3, 3]);
    expect(byName.get('decoder.layers.0.b_h.weight')).toEqual([5, 6, 3, 3]);
    expect(byName.get('decoder.layers.0.b_w.weight')).toEqual([10, 8, 3, 3]);
    expect(byName.get('decoder.layers.0.bias')).toEqual([5, 10]);
    expect(byName.get('decoder.layers.0.len_conv.weight')).toEqual([8, 4, 3, 3]);
    expect(byName.get('decoder.layers.0.len_conv.bias')).toEqual([8]);
    // layer 1 is residual (8, 5, 10) -> (8, 5, 10), k = 5; layer 2 (8, 5, 10) -> (14, 4, 5), k = 1
    expect(byName.get('decoder.layers.1.len_conv.weight')).toEqual([8, 8, 5, 5]);
    expect(byName.get('decoder.layers.2.a_h.weight')).toEqual([4, 5, 1, 1]);
    expect(byName.get('decoder.layers.2.len_conv.weight')).toEqual([14, 8, 1, 1]);
    expect(byName.get('tokens.mean')).toEqual([14, 4, 5]);
    expect(byName.get('tokens.std')).toEqual([14, 4, 5]);
  });

  it('accepts a matching file and reports extra tensors as warnings', () => {
    const file = parseSafetensors(
      encodeSafetensors({ ...tensorsFor(manifest), 'extra.thing': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }),
      'generator.safetensors',
    );
    const result = checkGeneratorTensors(manifest, file);
    expect(result.unexpected).toEqual(['extra.thing']);
    expect(result.warnings[0]).toContain('"extra.thing"');
    expect(checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(tensorsFor(manifest, 'F32')))).warnings).toEqual([]);
  });

  it('lists every missing tensor', () => {
    const tensors = tensorsFor(manifest);
    delete tensors['decoder.layers.1.a_w.weight'];
    delete tensors['tokens.std'];
    let caught: unknown;
    try {
      checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(tensors), 'generator.safetensors'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MissingTensorError);
    const err = caught as MissingTensorError;
    expect(err.code).toBe('missing-tensor');
    expect(err.tensors).toEqual(['decoder.layers.1.a_w.weight', 'tokens.std']);
    expect(err.message).toContain('generator.safetensors lacks 2 tensors "decoder.layers.1.a_w.weight", "tokens.std"');
  });

  it('names the tensor whose shape differs', () => {
    const tensors = tensorsFor(manifest);
    tensors['decoder.layers.2.len_conv.weight'] = { dtype: 'F16', shape: [14, 8, 3, 3], data: new Float32Array(14 * 8 * 9) };
    const file = parseSafetensors(encodeSafetensors(tensors), 'generator.safetensors');
    expect(() => checkGeneratorTensors(manifest, file)).toThrow(TensorShapeError);
    expect(() => checkGeneratorTensors(manifest, file)).toThrow(
      'tensor "decoder.layers.2.len_conv.weight" has shape (14, 8, 3, 3) but generator.json implies (14, 8, 1, 1)',
    );
    const meanTensors = tensorsFor(manifest);
    meanTensors['tokens.mean'] = { dtype: 'F32', shape: [14, 20], data: new Float32Array(280) };
    expect(() => checkGeneratorTensors(manifest, parseSafetensors(encodeSafetensors(meanTensors)))).toThrow(/"tokens\.mean" has shape \(14, 20\)/);
  });

  it('refuses a tensor stored in a non-float dtype', () => {
    const tensors = tensorsFor(manifest, 'F32');
    const enc = parseSafetensors(encodeSafetensors(tensors));
    // rebuild the file with tokens.std as I32 of the same shape
    const header: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (const name of enc.names()) {
      const info = enc.info(name);
      header[name] = { dtype: name === 'tokens.std' ? 'I32' : info.dtype, shape: info.shape, data_offsets: [offset, offset + info.byteLength] };
      parts.push(enc.bytes(name));
      offset += info.byteLength;
    }
    const data = new Uint8Array(offset);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    const file = parseSafetensors(rawSafetensors(header, data), 'generator.safetensors');
    expect(() => checkGeneratorTensors(manifest, file)).toThrow(TensorDtypeError);
    expect(() => checkGeneratorTensors(manifest, file)).toThrow(/"tokens\.std" is stored as I32/);
  });
});

describe('base model hash', () => {
  const manifest = parseGeneratorManifest(validManifestJson());

  it('sha256Hex matches the standard test vectors, for buffers and views', async () => {
    expect(await sha256Hex(new ArrayBuffer(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const padded = new TextEncoder().encode('xxabcxx');
    expect(await sha256Hex(padded.subarray(2, 5))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new DataView(padded.buffer, 2, 3))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('says what to do when crypto.subtle is unavailable (insecure context)', async () => {
    vi.stubGlobal('crypto', undefined);
    try {
      await expect(sha256Hex(new ArrayBuffer(1))).rejects.toThrow(WebCryptoUnavailableError);
      await expect(sha256Hex(new ArrayBuffer(1))).rejects.toThrow(/https/);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(await sha256Hex(new ArrayBuffer(0))).toMatch(/^e3b0c442/);
  });

  it('accepts the matching hash in any case', () => {
    expect(() => checkBaseModelHash(manifest, 'AB'.repeat(32))).not.toThrow();
    expect(() => checkBaseModelHash(manifest, ` ${'ab'.repeat(32)}\n`)).not.toThrow();
  });

  it('refuses another base model, saying which is expected and which is loaded', () => {
    let caught: unknown;
    try {
      checkBaseModelHash(manifest, 'cd'.repeat(32), 'SmolLM2-135M-Instruct');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BaseModelMismatchError);
    expect(caught).toBeInstanceOf(GeneratorError);
    const err = caught as BaseModelMismatchError;
    expect(err.code).toBe('base-model-mismatch');
    expect(err.name).toBe('BaseModelMismatchError');
    expect(err.message).toContain(`trained for base model "tiny-base" (weights sha256 ${'ab'.repeat(32)})`);
    expect(err.message).toContain(`loaded base model is "SmolLM2-135M-Instruct" (weights sha256 ${'cd'.repeat(32)})`);
    expect(() => checkBaseModelHash(manifest, 'cd'.repeat(32))).toThrow(`loaded base model is weights with sha256 ${'cd'.repeat(32)}`);
  });
});

describe.skipIf(!fixturePresent)(`the trainer's parity fixture${fixturePresent ? '' : ` — SKIPPED: ${FIXTURE_SKIP_REASON}`}`, () => {
  it('generator.json validates and matches generator.safetensors exactly', () => {
    const manifest = parseGeneratorManifest(JSON.parse(new TextDecoder().decode(readFixture('generator.json'))));
    const file = parseSafetensors(readFixture('generator.safetensors'), 'generator.safetensors');
    const result = checkGeneratorTensors(manifest, file);
    expect(result.unexpected).toEqual([]);
    expect(file.names().length).toBe(manifest.decoder.kernel_sizes.length * 9 + 2);
  });

  it('its base hash is the documented SHA-256 of "fixture-random"', async () => {
    const manifest = parseGeneratorManifest(JSON.parse(new TextDecoder().decode(readFixture('generator.json'))));
    const hash = await sha256Hex(new TextEncoder().encode(manifest.base_model.id));
    expect(() => checkBaseModelHash(manifest, hash)).not.toThrow();
  });

  it('io.safetensors holds input and output in the shapes of features[0] and features[-1]', () => {
    const manifest = parseGeneratorManifest(JSON.parse(new TextDecoder().decode(readFixture('generator.json'))));
    const io = parseSafetensors(readFixture('io.safetensors'), 'io.safetensors');
    const f = manifest.decoder.features;
    const batch = io.info('input').shape[0] as number;
    expect(io.info('input').shape).toEqual([batch, ...(f[0] as readonly number[])]);
    expect(io.info('output').shape).toEqual([batch, ...(f[f.length - 1] as readonly number[])]);
    for (let i = 0; i < f.length - 1; i++) expect(io.info(`layer.${i}`).shape).toEqual([batch, ...(f[i + 1] as readonly number[])]);
  });
});
