import combineSource from '../../../shaders/combine.wgsl?raw';
import residualSource from '../../../shaders/residual_add.wgsl?raw';
import type { Precision } from '../buffers';
import { KernelInputError } from '../errors';
import { elementCount, formatShape, type ActivationShape } from '../shapes';
import {
  checkPrecision,
  linearGrid,
  makeProgram,
  precisionDefines,
  prepareDispatch,
  requirePositiveIntegers,
  type KernelContext,
  type KernelProgram,
  type PreparedDispatch,
  type TensorBinding,
} from './common';

const WORKGROUP = 256;

// ---- combine: y = (A + tanh(Bpre) + bias) / 3 -------------------------------------------------

export interface CombineArgs {
  /** Shape of A, Bpre and y: (B, N, H', W'); bias is (H', W'). */
  shape: ActivationShape;
  precision?: Precision;
}

export function validateCombineInputs(
  shape: ActivationShape,
  lengths?: { pathA?: number; pathBPre?: number; bias?: number },
): void {
  requirePositiveIntegers('combine', `shape ${formatShape(shape)}`, [shape.batch, shape.n, shape.h, shape.w]);
  const total = elementCount(shape);
  for (const [what, n] of [['pathA', lengths?.pathA], ['pathBPre', lengths?.pathBPre]] as const) {
    if (n !== undefined && n !== total) {
      throw new KernelInputError('combine', `${what} has ${n} elements, shape ${formatShape(shape)} needs ${total}`);
    }
  }
  if (lengths?.bias !== undefined && lengths.bias !== shape.h * shape.w) {
    throw new KernelInputError('combine', `bias has ${lengths.bias} elements, expected (H', W') = ${shape.h * shape.w} for ${formatShape(shape)}`);
  }
}

export function createCombineProgram({ shape, precision = 'f32' }: CombineArgs): KernelProgram {
  validateCombineInputs(shape);
  const total = elementCount(shape);
  return makeProgram(
    {
      label: 'combine',
      source: combineSource,
      defines: precisionDefines(precision),
      constants: { TOTAL: total, PLANE: shape.h * shape.w, WG: WORKGROUP },
    },
    linearGrid(Math.ceil(total / WORKGROUP)),
  );
}

export interface CombineBuffers {
  pathA: TensorBinding;
  /** Path B before its tanh. */
  pathBPre: TensorBinding;
  bias: TensorBinding;
  /** May not alias the inputs (WebGPU forbids a writable binding overlapping another). */
  y: TensorBinding;
}

export function prepareCombine(ctx: KernelContext, args: CombineArgs, buffers: CombineBuffers): PreparedDispatch {
  checkPrecision('combine', args.precision ?? 'f32', ctx.device);
  return prepareDispatch(ctx, createCombineProgram(args), [buffers.pathA, buffers.pathBPre, buffers.bias, buffers.y]);
}

// ---- residual add: y = a + b, or a += b ------------------------------------------------------

export interface ResidualAddArgs {
  count: number;
  /** Accumulate into `a` instead of writing `y`. */
  inPlace: boolean;
  precision?: Precision;
}

export function validateResidualAddInputs(count: number, lengths?: { a?: number; b?: number }): void {
  requirePositiveIntegers('residualAdd', 'count', [count]);
  for (const [what, n] of [['a', lengths?.a], ['b', lengths?.b]] as const) {
    if (n !== undefined && n !== count) {
      throw new KernelInputError('residualAdd', `${what} has ${n} elements, expected ${count}`);
    }
  }
}

export function createResidualAddProgram({ count, inPlace, precision = 'f32' }: ResidualAddArgs): KernelProgram {
  validateResidualAddInputs(count);
  return makeProgram(
    {
      label: 'residualAdd',
      source: residualSource,
      defines: { ...precisionDefines(precision), IN_PLACE: inPlace },
      constants: { TOTAL: count, WG: WORKGROUP },
    },
    linearGrid(Math.ceil(count / WORKGROUP)),
  );
}

export interface ResidualAddBuffers {
  a: TensorBinding;
  b: TensorBinding;
  /** Required unless inPlace. */
  y?: TensorBinding;
}

export function prepareResidualAdd(
  ctx: KernelContext,
  args: ResidualAddArgs,
  buffers: ResidualAddBuffers,
): PreparedDispatch {
  checkPrecision('residualAdd', args.precision ?? 'f32', ctx.device);
  const bindings: TensorBinding[] = [buffers.a, buffers.b];
  if (!args.inPlace) {
    if (!buffers.y) throw new KernelInputError('residualAdd', 'out-of-place add needs a y buffer');
    bindings.push(buffers.y);
  }
  return prepareDispatch(ctx, createResidualAddProgram(args), bindings);
}
