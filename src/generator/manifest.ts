/**
 * `generator.json` (docs/generator-manifest.md, format versions 1 and 2): types, validation, and the
 * checks that tie a manifest to its `generator.safetensors` and to the loaded base model.
 *
 * Field names mirror the JSON file (snake_case) so that the manifest reads the same everywhere.
 * Unknown extra fields are ignored; every documented field is required and checked, and each
 * failure throws a {@link GeneratorFormatError} naming the field path (e.g. `decoder.features[2]`).
 *
 * Version 2 (trainer/generator/release.py) adds `encoder.window` / `encoder.max_input_tokens` (the
 * tail window), the `shared_lora_residual` token normalisation, the kNN `gate` (feature "condition",
 * "output" or "answer"; metric "cosine" or "euclidean"; rule "mean" or "risk") and the optional
 * `examples` section (the generator also reads prompts with their answers). A version-1
 * manifest is read with the version-1 meaning filled in (`window: "head"`, `max_input_tokens = max_tokens`,
 * no gate), so the code downstream has one shape to handle; a version-2 field in a version-1 file is refused.
 */

import {
  BaseModelMismatchError,
  GeneratorFormatError,
  MissingTensorError,
  TensorDtypeError,
  TensorShapeError,
  WebCryptoUnavailableError,
} from './errors';
import {
  DEFAULT_PARENTS,
  buildLoraLayout,
  type LoraLayoutEntry,
  type LoraMatrix,
  type LoraModuleSpec,
  type LoraParent,
} from './loraLayout';
import { FLOAT_DTYPES, type SafetensorsFile } from './safetensors';

export const GENERATOR_FORMAT = 'dnd-lora-generator';
/** The manifest versions this app reads. */
export const GENERATOR_FORMAT_VERSIONS = [1, 2] as const;
export type GeneratorFormatVersion = (typeof GENERATOR_FORMAT_VERSIONS)[number];

/** (N, H, W) of one decoder stage. */
export type Feature = readonly [number, number, number];

export type EncoderPooling = 'none' | 'mean';
/** Which ids of a prompt condition the generator: the first L ("head", version 1) or the last W ("tail"). */
export type EncoderWindow = 'head' | 'tail';
export type TokenNormalization = 'per_matrix' | 'per_position' | 'per_position_mean' | 'shared_lora_residual';

/**
 * What the gate compares (trainer/generator/gate.py): "condition", the mean of the condition's non-zero
 * rows (C values); "output", each raw decoder output token's mean and population std (2 x tokens.count);
 * "answer", how the base model starts to answer the prompts and what the adapter does to that start
 * (trainer/generator/answer_features.py: 5 values).
 */
export type GateFeature = 'condition' | 'output' | 'answer';

/** The answer feature's width (trainer/generator/manifest.py `ANSWER_FEATURES`). */
export const ANSWER_FEATURE_WIDTH = 5;

/**
 * What "near" means (trainer/generator/gate.py `GateTable.similarity`): "cosine" (query and centroids
 * centred by the mean centroid, cosine similarity) or "euclidean" (each feature standardised by the
 * stored `gate.feature_mean` / `gate.feature_std`, similarity 1 / (1 + squared distance)).
 */
export type GateMetric = 'cosine' | 'euclidean';

/** The answer feature's settings (`gate.answer`): how many tokens the base model answers, how long a prompt is kept. */
export interface AnswerFeatureSpec {
  /** M: greedy base-model tokens per prompt (no stop token: exactly M). */
  tokens: number;
  /** The chat-rendered prompt keeps its last `max_prompt_tokens` ids. */
  max_prompt_tokens: number;
}

/**
 * Examples mode (optional, top-level `examples`): the generator also reads answered rows, rendered by
 * `template` ("chat-answer": the user turn and the assistant's answer), and the adapter is then sized
 * by the validation gate: the scale of `grid` with the least response NLL on up to `validation_rows`
 * answered rows that are not in the condition (trainer/evaluate/examples_eval.py).
 */
export interface ExamplesSpec {
  template: 'chat-answer';
  validation_rows: number;
  /** Scales rising from 0 to at most 1, at least two. */
  grid: number[];
}

/**
 * How the k nearest tasks give the gate's value (trainer/generator/gate.py `GateTable`): "mean", the
 * weighted mean of their best scales (the first releases); "risk", the grid scale with the least
 * weighted mean of d + risk·max(d, 0) over their NLL curves d relative to the base model.
 */
export type GateRule = 'mean' | 'risk';

/** Version 2's kNN gate (trainer/generator/gate.py): how much of each generated adapter to apply. */
export interface GateSpec {
  kind: 'knn';
  /** Nearest tasks averaged (at most M). */
  k: number;
  /** The query's feature ("condition" when the manifest does not say). */
  feature: GateFeature;
  /** Tensor name of the (M, F) float centroids (raw, not centred); F: see `gateFeatureWidth`. */
  centroids: string;
  /** Tensor name of the (M,) scales in [0, 1]. */
  scales: string;
  /** What the gate multiplies: "B" (every B matrix, i.e. the delta B·A). */
  applies_to: 'B';
  /** M, when the manifest states it. */
  tasks?: number;
  /** "mean" when the manifest does not say. */
  rule: GateRule;
  /** Rule "risk": tensor name of the (M, S) NLL curves (NLL at each grid scale minus NLL at 0). */
  curves?: string;
  /** Rule "risk": the S scales, rising from 0 to at most 1. */
  grid?: number[];
  /** Rule "risk": how much more a harm weighs than a gain of the same size (>= 0). */
  risk?: number;
  /** "cosine" when the manifest does not say. */
  metric: GateMetric;
  /** Metric "euclidean": tensor names of the (F,) mean and standard deviation (> 0) queries and centroids are standardised by. */
  feature_mean?: string;
  feature_std?: string;
  /** Feature "answer": its settings. */
  answer?: AnswerFeatureSpec;
}
export interface GeneratorManifest {
  format: typeof GENERATOR_FORMAT;
  version: GeneratorFormatVersion;
  base_model: {
    id: string;
    /** lower-case hex */
    weights_sha256: string;
  };
  encoder: {
    id: string;
    kind: string;
    layer: number;
    prompt_count: number;
    max_tokens: number;
    pooling: EncoderPooling;
    channels: number;
    template: string;
    /** "head" in version 1. */
    window: EncoderWindow;
    /** W: ids per prompt that run through the encoder (= max_tokens in version 1). */
    max_input_tokens: number;
  };
  decoder: {
    features: Feature[];
    kernel_sizes: number[];
    layer_norm_eps: number;
  };
  tokens: {
    height: number;
    width: number;
    count: number;
    normalization: TokenNormalization;
    /** tensor name of the (count, h, w) mean */
    mean: string;
    /** tensor name of the (count, h, w) std */
    std: string;
  };
  lora: {
    rank: number;
    alpha: number;
    num_layers: number;
    target_modules: string[];
    modules: Record<string, LoraModuleSpec>;
    layout: LoraLayoutEntry[];
  };
  /** Version 2, optional: the kNN gate; absent: every adapter is applied in full. */
  gate?: GateSpec;
  /** Version 2, optional: examples mode (answered rows as the condition, the validation gate); absent: prompts only. */
  examples?: ExamplesSpec;
  /** free-form training summary (with a gate: `gate_tasks`, the M task names, is required) */
  training: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// field readers: each takes the value and its path, and throws GeneratorFormatError naming the path

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list ${JSON.stringify(value).slice(0, 80)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function fail(path: string, detail: string): never {
  throw new GeneratorFormatError(path, detail);
}

function obj(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, `must be an object, got ${describe(value)}`);
  return value as Json;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(path, `must be a non-empty string, got ${describe(value)}`);
  return value;
}

function int(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `must be an integer, got ${describe(value)}`);
  return value;
}

function posInt(value: unknown, path: string): number {
  const n = int(value, path);
  if (n < 1) fail(path, `must be a positive integer, got ${n}`);
  return n;
}

function nonNegInt(value: unknown, path: string): number {
  const n = int(value, path);
  if (n < 0) fail(path, `must be a non-negative integer, got ${n}`);
  return n;
}

function posNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(path, `must be a positive finite number, got ${describe(value)}`);
  }
  return value;
}

function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, `must be a list, got ${describe(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A scale grid (trainer: "must rise from 0 to at most 1, at least two scales"). */
function scaleGrid(value: unknown, path: string): number[] {
  const grid = list(value, path).map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${path}[${i}]`, `must be a number, got ${describe(x)}`);
    return x;
  });
  if (grid.length < 2 || grid[0] !== 0 || (grid.at(-1) as number) > 1 || grid.some((x, i) => i > 0 && x <= (grid[i - 1] as number))) {
    fail(path, `must rise from 0 to at most 1 with at least two scales, got ${describe(value)}`);
  }
  return grid;
}

function feature(value: unknown, path: string): Feature {
  const items = list(value, path);
  if (items.length !== 3) fail(path, `must be a list of 3 positive integers (N, H, W), got ${describe(value)}`);
  return [posInt(items[0], `${path}[0]`), posInt(items[1], `${path}[1]`), posInt(items[2], `${path}[2]`)];
}

const sameFeature = (a: Feature, b: Feature): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
const fmt = (f: readonly number[]): string => `(${f.join(', ')})`;

// ---------------------------------------------------------------------------------------------
// sections

function parseBaseModel(value: unknown): GeneratorManifest['base_model'] {
  const o = obj(value, 'base_model');
  const hash = str(o['weights_sha256'], 'base_model.weights_sha256');
  if (!/^[0-9a-fA-F]{64}$/.test(hash)) fail('base_model.weights_sha256', `must be 64 hexadecimal digits (a SHA-256), got ${describe(hash)}`);
  return { id: str(o['id'], 'base_model.id'), weights_sha256: hash.toLowerCase() };
}

/** A version-2 field in a version-1 manifest would be silently ignored by a version-1 reader: refuse it. */
function notInVersion1(o: Json, key: string, path: string, version: GeneratorFormatVersion): void {
  if (version === 1 && o[key] !== undefined) fail(path, 'is a version 2 field, but this manifest says version 1; write it as version 2');
}

function parseEncoder(value: unknown, version: GeneratorFormatVersion): GeneratorManifest['encoder'] {
  const o = obj(value, 'encoder');
  const max_tokens = posInt(o['max_tokens'], 'encoder.max_tokens');
  notInVersion1(o, 'window', 'encoder.window', version);
  notInVersion1(o, 'max_input_tokens', 'encoder.max_input_tokens', version);
  const window = version === 1 ? 'head' : oneOf(o['window'], ['head', 'tail'] as const, 'encoder.window');
  const max_input_tokens = version === 1 ? max_tokens : posInt(o['max_input_tokens'], 'encoder.max_input_tokens');
  if (max_input_tokens < max_tokens) {
    fail('encoder.max_input_tokens', `must be at least encoder.max_tokens = ${max_tokens} (the kept rows come from these ids), got ${max_input_tokens}`);
  }
  return {
    id: str(o['id'], 'encoder.id'),
    kind: str(o['kind'], 'encoder.kind'),
    layer: int(o['layer'], 'encoder.layer'),
    prompt_count: posInt(o['prompt_count'], 'encoder.prompt_count'),
    max_tokens,
    pooling: oneOf(o['pooling'], ['none', 'mean'] as const, 'encoder.pooling'),
    channels: posInt(o['channels'], 'encoder.channels'),
    template: str(o['template'], 'encoder.template'),
    window,
    max_input_tokens,
  };
}

function parseDecoder(value: unknown, encoder: GeneratorManifest['encoder']): GeneratorManifest['decoder'] {
  const o = obj(value, 'decoder');
  const rawFeatures = list(o['features'], 'decoder.features');
  if (rawFeatures.length < 2) {
    fail('decoder.features', `must list at least 2 shapes (input and output of one layer), got ${rawFeatures.length}`);
  }
  const features = rawFeatures.map((f, i) => feature(f, `decoder.features[${i}]`));
  const rawKernels = list(o['kernel_sizes'], 'decoder.kernel_sizes');
  if (rawKernels.length !== features.length - 1) {
    fail(
      'decoder.kernel_sizes',
      `must have one entry per layer: ${features.length - 1} for ${features.length} features, got ${rawKernels.length}`,
    );
  }
  const kernel_sizes = rawKernels.map((k, i) => {
    const n = posInt(k, `decoder.kernel_sizes[${i}]`);
    if (n % 2 !== 1) fail(`decoder.kernel_sizes[${i}]`, `must be odd ("same" padding needs (k-1)/2 on each side), got ${n}`);
    return n;
  });
  const first = features[0] as Feature;
  if (encoder.pooling === 'none') {
    const condition: Feature = [encoder.prompt_count, encoder.max_tokens, encoder.channels];
    if (!sameFeature(first, condition)) {
      fail(
        'decoder.features[0]',
        `must equal the condition shape (encoder.prompt_count, encoder.max_tokens, encoder.channels) = ` +
          `${fmt(condition)} when encoder.pooling is "none", got ${fmt(first)}`,
      );
    }
  }
  // With pooling "mean" the condition's shape is not pinned down by docs/generator-manifest.md, so
  // features[0] is not checked against the encoder section.
  return { features, kernel_sizes, layer_norm_eps: posNumber(o['layer_norm_eps'], 'decoder.layer_norm_eps') };
}

function parseTokens(value: unknown, decoder: GeneratorManifest['decoder']): GeneratorManifest['tokens'] {
  const o = obj(value, 'tokens');
  const last = decoder.features[decoder.features.length - 1] as Feature;
  const lastPath = `decoder.features[${decoder.features.length - 1}]`;
  const height = posInt(o['height'], 'tokens.height');
  const width = posInt(o['width'], 'tokens.width');
  const count = posInt(o['count'], 'tokens.count');
  if (height !== last[1]) fail('tokens.height', `must equal ${lastPath}[1] = ${last[1]} (the last feature's H), got ${height}`);
  if (width !== last[2]) fail('tokens.width', `must equal ${lastPath}[2] = ${last[2]} (the last feature's W), got ${width}`);
  if (count !== last[0]) fail('tokens.count', `must equal ${lastPath}[0] = ${last[0]} (the last feature's N), got ${count}`);
  return {
    height,
    width,
    count,
    // shared_lora_residual (version 2): mean = a learned shared LoRA, std = a per-matrix scale; un-normalised the same way
    normalization: oneOf(
      o['normalization'], ['per_matrix', 'per_position', 'per_position_mean', 'shared_lora_residual'] as const, 'tokens.normalization',
    ),
    mean: str(o['mean'], 'tokens.mean'),
    std: str(o['std'], 'tokens.std'),
  };
}

/** Llama projections whose sizes are tied to each other: [module, side] pairs that must agree. */
const TIED_SIZES: readonly { what: string; members: readonly [string, 'in' | 'out'][] }[] = [
  {
    what: 'the hidden size',
    members: [
      ['q_proj', 'in'],
      ['k_proj', 'in'],
      ['v_proj', 'in'],
      ['o_proj', 'out'],
      ['gate_proj', 'in'],
      ['up_proj', 'in'],
      ['down_proj', 'out'],
    ],
  },
  { what: 'the attention width (q_proj.out = o_proj.in)', members: [['q_proj', 'out'], ['o_proj', 'in']] },
  { what: 'the key/value width (k_proj.out = v_proj.out)', members: [['k_proj', 'out'], ['v_proj', 'out']] },
  {
    what: 'the MLP width (gate_proj.out = up_proj.out = down_proj.in)',
    members: [
      ['gate_proj', 'out'],
      ['up_proj', 'out'],
      ['down_proj', 'in'],
    ],
  },
];

function parseModules(value: unknown, targets: readonly string[]): Record<string, LoraModuleSpec> {
  const o = obj(value, 'lora.modules');
  const modules: Record<string, LoraModuleSpec> = {};
  for (const name of targets) {
    const path = `lora.modules.${name}`;
    const m = obj(o[name], path);
    const parent: LoraParent =
      m['parent'] === undefined && DEFAULT_PARENTS[name] !== undefined
        ? (DEFAULT_PARENTS[name] as LoraParent)
        : oneOf(m['parent'], ['self_attn', 'mlp'] as const, `${path}.parent`);
    const expectedParent = DEFAULT_PARENTS[name];
    if (expectedParent !== undefined && parent !== expectedParent) {
      fail(`${path}.parent`, `must be "${expectedParent}" (where ${name} lives in a Llama layer), got "${parent}"`);
    }
    modules[name] = { parent, in: posInt(m['in'], `${path}.in`), out: posInt(m['out'], `${path}.out`) };
  }
  for (const name of Object.keys(o)) {
    if (!targets.includes(name)) fail(`lora.modules.${name}`, 'describes a module that lora.target_modules does not list');
  }
  for (const { what, members } of TIED_SIZES) {
    let first: { path: string; size: number } | undefined;
    for (const [name, side] of members) {
      const spec = modules[name];
      if (spec === undefined) continue;
      const here = { path: `lora.modules.${name}.${side}`, size: spec[side] };
      if (first === undefined) first = here;
      else if (first.size !== here.size) {
        fail(here.path, `must equal ${first.path} = ${first.size} (both are ${what}), got ${here.size}`);
      }
    }
  }
  return modules;
}

function parseLora(value: unknown, tokens: GeneratorManifest['tokens']): GeneratorManifest['lora'] {
  const o = obj(value, 'lora');
  const rank = posInt(o['rank'], 'lora.rank');
  const alpha = posNumber(o['alpha'], 'lora.alpha');
  const num_layers = posInt(o['num_layers'], 'lora.num_layers');
  const rawTargets = list(o['target_modules'], 'lora.target_modules');
  if (rawTargets.length === 0) fail('lora.target_modules', 'must list at least one module');
  const target_modules = rawTargets.map((t, i) => str(t, `lora.target_modules[${i}]`));
  target_modules.forEach((t, i) => {
    if (target_modules.indexOf(t) !== i) fail(`lora.target_modules[${i}]`, `repeats "${t}"`);
  });
  const modules = parseModules(o['modules'], target_modules);

  // The layout must be exactly the documented one (as trainer/lora/tokens.py also requires).
  const expected = buildLoraLayout({ rank, num_layers, target_modules, modules }, tokens.height, tokens.width).entries;
  const rawLayout = list(o['layout'], 'lora.layout');
  const tokenSize = tokens.height * tokens.width;
  const layout: LoraLayoutEntry[] = [];
  let end = 0;
  for (let i = 0; i < rawLayout.length; i++) {
    const path = `lora.layout[${i}]`;
    const e = obj(rawLayout[i], path);
    const entry: LoraLayoutEntry = {
      layer: nonNegInt(e['layer'], `${path}.layer`),
      module: str(e['module'], `${path}.module`),
      matrix: oneOf<LoraMatrix>(e['matrix'], ['A', 'B'], `${path}.matrix`),
      rows: posInt(e['rows'], `${path}.rows`),
      cols: posInt(e['cols'], `${path}.cols`),
      token_offset: nonNegInt(e['token_offset'], `${path}.token_offset`),
      token_count: posInt(e['token_count'], `${path}.token_count`),
    };
    if (entry.layer >= num_layers) fail(`${path}.layer`, `must be below lora.num_layers = ${num_layers}, got ${entry.layer}`);
    const spec = modules[entry.module];
    if (spec === undefined) fail(`${path}.module`, `"${entry.module}" is not in lora.target_modules`);
    const want = expected[i];
    if (want === undefined) {
      fail(path, `is extra: ${num_layers} layers x ${target_modules.length} modules x (A, B) make ${expected.length} entries`);
    }
    if (entry.layer !== want.layer || entry.module !== want.module || entry.matrix !== want.matrix) {
      fail(
        path,
        `is out of order: expected (layer ${want.layer}, ${want.module}, ${want.matrix}) here, got ` +
          `(layer ${entry.layer}, ${entry.module}, ${entry.matrix}); the order is layers ascending, modules in ` +
          'lora.target_modules order, A then B',
      );
    }
    const [rows, cols] = entry.matrix === 'A' ? [rank, spec.in] : [spec.out, rank];
    const rankSide = entry.matrix === 'A' ? 'rows' : 'cols';
    if (entry[rankSide] !== rank) {
      fail(`${path}.${rankSide}`, `must equal lora.rank = ${rank} (${entry.matrix} is ${entry.matrix === 'A' ? 'rank x in' : 'out x rank'}), got ${entry[rankSide]}`);
    }
    if (entry.rows !== rows || entry.cols !== cols) {
      fail(
        path,
        `${entry.module}.${entry.matrix} must be ${rows} x ${cols} (from lora.modules.${entry.module}), got ${entry.rows} x ${entry.cols}`,
      );
    }
    const needed = Math.ceil((rows * cols) / tokenSize);
    if (entry.token_count !== needed) {
      fail(
        `${path}.token_count`,
        `must be ceil(rows*cols / (h*w)) = ceil(${rows * cols} / ${tokenSize}) = ${needed}, got ${entry.token_count}`,
      );
    }
    if (entry.token_offset < end) {
      fail(`${path}.token_offset`, `${entry.token_offset} overlaps the previous entry, which ends at token ${end}`);
    }
    if (entry.token_offset > end) {
      fail(`${path}.token_offset`, `${entry.token_offset} leaves a gap after the previous entry, which ends at token ${end}`);
    }
    end = entry.token_offset + entry.token_count;
    if (end > tokens.count) {
      fail(path, `tokens [${entry.token_offset}, ${end}) exceed tokens.count = ${tokens.count}`);
    }
    layout.push(entry);
  }
  if (layout.length < expected.length) {
    const missing = expected[layout.length] as LoraLayoutEntry;
    fail(
      'lora.layout',
      `has ${layout.length} entries but needs ${expected.length}; the first missing one is ` +
        `(layer ${missing.layer}, ${missing.module}, ${missing.matrix})`,
    );
  }
  if (end !== tokens.count) {
    fail('tokens.count', `is ${tokens.count} but lora.layout fills ${end} tokens; they must be equal`);
  }
  return { rank, alpha, num_layers, target_modules, modules, layout };
}

function parseGate(value: unknown): GateSpec {
  const o = obj(value, 'gate');
  const gate: GateSpec = {
    kind: oneOf(o['kind'], ['knn'] as const, 'gate.kind'),
    k: posInt(o['k'], 'gate.k'),
    feature: o['feature'] === undefined ? 'condition' : oneOf(o['feature'], ['condition', 'output', 'answer'] as const, 'gate.feature'),
    metric: o['metric'] === undefined ? 'cosine' : oneOf(o['metric'], ['cosine', 'euclidean'] as const, 'gate.metric'),
    centroids: str(o['centroids'], 'gate.centroids'),
    scales: str(o['scales'], 'gate.scales'),
    // the only target the trainer defines; anything else would be applied wrongly
    applies_to: o['applies_to'] === undefined ? 'B' : oneOf(o['applies_to'], ['B'] as const, 'gate.applies_to'),
    rule: o['rule'] === undefined ? 'mean' : oneOf(o['rule'], ['mean', 'risk'] as const, 'gate.rule'),
  };
  if (o['tasks'] !== undefined) gate.tasks = posInt(o['tasks'], 'gate.tasks');
  if (gate.centroids === gate.scales) fail('gate.scales', `must name another tensor than gate.centroids ("${gate.centroids}")`);
  if (gate.metric === 'euclidean') {
    gate.feature_mean = str(o['feature_mean'], 'gate.feature_mean');
    gate.feature_std = str(o['feature_std'], 'gate.feature_std');
    if (gate.feature_mean === gate.feature_std) fail('gate.feature_std', `must name another tensor than gate.feature_mean ("${gate.feature_mean}")`);
  }
  if (gate.feature === 'answer') {
    const a = obj(o['answer'], 'gate.answer');
    gate.answer = { tokens: posInt(a['tokens'], 'gate.answer.tokens'), max_prompt_tokens: posInt(a['max_prompt_tokens'], 'gate.answer.max_prompt_tokens') };
  }
  if (gate.rule === 'risk') {
    gate.curves = str(o['curves'], 'gate.curves');
    if (gate.curves === gate.centroids || gate.curves === gate.scales) fail('gate.curves', `must name its own tensor, got "${gate.curves}"`);
    gate.grid = scaleGrid(o['grid'], 'gate.grid');
    const risk = o['risk'] ?? 0;
    if (typeof risk !== 'number' || !Number.isFinite(risk) || risk < 0) fail('gate.risk', `must be a number >= 0, got ${describe(risk)}`);
    gate.risk = risk;
  }
  return gate;
}

function parseExamples(value: unknown): ExamplesSpec {
  const o = obj(value, 'examples');
  return {
    template: oneOf(o['template'], ['chat-answer'] as const, 'examples.template'),
    validation_rows: nonNegInt(o['validation_rows'], 'examples.validation_rows'),
    grid: scaleGrid(o['grid'], 'examples.grid'),
  };
}

/** With a gate, `training.gate_tasks` names its M tasks (shown to people as the prompts' nearest tasks). */
function checkGateTasks(training: Json, gate: GateSpec): void {
  const names = list(training['gate_tasks'], 'training.gate_tasks');
  names.forEach((n, i) => str(n, `training.gate_tasks[${i}]`));
  if (gate.tasks !== undefined && names.length !== gate.tasks) {
    fail('training.gate_tasks', `must list gate.tasks = ${gate.tasks} names, got ${names.length}`);
  }
}

/**
 * Validates a parsed `generator.json` and returns it typed.
 *
 * @throws GeneratorFormatError naming the first offending field
 */
export function parseGeneratorManifest(json: unknown): GeneratorManifest {
  const root = obj(json, '(root)');
  if (root['format'] !== GENERATOR_FORMAT) {
    fail('format', `must be "${GENERATOR_FORMAT}", got ${describe(root['format'])}: this is not a generator manifest`);
  }
  const version = root['version'];
  if (!(GENERATOR_FORMAT_VERSIONS as readonly unknown[]).includes(version)) {
    fail(
      'version',
      `must be ${GENERATOR_FORMAT_VERSIONS.join(' or ')}, got ${describe(version)}: this app reads manifest versions ` +
        `${GENERATOR_FORMAT_VERSIONS.join(' and ')} only`,
    );
  }
  const v = version as GeneratorFormatVersion;
  const base_model = parseBaseModel(root['base_model']);
  const encoder = parseEncoder(root['encoder'], v);
  const decoder = parseDecoder(root['decoder'], encoder);
  const tokens = parseTokens(root['tokens'], decoder);
  const lora = parseLora(root['lora'], tokens);
  notInVersion1(root, 'gate', 'gate', v);
  const gate = root['gate'] === undefined ? undefined : parseGate(root['gate']);
  const first = decoder.features[0] as Feature;
  if (gate?.feature === 'condition' && first[2] !== encoder.channels) {
    fail('gate', `pools rows of encoder.channels = ${encoder.channels} values, but the condition decoder.features[0] = ${fmt(first)} has rows of ${first[2]}`);
  }
  notInVersion1(root, 'examples', 'examples', v);
  const examples = root['examples'] === undefined ? undefined : parseExamples(root['examples']);
  const training = obj(root['training'], 'training');
  if (gate) checkGateTasks(training, gate);
  return {
    format: GENERATOR_FORMAT, version: v, base_model, encoder, decoder, tokens, lora, ...(gate ? { gate } : {}), ...(examples ? { examples } : {}), training,
  };
}

// ---------------------------------------------------------------------------------------------
// manifest <-> safetensors

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Every tensor `generator.safetensors` must hold for this manifest, with its shape (docs/hyperconv.md). */
export function expectedGeneratorTensors(manifest: GeneratorManifest): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const { features, kernel_sizes } = manifest.decoder;
  for (let i = 0; i < kernel_sizes.length; i++) {
    const [n, h, w] = features[i] as Feature;
    const [n2, h2, w2] = features[i + 1] as Feature;
    const k = kernel_sizes[i] as number;
    const p = `decoder.layers.${i}.`;
    out.push(
      { name: `${p}norm.weight`, shape: [h, w] },
      { name: `${p}norm.bias`, shape: [h, w] },
      { name: `${p}a_w.weight`, shape: [w2, w, k, k] },
      { name: `${p}a_h.weight`, shape: [h2, h, k, k] },
      { name: `${p}b_h.weight`, shape: [h2, h, k, k] },
      { name: `${p}b_w.weight`, shape: [w2, w, k, k] },
      { name: `${p}bias`, shape: [h2, w2] },
      { name: `${p}len_conv.weight`, shape: [n2, n, k, k] },
      { name: `${p}len_conv.bias`, shape: [n2] },
    );
  }
  const { count, height, width } = manifest.tokens;
  out.push({ name: manifest.tokens.mean, shape: [count, height, width] });
  if (manifest.tokens.std !== manifest.tokens.mean) out.push({ name: manifest.tokens.std, shape: [count, height, width] });
  if (manifest.gate) {
    const m = gateTaskNames(manifest).length;
    out.push({ name: manifest.gate.centroids, shape: [m, gateFeatureWidth(manifest)] }, { name: manifest.gate.scales, shape: [m] });
    if (manifest.gate.curves && manifest.gate.grid) out.push({ name: manifest.gate.curves, shape: [m, manifest.gate.grid.length] });
    const { feature_mean: mean, feature_std: std } = manifest.gate;
    if (mean && std) out.push({ name: mean, shape: [gateFeatureWidth(manifest)] }, { name: std, shape: [gateFeatureWidth(manifest)] });
  }
  return out;
}

/** F, the length of a gate query: encoder.channels ("condition"), 2 x tokens.count ("output") or 5 ("answer"); 0 without a gate. */
export function gateFeatureWidth(manifest: GeneratorManifest): number {
  if (!manifest.gate) return 0;
  switch (manifest.gate.feature) {
    case 'condition':
      return manifest.encoder.channels;
    case 'output':
      return 2 * manifest.tokens.count;
    case 'answer':
      return ANSWER_FEATURE_WIDTH;
  }
}

/** The M task names of a version-2 gate (`training.gate_tasks`, checked by parseGeneratorManifest); [] without a gate. */
export function gateTaskNames(manifest: GeneratorManifest): string[] {
  return manifest.gate ? (manifest.training['gate_tasks'] as string[]) : [];
}

export interface GeneratorTensorCheck {
  /** tensors in the file that the manifest does not use (harmless, but worth a console line) */
  unexpected: string[];
  /** human-readable warnings, one per unexpected tensor */
  warnings: string[];
}

/**
 * Checks that `generator.safetensors` holds every tensor the manifest needs, in the exact shape
 * and a float dtype. Extra tensors are reported as warnings, not errors.
 *
 * @throws MissingTensorError listing every missing tensor
 * @throws TensorShapeError for the first tensor whose shape differs
 * @throws TensorDtypeError for the first tensor that is not F32 / F16 / BF16
 */
export function checkGeneratorTensors(manifest: GeneratorManifest, file: SafetensorsFile): GeneratorTensorCheck {
  const expected = expectedGeneratorTensors(manifest);
  const missing = expected.filter((t) => !file.has(t.name)).map((t) => t.name);
  if (missing.length > 0) throw new MissingTensorError(file.fileName, missing);
  for (const t of expected) {
    const info = file.info(t.name);
    if (info.shape.length !== t.shape.length || info.shape.some((d, i) => d !== t.shape[i])) {
      throw new TensorShapeError(file.fileName, t.name, t.shape, info.shape);
    }
    if (!FLOAT_DTYPES.includes(info.dtype)) throw new TensorDtypeError(file.fileName, t.name, info.dtype, FLOAT_DTYPES);
  }
  const known = new Set(expected.map((t) => t.name));
  const unexpected = file.names().filter((n) => !known.has(n));
  const warnings = unexpected.map(
    (n) => `${file.fileName}: tensor "${n}" is not used by generator.json and will be ignored`,
  );
  return { unexpected, warnings };
}

// ---------------------------------------------------------------------------------------------
// base model

/**
 * Refuses a generator trained for a different base model.
 *
 * @param loadedSha256 SHA-256 (hex) of the loaded base model's `model.safetensors`
 * @param loadedId     the loaded model's id, for the message
 * @throws BaseModelMismatchError when the hashes differ
 */
export function checkBaseModelHash(manifest: GeneratorManifest, loadedSha256: string, loadedId?: string): void {
  const loaded = loadedSha256.trim().toLowerCase();
  if (loaded !== manifest.base_model.weights_sha256.toLowerCase()) {
    throw new BaseModelMismatchError(manifest.base_model.id, manifest.base_model.weights_sha256, loaded, loadedId);
  }
}

/**
 * SHA-256 of a buffer as lower-case hex, via WebCrypto (`crypto.subtle`; browsers, workers, Node >= 19).
 *
 * @throws WebCryptoUnavailableError outside a secure context
 */
export async function sha256Hex(data: ArrayBuffer | ArrayBufferView): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new WebCryptoUnavailableError();
  }
  const view =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // digest() wants an ArrayBuffer-backed view; copy if the bytes live in a SharedArrayBuffer.
  const input = view.buffer instanceof ArrayBuffer ? (view as Uint8Array<ArrayBuffer>) : new Uint8Array(view);
  const digest = await subtle.digest('SHA-256', input);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
