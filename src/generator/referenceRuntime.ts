/**
 * The hyper-convolution cascade on the CPU, composed from the kernels' TypeScript references
 * (src/gpu/reference/): the generator for browsers without WebGPU (DESIGN §6 — slow, but honest),
 * and a second, independent implementation the GPU runtime is checked against.
 */
import {
  axisConvReference,
  combineReference,
  detokenizeReference,
  layerNormReference,
  residualAddReference,
} from '../gpu/reference';
import { packLayout, type ActivationShape } from '../gpu/shapes';
import { GeneratorRunError } from './errors';
import type { LoadedGenerator } from './loadGenerator';
import { matrixKey } from './loraLayout';
import type { Feature } from './manifest';

export interface ReferenceRun {
  /** The activation after each layer (B, N, H, W), residual included. */
  layers: Float32Array[];
  /** Per batch element: PEFT name -> matrix (rows x cols, row-major). */
  lora: Map<string, Float32Array>[];
}

const shapeOf = (batch: number, f: Feature): ActivationShape => ({ batch, n: f[0], h: f[1], w: f[2] });

/**
 * Runs the generator on `condition` (B, P, L, C). `onLayer` is awaited after each layer so a
 * caller on the main thread of a worker can report progress and stay cancellable.
 */
export async function runReferenceGenerator(
  generator: LoadedGenerator,
  condition: Float32Array,
  batch = 1,
  onLayer?: (layer: number, ms: number, output: Float32Array) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<ReferenceRun> {
  const { manifest, weights, layout } = generator;
  const { features, kernel_sizes: kernels, layer_norm_eps: eps } = manifest.decoder;
  const first = shapeOf(batch, features[0] as Feature);
  const expected = first.batch * first.n * first.h * first.w;
  if (condition.length !== expected) {
    throw new GeneratorRunError(`the condition has ${condition.length} values; (B, P, L, C) needs ${expected}`);
  }
  const w = (name: string) => weights.float32(name);
  let x = condition;
  const layers: Float32Array[] = [];
  for (let i = 0; i < kernels.length; i++) {
    if (signal?.aborted) throw signal.reason ?? new DOMException('Generation cancelled', 'AbortError');
    const t0 = performance.now();
    const inF = features[i] as Feature;
    const outF = features[i + 1] as Feature;
    const k = kernels[i] as number;
    const input = shapeOf(batch, inF);
    const p = `decoder.layers.${i}.`;
    const normed = layerNormReference(x, w(`${p}norm.weight`), w(`${p}norm.bias`), input, eps);
    // Path A: W then H; path B: H then W (docs/hyperconv.md).
    const a1 = axisConvReference(normed, input, w(`${p}a_w.weight`), null, 'W', outF[2], k);
    const a2 = axisConvReference(a1.y, a1.shape, w(`${p}a_h.weight`), null, 'H', outF[1], k);
    const b1 = axisConvReference(normed, input, w(`${p}b_h.weight`), null, 'H', outF[1], k);
    const b2 = axisConvReference(b1.y, b1.shape, w(`${p}b_w.weight`), null, 'W', outF[2], k);
    const combined = combineReference(a2.y, b2.y, w(`${p}bias`), outF[1] * outF[2]);
    const out = axisConvReference(combined, a2.shape, w(`${p}len_conv.weight`), w(`${p}len_conv.bias`), 'N', outF[0], k);
    const residual = inF[0] === outF[0] && inF[1] === outF[1] && inF[2] === outF[2];
    x = residual ? residualAddReference(out.y, x) : out.y;
    layers.push(x);
    await onLayer?.(i, performance.now() - t0, x);
  }
  const tokenSize = layout.tokenHeight * layout.tokenWidth;
  const { entries, totalElements } = packLayout(
    layout.entries.map((e) => ({ tokenOffset: e.token_offset, tokenCount: e.token_count, rows: e.rows, cols: e.cols })),
  );
  const mean = w(manifest.tokens.mean);
  const std = w(manifest.tokens.std);
  const perBatch = layout.tokenCount * tokenSize;
  const lora: Map<string, Float32Array>[] = [];
  for (let b = 0; b < batch; b++) {
    const packed = detokenizeReference(x.subarray(b * perBatch, (b + 1) * perBatch), mean, std, tokenSize, entries, totalElements);
    const matrices = new Map<string, Float32Array>();
    layout.entries.forEach((e, m) => {
      const at = (entries[m] as { outOffset: number }).outOffset;
      matrices.set(matrixKey(layout, e), packed.slice(at, at + e.rows * e.cols));
    });
    lora.push(matrices);
  }
  return { layers, lora };
}
