import mergeSource from '../../../shaders/lora_merge.wgsl?raw';
import matmulSource from '../../../shaders/lora_matmul.wgsl?raw';
import type { Precision } from '../buffers';
import { uploadUniform } from '../buffers';
import { KernelInputError } from '../errors';
import type { LoraShape } from '../shapes';
import {
  checkPrecision,
  makeProgram,
  precisionDefines,
  prepareDispatch,
  requirePositiveIntegers,
  type KernelContext,
  type KernelProgram,
  type PreparedDispatch,
  type TensorBinding,
} from './common';

const MERGE_TILE = 16; // TILE in lora_merge.wgsl
const PARTIALS_PER_THREAD = 8; // RQ in lora_matmul.wgsl
const MATMUL_TK = 8;
const WORKGROUP_BYTES = 16384;

/** Element offsets of the matrices inside their buffers (e.g. A and B inside the packed LoRA). */
export interface LoraOffsets {
  a?: number;
  b?: number;
  w?: number;
}

function describe(s: LoraShape): string {
  return `W (${s.outFeatures} x ${s.inFeatures}), A (${s.rank} x ${s.inFeatures}), B (${s.outFeatures} x ${s.rank})`;
}

export function validateLoraInputs(
  kernel: string,
  shape: LoraShape,
  lengths?: { w?: number; a?: number; b?: number },
): void {
  requirePositiveIntegers(kernel, describe(shape), [shape.outFeatures, shape.inFeatures, shape.rank]);
  const expected = {
    w: shape.outFeatures * shape.inFeatures,
    a: shape.rank * shape.inFeatures,
    b: shape.outFeatures * shape.rank,
  };
  for (const key of ['w', 'a', 'b'] as const) {
    const n = lengths?.[key];
    if (n !== undefined && n !== expected[key]) {
      throw new KernelInputError(kernel, `${key.toUpperCase()} has ${n} elements, expected ${expected[key]} for ${describe(shape)}`);
    }
  }
}

function offsetsUniform(device: GPUDevice, label: string, scale: number, words: readonly number[]): GPUBuffer {
  const bytes = new ArrayBuffer(4 * (1 + words.length));
  new Float32Array(bytes, 0, 1)[0] = scale;
  new Uint32Array(bytes, 4).set(words);
  return uploadUniform(device, bytes, label);
}

// ---- merge: W' = W + scale * B @ A ------------------------------------------------------------

export interface LoraMergeArgs {
  shape: LoraShape;
  precision?: Precision;
}

export function createLoraMergeProgram({ shape, precision = 'f32' }: LoraMergeArgs): KernelProgram {
  validateLoraInputs('loraMerge', shape);
  if (2 * 4 * MERGE_TILE * shape.rank > WORKGROUP_BYTES) {
    throw new KernelInputError('loraMerge', `rank ${shape.rank} is too large for the staged strips (max ${WORKGROUP_BYTES / (8 * MERGE_TILE)})`);
  }
  return makeProgram(
    {
      label: 'loraMerge',
      source: mergeSource,
      defines: precisionDefines(precision),
      constants: { OUT_F: shape.outFeatures, IN_F: shape.inFeatures, R: shape.rank, STRIP_LEN: MERGE_TILE * shape.rank },
    },
    [Math.ceil(shape.inFeatures / MERGE_TILE), Math.ceil(shape.outFeatures / MERGE_TILE), 1],
  );
}

export interface LoraMergeBuffers {
  w: TensorBinding;
  a: TensorBinding;
  b: TensorBinding;
  /** W', a separate buffer (may be a shared weight buffer at outOffset). */
  merged: TensorBinding;
}

/** scale = alpha / rank. */
export function prepareLoraMerge(
  ctx: KernelContext,
  args: LoraMergeArgs & { scale: number; offsets?: LoraOffsets & { out?: number } },
  buffers: LoraMergeBuffers,
): PreparedDispatch {
  checkPrecision('loraMerge', args.precision ?? 'f32', ctx.device);
  const program = createLoraMergeProgram(args);
  const o = args.offsets ?? {};
  const uniform = offsetsUniform(ctx.device, 'loraMerge.params', args.scale, [o.a ?? 0, o.b ?? 0, o.w ?? 0, o.out ?? 0]);
  return prepareDispatch(ctx, program, [buffers.w, buffers.a, buffers.b, buffers.merged, uniform], [uniform]);
}

// ---- fused matmul: y = x W^T + scale * (x A^T) B^T ----------------------------------------------

export interface LoraMatmulArgs {
  shape: LoraShape;
  /** Number of row vectors in x. */
  rows: number;
  precision?: Precision;
}

/** Tile of y per workgroup: few rows (decoding: 1) get wide column tiles. */
export function chooseLoraMatmulTiling(rows: number): { tm: number; tn: number } {
  const tm = Math.min(16, 2 ** Math.ceil(Math.log2(Math.max(1, rows))));
  return { tm, tn: Math.min(64, 256 / tm) };
}

export function createLoraMatmulProgram({ shape, rows, precision = 'f32' }: LoraMatmulArgs): KernelProgram {
  validateLoraInputs('loraMatmul', shape);
  requirePositiveIntegers('loraMatmul', 'rows', [rows]);
  const { tm, tn } = chooseLoraMatmulTiling(rows);
  const r = shape.rank;
  if (r > PARTIALS_PER_THREAD * tn) {
    throw new KernelInputError('loraMatmul', `rank ${r} exceeds ${PARTIALS_PER_THREAD * tn} for ${rows} rows`);
  }
  const lens = { XS_LEN: tm * MATMUL_TK, WS_LEN: tn * MATMUL_TK, AS_LEN: r * MATMUL_TK, XA_LEN: tm * r };
  const bytes = 4 * (lens.XS_LEN + lens.WS_LEN + lens.AS_LEN + lens.XA_LEN);
  if (bytes > WORKGROUP_BYTES) throw new KernelInputError('loraMatmul', `rank ${r} needs ${bytes} bytes of workgroup memory`);
  return makeProgram(
    {
      label: 'loraMatmul',
      source: matmulSource,
      defines: precisionDefines(precision),
      constants: { M: rows, IN_F: shape.inFeatures, OUT_F: shape.outFeatures, R: r, TM: tm, TN: tn, TK: MATMUL_TK, ...lens },
    },
    [Math.ceil(shape.outFeatures / tn), Math.ceil(rows / tm), 1],
  );
}

export interface LoraMatmulBuffers {
  /** (rows x in) row vectors. */
  x: TensorBinding;
  w: TensorBinding;
  a: TensorBinding;
  b: TensorBinding;
  /** (rows x out). */
  y: TensorBinding;
}

export function prepareLoraMatmul(
  ctx: KernelContext,
  args: LoraMatmulArgs & { scale: number; offsets?: LoraOffsets },
  buffers: LoraMatmulBuffers,
): PreparedDispatch {
  checkPrecision('loraMatmul', args.precision ?? 'f32', ctx.device);
  const program = createLoraMatmulProgram(args);
  const o = args.offsets ?? {};
  const uniform = offsetsUniform(ctx.device, 'loraMatmul.params', args.scale, [o.a ?? 0, o.b ?? 0, o.w ?? 0]);
  return prepareDispatch(ctx, program, [buffers.x, buffers.w, buffers.a, buffers.b, buffers.y, uniform], [uniform]);
}
