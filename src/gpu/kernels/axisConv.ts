import source from '../../../shaders/axis_conv.wgsl?raw';
import type { Precision } from '../buffers';
import { KernelInputError } from '../errors';
import {
  activationStrides,
  axisConvOutputShape,
  channelCount,
  elementCount,
  formatShape,
  imageAxes,
  type ActivationShape,
  type ChannelAxis,
} from '../shapes';
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

const NAME = 'axisConv';
/** Output channels per invocation; must match the two vec4 accumulator sets (a, b) in axis_conv.wgsl. */
const OUT_CHANNELS_PER_THREAD = 8;
/** Consecutive outputs per invocation along the run axis; must equal RUN in axis_conv.wgsl. */
const RUN = 8;
const WORKGROUP_SIZE = 64;

export interface AxisConvArgs {
  /** Input shape (B, N, H, W). */
  shape: ActivationShape;
  axis: ChannelAxis;
  outChannels: number;
  k: number;
  hasBias: boolean;
  /** Adds `residual` (same shape as y) in the epilogue: y = conv(x) + bias + residual. */
  residual?: boolean;
  precision?: Precision;
}

/** Checks shapes; weight (C_out, C_in, k, k) and bias (C_out) lengths when given. */
export function validateAxisConvInputs(
  args: AxisConvArgs,
  lengths?: { x?: number; weight?: number; bias?: number },
): void {
  const { shape, axis, outChannels, k } = args;
  requirePositiveIntegers(NAME, `shape ${formatShape(shape)}, outChannels and k`, [
    shape.batch, shape.n, shape.h, shape.w, outChannels, k,
  ]);
  if (k % 2 !== 1) throw new KernelInputError(NAME, `k must be odd for "same" padding, got k=${k}`);
  const cin = channelCount(shape, axis);
  const weightLen = outChannels * cin * k * k;
  if (lengths?.x !== undefined && lengths.x !== elementCount(shape)) {
    throw new KernelInputError(NAME, `x has ${lengths.x} elements, shape ${formatShape(shape)} needs ${elementCount(shape)}`);
  }
  if (lengths?.weight !== undefined && lengths.weight !== weightLen) {
    throw new KernelInputError(
      NAME,
      `weight has ${lengths.weight} elements, expected (C_out=${outChannels}, C_in=${cin}, k=${k}, k=${k}) = ${weightLen} for channel axis ${axis} of ${formatShape(shape)}`,
    );
  }
  if (lengths?.bias !== undefined && lengths.bias !== outChannels) {
    throw new KernelInputError(NAME, `bias has ${lengths.bias} elements, expected C_out=${outChannels}`);
  }
}

/** The tiling of one AxisConv configuration (exported for docs and tests). */
export interface AxisConvTiling {
  /** True when the run goes along the first image axis (the host swaps the two image axes). */
  swapped: boolean;
  /** Row axis and run axis lengths after the swap. */
  rows: number;
  runLength: number;
  /** Consecutive outputs per invocation along the run axis (RUN in axis_conv.wgsl). */
  run: number;
  /** Output channels per invocation. */
  outChannelsPerInvocation: number;
  /** Workgroup memory used (none: the kernel tiles in registers). */
  workgroupBytes: number;
}

/**
 * Each invocation computes 8 output channels x RUN consecutive pixels along one image axis (the
 * run axis). The run goes along the image axis that wastes fewer invocations on padding (the
 * longer one for short images), the second axis on ties.
 */
export function chooseAxisConvTiling(d1: number, d2: number, _cin: number, k: number): AxisConvTiling {
  if (!Number.isInteger(k) || k < 1) throw new KernelInputError(NAME, `k must be a positive integer, got ${k}`);
  const padded = (run: number, other: number) => Math.ceil(run / RUN) * RUN * other;
  const swapped = padded(d1, d2) < padded(d2, d1);
  return {
    swapped,
    rows: swapped ? d2 : d1,
    runLength: swapped ? d1 : d2,
    run: RUN,
    outChannelsPerInvocation: OUT_CHANNELS_PER_THREAD,
    workgroupBytes: 0,
  };
}

export function createAxisConvProgram(args: AxisConvArgs): KernelProgram {
  validateAxisConvInputs(args);
  const { shape, axis, outChannels, k, precision = 'f32' } = args;
  const out = axisConvOutputShape(shape, axis, outChannels);
  const [first, second] = imageAxes(axis);
  const xs = activationStrides(shape);
  const ys = activationStrides(out);
  const d1 = channelCount(shape, first);
  const d2 = channelCount(shape, second);
  const cin = channelCount(shape, axis);
  const tiling = chooseAxisConvTiling(d1, d2, cin, k);
  const [rowAxis, runAxis] = tiling.swapped ? [second, first] : [first, second];
  const runs = Math.ceil(tiling.runLength / RUN);
  const ocBlocks = Math.ceil(outChannels / OUT_CHANNELS_PER_THREAD);
  const total = shape.batch * ocBlocks * tiling.rows * runs;
  const grid = linearGrid(Math.ceil(total / WORKGROUP_SIZE));
  return makeProgram(
    {
      label: NAME,
      source,
      defines: { ...precisionDefines(precision), BIAS: args.hasBias, RESIDUAL: args.residual === true, K3: k === 3 },
      constants: {
        CIN: cin,
        COUT: outChannels,
        D1: tiling.rows,
        D2: tiling.runLength,
        K: k,
        XC: xs[axis],
        X1: xs[rowAxis],
        X2: xs[runAxis],
        XB: xs.B,
        YC: ys[axis],
        Y1: ys[rowAxis],
        Y2: ys[runAxis],
        YB: ys.B,
        // weight[o, c, i, j]: i indexes the first image axis, j the second.
        WI: tiling.swapped ? 1 : k,
        WJ: tiling.swapped ? k : 1,
        RUNS: runs,
        OCB: ocBlocks,
        TOTAL: total,
        GROUPS_X: grid[0],
      },
    },
    grid,
  );
}

export interface AxisConvBuffers {
  x: TensorBinding;
  weight: TensorBinding;
  /** Required when args.hasBias. */
  bias?: TensorBinding;
  /** Required when args.residual: a tensor of y's shape added to the output. */
  residual?: TensorBinding;
  /** Output (B, N, H, W) with the channel axis resized; must not alias x (or residual). */
  y: TensorBinding;
}

export function prepareAxisConv(ctx: KernelContext, args: AxisConvArgs, buffers: AxisConvBuffers): PreparedDispatch {
  checkPrecision(NAME, args.precision ?? 'f32', ctx.device);
  const program = createAxisConvProgram(args);
  const bindings: TensorBinding[] = [buffers.x, buffers.weight, buffers.y];
  if (args.hasBias) {
    if (!buffers.bias) throw new KernelInputError(NAME, 'hasBias is true but no bias buffer was given');
    bindings.push(buffers.bias);
  }
  if (args.residual) {
    if (!buffers.residual) throw new KernelInputError(NAME, 'residual is true but no residual buffer was given');
    bindings.push(buffers.residual);
  }
  return prepareDispatch(ctx, program, bindings);
}
