import type { ActivationShape } from '../shapes';

/** LayerNorm over (H, W) of each (b, n) plane with an (H, W) affine; biased variance. */
export function layerNormReference(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  shape: ActivationShape,
  eps: number,
): Float32Array {
  const plane = shape.h * shape.w;
  const rows = shape.batch * shape.n;
  const y = new Float32Array(rows * plane);
  for (let row = 0; row < rows; row++) {
    const base = row * plane;
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += x[base + i]!;
    const mean = sum / plane;
    let sq = 0;
    for (let i = 0; i < plane; i++) sq += (x[base + i]! - mean) ** 2;
    const invStd = 1 / Math.sqrt(sq / plane + eps);
    for (let i = 0; i < plane; i++) y[base + i] = (x[base + i]! - mean) * invStd * gamma[i]! + beta[i]!;
  }
  return y;
}
