/**
 * LoRA <-> token layout: the TypeScript mirror of `trainer/lora/tokens.py` (DESIGN.md §4,
 * docs/generator-manifest.md).
 *
 * A LoRA for target module m of layer l has A (rank x in) and B (out x rank). The layout walks
 * layers ascending, modules in `target_modules` order, A then B; each matrix is flattened row-major
 * into ceil(rows*cols / (h*w)) consecutive tokens of h x w values. The tail of a matrix's last token
 * is padding (its normalisation stats are mean 0, std 1; detokenisation ignores it).
 *
 * Matrices are keyed by their PEFT tensor name,
 * `base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight`, as in the Python code,
 * so a detokenised map can be written straight into `adapter_model.safetensors`.
 */

import { GeneratorFormatError, TokenDataError } from './errors';
import type { SafetensorsTensorInput } from './safetensors';

export type LoraMatrix = 'A' | 'B';
export type LoraParent = 'self_attn' | 'mlp';

/** Where each usual Llama projection lives (mirror of `DEFAULT_PARENTS`). */
export const DEFAULT_PARENTS: Readonly<Record<string, LoraParent>> = Object.freeze({
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
});

/** One target module as the manifest's `lora.modules` table describes it. */
export interface LoraModuleSpec {
  parent: LoraParent;
  in: number;
  out: number;
}

/** The part of the manifest's `lora` section that determines the layout. */
export interface LoraLayoutConfig {
  rank: number;
  num_layers: number;
  target_modules: readonly string[];
  modules: Readonly<Record<string, LoraModuleSpec>>;
}

/** One entry of `lora.layout` (the manifest's field names). */
export interface LoraLayoutEntry {
  layer: number;
  module: string;
  matrix: LoraMatrix;
  rows: number;
  cols: number;
  token_offset: number;
  token_count: number;
}

/** A layout together with the token grid it lives in. */
export interface LoraTokenLayout {
  tokenHeight: number;
  tokenWidth: number;
  /** Tokens in the grid (the decoder's N_out). */
  tokenCount: number;
  entries: readonly LoraLayoutEntry[];
  /** module name -> parent (`self_attn` / `mlp`), from the manifest's module table. */
  parents: Readonly<Record<string, LoraParent>>;
}

/** The PEFT tensor name of one LoRA matrix. */
export function peftTensorName(layer: number, parent: LoraParent, module: string, matrix: LoraMatrix): string {
  return `base_model.model.model.layers.${layer}.${parent}.${module}.lora_${matrix}.weight`;
}

/** The key of a layout entry's matrix in detokenised maps: its PEFT tensor name. */
export function matrixKey(layout: Pick<LoraTokenLayout, 'parents'>, entry: Pick<LoraLayoutEntry, 'layer' | 'module' | 'matrix'>): string {
  const parent = layout.parents[entry.module];
  if (parent === undefined) {
    throw new GeneratorFormatError('lora.modules', `module "${entry.module}" has no entry (its parent is unknown)`);
  }
  return peftTensorName(entry.layer, parent, entry.module, entry.matrix);
}

/** (rows, cols) of a LoRA matrix: A is rank x in, B is out x rank. */
export function loraMatrixShape(spec: LoraModuleSpec, rank: number, matrix: LoraMatrix): [number, number] {
  return matrix === 'A' ? [rank, spec.in] : [spec.out, rank];
}

function positiveInt(value: number, path: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new GeneratorFormatError(path, `must be a positive integer, got ${String(value)}`);
}

/**
 * Builds the layout in the documented order (mirror of `build_layout`): layers ascending, modules
 * in `target_modules` order, A then B, tokens packed contiguously from 0.
 */
export function buildLoraLayout(lora: LoraLayoutConfig, tokenHeight: number, tokenWidth: number): LoraTokenLayout {
  positiveInt(lora.rank, 'lora.rank');
  positiveInt(lora.num_layers, 'lora.num_layers');
  positiveInt(tokenHeight, 'tokens.height');
  positiveInt(tokenWidth, 'tokens.width');
  const tokenSize = tokenHeight * tokenWidth;
  const parents: Record<string, LoraParent> = {};
  const specs: [string, LoraModuleSpec][] = [];
  for (const name of lora.target_modules) {
    const spec = lora.modules[name];
    if (spec === undefined) throw new GeneratorFormatError(`lora.modules.${name}`, 'is missing (every target module needs an entry)');
    if (name in parents) throw new GeneratorFormatError('lora.target_modules', `lists "${name}" twice`);
    parents[name] = spec.parent;
    specs.push([name, spec]);
  }
  const entries: LoraLayoutEntry[] = [];
  let offset = 0;
  for (let layer = 0; layer < lora.num_layers; layer++) {
    for (const [module, spec] of specs) {
      for (const matrix of ['A', 'B'] as const) {
        const [rows, cols] = loraMatrixShape(spec, lora.rank, matrix);
        const tokenCount = Math.ceil((rows * cols) / tokenSize);
        entries.push({ layer, module, matrix, rows, cols, token_offset: offset, token_count: tokenCount });
        offset += tokenCount;
      }
    }
  }
  return { tokenHeight, tokenWidth, tokenCount: offset, entries, parents: Object.freeze(parents) };
}

/** The layout of a (validated) manifest, using its stored `lora.layout` entries. */
export function layoutFromManifest(manifest: {
  tokens: { height: number; width: number; count: number };
  lora: { modules: Readonly<Record<string, LoraModuleSpec>>; layout: readonly LoraLayoutEntry[] };
}): LoraTokenLayout {
  const parents: Record<string, LoraParent> = {};
  for (const [name, spec] of Object.entries(manifest.lora.modules)) parents[name] = spec.parent;
  return {
    tokenHeight: manifest.tokens.height,
    tokenWidth: manifest.tokens.width,
    tokenCount: manifest.tokens.count,
    entries: manifest.lora.layout,
    parents: Object.freeze(parents),
  };
}

/** True where a token position holds a real LoRA value (mirror of `LoraLayout.mask`), flattened. */
export function layoutMask(layout: LoraTokenLayout): Uint8Array {
  const tokenSize = layout.tokenHeight * layout.tokenWidth;
  const mask = new Uint8Array(layout.tokenCount * tokenSize);
  for (const e of layout.entries) {
    const start = e.token_offset * tokenSize;
    mask.fill(1, start, start + e.rows * e.cols);
  }
  return mask;
}

function checkGrid(name: string, data: Float32Array, layout: LoraTokenLayout): void {
  const expected = layout.tokenCount * layout.tokenHeight * layout.tokenWidth;
  if (data.length !== expected) {
    throw new TokenDataError(
      `${name} holds ${data.length} values, but the layout's grid (${layout.tokenCount}, ${layout.tokenHeight}, ` +
        `${layout.tokenWidth}) needs ${expected}`,
    );
  }
}

function checkEntryInGrid(e: LoraLayoutEntry, layout: LoraTokenLayout): void {
  const tokenSize = layout.tokenHeight * layout.tokenWidth;
  if (e.rows * e.cols > e.token_count * tokenSize || e.token_offset + e.token_count > layout.tokenCount) {
    throw new TokenDataError(
      `layout entry (layer ${e.layer}, ${e.module}, ${e.matrix}) does not fit the token grid: ` +
        `${e.rows}x${e.cols} values in tokens [${e.token_offset}, ${e.token_offset + e.token_count}) of ${layout.tokenCount}`,
    );
  }
}

/**
 * CPU reference of detokenisation: un-normalises the generator's output
 * (`value = tokens * std + mean`) and cuts it into LoRA matrices, row-major (rows x cols).
 *
 * @param tokens the generator output for one batch element, (count, h, w) flattened
 * @param mean   `tokens.mean`, same size
 * @param std    `tokens.std`, same size
 * @returns PEFT tensor name -> matrix values, in layout order
 */
export function detokenizeReference(
  tokens: Float32Array,
  mean: Float32Array,
  std: Float32Array,
  layout: LoraTokenLayout,
): Map<string, Float32Array> {
  checkGrid('tokens', tokens, layout);
  checkGrid('tokens.mean', mean, layout);
  checkGrid('tokens.std', std, layout);
  const tokenSize = layout.tokenHeight * layout.tokenWidth;
  const out = new Map<string, Float32Array>();
  for (const e of layout.entries) {
    checkEntryInGrid(e, layout);
    const start = e.token_offset * tokenSize;
    const n = e.rows * e.cols;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = start + i;
      values[i] = (tokens[t] as number) * (std[t] as number) + (mean[t] as number);
    }
    out.set(matrixKey(layout, e), values);
  }
  return out;
}

/**
 * CPU reference of tokenisation (the inverse, used by tests and tools): normalises
 * `(value - mean) / std` into a (count, h, w) grid; padding positions are 0.
 *
 * @param matrices PEFT tensor name -> matrix values (rows x cols, row-major)
 */
export function tokenizeReference(
  matrices: ReadonlyMap<string, Float32Array>,
  mean: Float32Array,
  std: Float32Array,
  layout: LoraTokenLayout,
): Float32Array {
  const tokenSize = layout.tokenHeight * layout.tokenWidth;
  const grid = new Float32Array(layout.tokenCount * tokenSize);
  checkGrid('tokens.mean', mean, layout);
  checkGrid('tokens.std', std, layout);
  for (const e of layout.entries) {
    checkEntryInGrid(e, layout);
    const key = matrixKey(layout, e);
    const values = matrices.get(key);
    if (values === undefined) throw new TokenDataError(`the LoRA lacks matrix "${key}"`);
    if (values.length !== e.rows * e.cols) {
      throw new TokenDataError(`matrix "${key}" holds ${values.length} values, expected ${e.rows}x${e.cols}`);
    }
    const start = e.token_offset * tokenSize;
    for (let i = 0; i < values.length; i++) {
      const t = start + i;
      grid[t] = ((values[i] as number) - (mean[t] as number)) / (std[t] as number);
    }
  }
  return grid;
}

/**
 * Shapes detokenised matrices for {@link encodeSafetensors} (`adapter_model.safetensors`): every
 * layout entry becomes a (rows, cols) tensor under its PEFT name.
 */
export function peftAdapterTensors(
  matrices: ReadonlyMap<string, Float32Array>,
  layout: LoraTokenLayout,
  dtype: 'F32' | 'F16' = 'F32',
): Record<string, SafetensorsTensorInput> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const e of layout.entries) {
    const key = matrixKey(layout, e);
    const data = matrices.get(key);
    if (data === undefined) throw new TokenDataError(`the LoRA lacks matrix "${key}"`);
    if (data.length !== e.rows * e.cols) {
      throw new TokenDataError(`matrix "${key}" holds ${data.length} values, expected ${e.rows}x${e.cols}`);
    }
    out[key] = { dtype, shape: [e.rows, e.cols], data };
  }
  return out;
}
