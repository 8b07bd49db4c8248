import type { LoraShape } from '../shapes';

/** W' = W + scale * B @ A (scale = alpha / rank). All row-major. */
export function loraMergeReference(
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  shape: LoraShape,
  scale: number,
): Float32Array {
  const { outFeatures: O, inFeatures: I, rank: R } = shape;
  const merged = new Float32Array(O * I);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let delta = 0;
      for (let r = 0; r < R; r++) delta += b[o * R + r]! * a[r * I + i]!;
      merged[o * I + i] = w[o * I + i]! + scale * delta;
    }
  }
  return merged;
}

/** y = x W^T + scale * (x A^T) B^T for `rows` row vectors x (rows x in). */
export function loraMatmulReference(
  x: Float32Array,
  rows: number,
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  shape: LoraShape,
  scale: number,
): Float32Array {
  const { outFeatures: O, inFeatures: I, rank: R } = shape;
  const y = new Float32Array(rows * O);
  const xa = new Float64Array(R);
  for (let m = 0; m < rows; m++) {
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += x[m * I + i]! * a[r * I + i]!;
      xa[r] = s;
    }
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += x[m * I + i]! * w[o * I + i]!;
      let low = 0;
      for (let r = 0; r < R; r++) low += xa[r]! * b[o * R + r]!;
      y[m * O + o] = s + scale * low;
    }
  }
  return y;
}
