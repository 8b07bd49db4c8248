import source from '../../../shaders/detokenize.wgsl?raw';
import type { Precision } from '../buffers';
import { uploadU32 } from '../buffers';
import { KernelInputError } from '../errors';
import type { TokenLayoutEntry } from '../shapes';
import {
  checkPrecision,
  linearGrid,
  makeProgram,
  precisionDefines,
  prepareDispatch,
  type KernelContext,
  type KernelProgram,
  type PreparedDispatch,
  type TensorBinding,
} from './common';

const NAME = 'detokenize';
const WORKGROUP = 256;
const FIELDS = 5;

export interface DetokenizeArgs {
  /** Tokens in the generator output (N_out). */
  tokenCount: number;
  /** h * w values per token. */
  tokenSize: number;
  layout: readonly TokenLayoutEntry[];
  /** Elements in the packed output buffer (>= every outOffset + rows * cols). */
  outputElements: number;
  precision?: Precision;
}

/** Checks the layout against the token grid and the output size; names the offending matrix. */
export function validateDetokenizeInputs(args: DetokenizeArgs): void {
  const { tokenCount, tokenSize, layout, outputElements } = args;
  if (!Number.isInteger(tokenCount) || tokenCount <= 0 || !Number.isInteger(tokenSize) || tokenSize <= 0) {
    throw new KernelInputError(NAME, `tokens must be (count, h*w) positive, got (${tokenCount}, ${tokenSize})`);
  }
  if (layout.length === 0) throw new KernelInputError(NAME, 'the layout has no matrices');
  const ranges: [number, number, number][] = [];
  layout.forEach((e, m) => {
    const values = e.rows * e.cols;
    const where = `matrix ${m} (${e.rows} x ${e.cols}, tokens ${e.tokenOffset}+${e.tokenCount})`;
    if (![e.rows, e.cols, e.tokenCount].every((v) => Number.isInteger(v) && v > 0) || e.tokenOffset < 0 || e.outOffset < 0) {
      throw new KernelInputError(NAME, `${where}: sizes must be positive integers and offsets non-negative`);
    }
    if (e.tokenCount !== Math.ceil(values / tokenSize)) {
      throw new KernelInputError(NAME, `${where}: needs ceil(${values} / ${tokenSize}) = ${Math.ceil(values / tokenSize)} tokens`);
    }
    if (e.tokenOffset + e.tokenCount > tokenCount) {
      throw new KernelInputError(NAME, `${where}: runs past the ${tokenCount} tokens of the generator output`);
    }
    if (e.outOffset + values > outputElements) {
      throw new KernelInputError(NAME, `${where}: output range ${e.outOffset}..${e.outOffset + values} exceeds ${outputElements} elements`);
    }
    ranges.push([e.outOffset, e.outOffset + values, m]);
  });
  ranges.sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur[0] < prev[1]) throw new KernelInputError(NAME, `matrices ${prev[2]} and ${cur[2]} overlap in the output`);
  }
}

/** The u32 table the shader reads: (token_offset, rows, cols, value_start, out_offset) per matrix. */
export function encodeLayoutTable(layout: readonly TokenLayoutEntry[]): { table: Uint32Array; totalValues: number } {
  const table = new Uint32Array(layout.length * FIELDS);
  let start = 0;
  layout.forEach((e, m) => {
    table.set([e.tokenOffset, e.rows, e.cols, start, e.outOffset], m * FIELDS);
    start += e.rows * e.cols;
  });
  return { table, totalValues: start };
}

export function createDetokenizeProgram(args: DetokenizeArgs): KernelProgram {
  validateDetokenizeInputs(args);
  const { totalValues } = encodeLayoutTable(args.layout);
  return makeProgram(
    {
      label: NAME,
      source,
      defines: precisionDefines(args.precision ?? 'f32'),
      constants: { MATRICES: args.layout.length, TOTAL_VALUES: totalValues, TOKEN_SIZE: args.tokenSize, WG: WORKGROUP },
    },
    linearGrid(Math.ceil(totalValues / WORKGROUP)),
  );
}

export interface DetokenizeBuffers {
  /** Normalised generator output (count, h, w). */
  tokens: TensorBinding;
  mean: TensorBinding;
  std: TensorBinding;
  /** Packed LoRA matrices; only the layout's ranges are written. */
  packed: TensorBinding;
}

/** Uploads the layout table (owned by the returned dispatch) and binds everything. */
export function prepareDetokenize(ctx: KernelContext, args: DetokenizeArgs, buffers: DetokenizeBuffers): PreparedDispatch {
  checkPrecision(NAME, args.precision ?? 'f32', ctx.device);
  const program = createDetokenizeProgram(args);
  const table = uploadU32(ctx.device, encodeLayoutTable(args.layout).table, 'detokenize.layout');
  return prepareDispatch(ctx, program, [buffers.tokens, buffers.mean, buffers.std, table, buffers.packed], [table]);
}
