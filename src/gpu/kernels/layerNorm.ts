import source from '../../../shaders/layer_norm.wgsl?raw';
import type { Precision } from '../buffers';
import { uploadUniform } from '../buffers';
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

const NAME = 'layerNorm';
/** Invocations per plane; smaller planes get the next power of two (no idle tree levels). */
const MAX_WORKGROUP = 64;

export interface LayerNormArgs {
  shape: ActivationShape;
  precision?: Precision;
}

/** Checks the shape and, when given, host arrays' lengths (x: B*N*H*W, gamma/beta: H*W). */
export function validateLayerNormInputs(
  shape: ActivationShape,
  lengths?: { x?: number; gamma?: number; beta?: number },
): void {
  requirePositiveIntegers(NAME, `shape ${formatShape(shape)}`, [shape.batch, shape.n, shape.h, shape.w]);
  const plane = shape.h * shape.w;
  if (lengths?.x !== undefined && lengths.x !== elementCount(shape)) {
    throw new KernelInputError(NAME, `x has ${lengths.x} elements, shape ${formatShape(shape)} needs ${elementCount(shape)}`);
  }
  for (const [what, n] of [['gamma', lengths?.gamma], ['beta', lengths?.beta]] as const) {
    if (n !== undefined && n !== plane) {
      throw new KernelInputError(NAME, `${what} has ${n} elements, the affine of ${formatShape(shape)} is (H, W) = ${plane}`);
    }
  }
}

export function createLayerNormProgram({ shape, precision = 'f32' }: LayerNormArgs): KernelProgram {
  validateLayerNormInputs(shape);
  const rows = shape.batch * shape.n;
  const plane = shape.h * shape.w;
  return makeProgram(
    {
      label: NAME,
      source,
      defines: precisionDefines(precision),
      constants: { PLANE: plane, ROWS: rows, WG: Math.min(MAX_WORKGROUP, 2 ** Math.ceil(Math.log2(plane))) },
    },
    linearGrid(rows),
  );
}

export interface LayerNormBuffers {
  x: TensorBinding;
  gamma: TensorBinding;
  beta: TensorBinding;
  /** Must not alias x. */
  y: TensorBinding;
}

/** Binds buffers (and a small uniform holding eps) to the program; record with recordDispatch. */
export function prepareLayerNorm(
  ctx: KernelContext,
  args: LayerNormArgs & { eps: number },
  buffers: LayerNormBuffers,
): PreparedDispatch {
  checkPrecision(NAME, args.precision ?? 'f32', ctx.device);
  const program = createLayerNormProgram(args);
  const uniform = uploadUniform(ctx.device, new Float32Array([args.eps]).buffer, 'layerNorm.eps');
  return prepareDispatch(ctx, program, [buffers.x, buffers.gamma, buffers.beta, buffers.y, uniform], [uniform]);
}
