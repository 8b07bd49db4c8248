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
/** Output channels per invocation; must equal OCT in axis_conv.wgsl. */
const OUT_CHANNELS_PER_THREAD = 4;
const MAX_THREADS = 64;
/** WebGPU's default maxComputeWorkgroupStorageSize. */
const WORKGROUP_BYTES = 16384;

export interface AxisConvArgs {
  /** Input shape (B, N, H, W). */
  shape: ActivationShape;
  axis: ChannelAxis;
  outChannels: number;
  k: number;
  hasBias: boolean;
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

function pow2AtLeast(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** The tiling of one AxisConv configuration (exported for docs and tests). */
export interface AxisConvTiling {
  /** Output pixels per workgroup along the first and second image axes. */
  t1: number;
  t2: number;
  /** Input channels staged per chunk. */
  cc: number;
  workgroupBytes: number;
}

export function chooseAxisConvTiling(d1: number, d2: number, cin: number, k: number): AxisConvTiling {
  // Up to 8 x 8 pixels; a short axis gives its threads to the other one.
  let t2 = Math.min(8, pow2AtLeast(d2));
  const t1 = Math.min(pow2AtLeast(d1), MAX_THREADS / t2);
  t2 = Math.min(pow2AtLeast(d2), MAX_THREADS / t1);
  const halo = (t1 + k - 1) * (t2 + k - 1);
  for (const cc of [16, 8, 4, 2, 1]) {
    if (cc > pow2AtLeast(cin) && cc > 1) continue;
    const bytes = 4 * cc * (halo + OUT_CHANNELS_PER_THREAD * k * k);
    if (bytes <= WORKGROUP_BYTES) return { t1, t2, cc, workgroupBytes: bytes };
  }
  throw new KernelInputError(NAME, `k=${k} is too large: one channel's tile does not fit ${WORKGROUP_BYTES} bytes of workgroup memory`);
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
  const ocBlocks = Math.ceil(outChannels / OUT_CHANNELS_PER_THREAD);
  return makeProgram(
    {
      label: NAME,
      source,
      defines: { ...precisionDefines(precision), BIAS: args.hasBias },
      constants: {
        CIN: cin,
        COUT: outChannels,
        D1: d1,
        D2: d2,
        K: k,
        XC: xs[axis],
        X1: xs[first],
        X2: xs[second],
        XB: xs.B,
        YC: ys[axis],
        Y1: ys[first],
        Y2: ys[second],
        YB: ys.B,
        T1: tiling.t1,
        T2: tiling.t2,
        CC: tiling.cc,
        XS_LEN: tiling.cc * (tiling.t1 + k - 1) * (tiling.t2 + k - 1),
        WS_LEN: OUT_CHANNELS_PER_THREAD * tiling.cc * k * k,
        CHANNEL_FASTEST: xs[axis] === 1 ? 1 : 0,
      },
    },
    [Math.ceil(d2 / tiling.t2), Math.ceil(d1 / tiling.t1), ocBlocks * shape.batch],
  );
}

export interface AxisConvBuffers {
  x: TensorBinding;
  weight: TensorBinding;
  /** Required when args.hasBias. */
  bias?: TensorBinding;
  /** Output (B, N, H, W) with the channel axis resized; must not alias x. */
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
  return prepareDispatch(ctx, program, bindings);
}
