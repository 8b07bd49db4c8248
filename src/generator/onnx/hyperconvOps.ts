/**
 * The hyper-convolution's operations (docs/hyperconv.md) as ONNX nodes, one function per operation,
 * the same operations the WGSL kernels (shaders/) and their TypeScript references
 * (src/gpu/reference/) implement: layer norm over (H, W), the axis conv along W, H or N, the combine
 * of the two paths, the residual add. Each takes the activation it reads, adds its nodes and
 * weights to the graph and returns the activation it writes, so a new generator part is one more
 * function here and one more line in src/generator/onnx/layerGraphs.ts.
 *
 * The axis convs are matrix products over the channel axis: a k x k conv becomes ONNX `Conv` on a
 * transposed view whose channels are that axis (its image axes in docs/hyperconv.md's order); with
 * k = 1 along W or H it is a plain `MatMul` on the activation as it is stored (no transposes);
 * along N the activation already is NCHW, so `Conv` runs on it directly.
 */
import { axisConvOutputShape, channelCount, type ActivationShape, type ChannelAxis } from '../../gpu/shapes';
import type { OnnxGraph } from './onnxModel';

/** A value of the graph and its (B, N, H, W) shape. */
export interface Activation {
  name: string;
  shape: ActivationShape;
}

/** (B, N, H, W) as a list. */
export const dimsOf = (s: ActivationShape): number[] => [s.batch, s.n, s.h, s.w];

/** `z = LayerNorm_{H,W}(x) * gamma + beta` (ONNX LayerNormalization over the last two axes). */
export function layerNormOp(g: OnnxGraph, x: Activation, gamma: Float32Array, beta: Float32Array, eps: number, hint: string): Activation {
  const plane = [x.shape.h, x.shape.w];
  const name = g.op('LayerNormalization', [x.name, g.constant(`${hint}.gamma`, plane, gamma), g.constant(`${hint}.beta`, plane, beta)], {
    axis: { int: -2 },
    epsilon: { float: eps },
  }, hint);
  return { name, shape: x.shape };
}

/**
 * The permutation of (B, N, H, W) that puts the channel axis second and the image axes after it in
 * docs/hyperconv.md's order (W: (H, N); H: (N, W); N: (H, W)). Each is its own inverse.
 */
const NCHW_PERM: Record<ChannelAxis, readonly number[]> = { W: [0, 3, 2, 1], H: [0, 2, 1, 3], N: [0, 1, 2, 3] };

/** The (C_out, C_in) matrix of a 1 x 1 conv weight (C_out, C_in, 1, 1), transposed when `transpose`. */
function pointwiseMatrix(weight: Float32Array, cout: number, cin: number, transpose: boolean): Float32Array {
  if (!transpose) return weight;
  const t = new Float32Array(cin * cout);
  for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) t[c * cout + o] = weight[o * cin + c] as number;
  return t;
}

/**
 * AxisConv (docs/hyperconv.md): a k x k "same" conv with `axis` as channels, weight
 * (C_out, C_in, k, k), optional bias (C_out).
 */
export function axisConvOp(
  g: OnnxGraph,
  x: Activation,
  weight: Float32Array,
  bias: Float32Array | null,
  axis: ChannelAxis,
  outChannels: number,
  k: number,
  hint: string,
): Activation {
  const cin = channelCount(x.shape, axis);
  const shape = axisConvOutputShape(x.shape, axis, outChannels);
  if (weight.length !== outChannels * cin * k * k) {
    throw new Error(`${hint}: the weight has ${weight.length} values; (${outChannels}, ${cin}, ${k}, ${k}) needs ${outChannels * cin * k * k}`);
  }
  if (k === 1 && axis !== 'N') {
    // W: x (.., W) @ weightᵀ (W, W'); H: weight (H', H) @ x (.., H, W), broadcast over (B, N)
    const matrix = g.constant(`${hint}.weight`, axis === 'W' ? [cin, outChannels] : [outChannels, cin], pointwiseMatrix(weight, outChannels, cin, axis === 'W'));
    let name = g.op('MatMul', axis === 'W' ? [x.name, matrix] : [matrix, x.name], undefined, hint);
    if (bias) {
      const b = g.constant(`${hint}.bias`, axis === 'W' ? [outChannels] : [outChannels, 1], bias);
      name = g.op('Add', [name, b], undefined, `${hint}.add_bias`);
    }
    return { name, shape };
  }
  const perm = NCHW_PERM[axis];
  const transposed = axis !== 'N';
  const input = transposed ? g.op('Transpose', [x.name], { perm: { ints: perm } }, `${hint}.to_nchw`) : x.name;
  const p = (k - 1) / 2;
  const inputs = [input, g.constant(`${hint}.weight`, [outChannels, cin, k, k], weight)];
  if (bias) inputs.push(g.constant(`${hint}.bias`, [outChannels], bias));
  const conv = g.op('Conv', inputs, { kernel_shape: { ints: [k, k] }, pads: { ints: [p, p, p, p] }, strides: { ints: [1, 1] } }, hint);
  const name = transposed ? g.op('Transpose', [conv], { perm: { ints: perm } }, `${hint}.from_nchw`) : conv;
  return { name, shape };
}

/** HyperConv3d's combine: `y = (A + tanh(Bpre) + bias) / 3`, bias (H', W') broadcast over (B, N). */
export function combineOp(g: OnnxGraph, pathA: Activation, pathBPre: Activation, bias: Float32Array, hint: string): Activation {
  const { h, w } = pathA.shape;
  const tanh = g.op('Tanh', [pathBPre.name], undefined, `${hint}.tanh`);
  const sum = g.op('Add', [pathA.name, tanh], undefined, `${hint}.add`);
  const biased = g.op('Add', [sum, g.constant(`${hint}.bias`, [h, w], bias)], undefined, `${hint}.add_bias`);
  const three = g.constant(`${hint}.three`, [], new Float32Array([3]));
  return { name: g.op('Div', [biased, three], undefined, hint), shape: pathA.shape };
}

/** A residual layer's `x + layer(x)`. */
export function residualOp(g: OnnxGraph, y: Activation, x: Activation, hint: string): Activation {
  return { name: g.op('Add', [y.name, x.name], undefined, hint), shape: y.shape };
}

