/**
 * One ONNX graph per decoder layer, made from the manifest's feature schedule and the generator's
 * weights (DESIGN §3: the schedule is data, and the runtime is driven by it). Each graph reads the
 * layer's input `x` (B, N, H, W) and writes `y` (B, N', H', W'), the residual included, in the
 * order src/generator/referenceRuntime.ts computes it: layer norm, path A (W then H), path B (H then
 * W), combine, length conv, residual. One graph per layer (not one for the whole decoder) so the
 * runtime reports each layer as it finishes, as the WGSL and reference runtimes do.
 */
import type { LoadedGenerator } from '../loadGenerator';
import type { Feature } from '../manifest';
import { OnnxGraph } from './onnxModel';
import { axisConvOp, combineOp, dimsOf, layerNormOp, residualOp, type Activation } from './hyperconvOps';

export interface LayerGraph {
  index: number;
  /** ModelProto bytes for `ort.InferenceSession.create`. */
  model: Uint8Array;
  input: readonly number[];
  output: readonly number[];
  residual: boolean;
}

export interface LayerGraphOptions {
  /** Conditions per run (default 1). */
  batch?: number;
}

export const LAYER_INPUT = 'x';
export const LAYER_OUTPUT = 'y';

const sameFeature = (a: Feature, b: Feature): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** The graph of decoder layer `i` (docs/hyperconv.md, tensor names `decoder.layers.{i}.*`). */
export function buildLayerGraph(generator: LoadedGenerator, i: number, options: LayerGraphOptions = {}): LayerGraph {
  const { features, kernel_sizes: kernels, layer_norm_eps: eps } = generator.manifest.decoder;
  const inF = features[i] as Feature | undefined;
  const outF = features[i + 1] as Feature | undefined;
  const k = kernels[i];
  if (!inF || !outF || k === undefined) throw new Error(`the decoder has no layer ${i} (it has ${kernels.length})`);
  const batch = options.batch ?? 1;
  const w = (name: string) => generator.weights.float32(`decoder.layers.${i}.${name}`);
  const g = new OnnxGraph(`generator.layer.${i}`);
  const x: Activation = { name: g.input(LAYER_INPUT, [batch, ...inF]), shape: { batch, n: inF[0], h: inF[1], w: inF[2] } };
  const [n2, h2, w2] = outF;

  const z = layerNormOp(g, x, w('norm.weight'), w('norm.bias'), eps, 'norm');
  const a1 = axisConvOp(g, z, w('a_w.weight'), null, 'W', w2, k, 'a_w');
  const a2 = axisConvOp(g, a1, w('a_h.weight'), null, 'H', h2, k, 'a_h');
  const b1 = axisConvOp(g, z, w('b_h.weight'), null, 'H', h2, k, 'b_h');
  const b2 = axisConvOp(g, b1, w('b_w.weight'), null, 'W', w2, k, 'b_w');
  const combined = combineOp(g, a2, b2, w('bias'), 'combine');
  const out = axisConvOp(g, combined, w('len_conv.weight'), w('len_conv.bias'), 'N', n2, k, 'len_conv');
  const residual = sameFeature(inF, outF);
  const y = residual ? residualOp(g, out, x, 'residual') : out;

  // the last node writes the graph output `y`
  g.node({ op: 'Identity', inputs: [y.name], outputs: [LAYER_OUTPUT] });
  g.output(LAYER_OUTPUT, dimsOf(y.shape));
  return { index: i, model: g.toModel(), input: [batch, ...inF], output: [batch, ...outF], residual };
}

/** Every layer's graph, in order. */
export function buildLayerGraphs(generator: LoadedGenerator, options: LayerGraphOptions = {}): LayerGraph[] {
  return generator.manifest.decoder.kernel_sizes.map((_, i) => buildLayerGraph(generator, i, options));
}
