import type { TokenLayoutEntry } from '../shapes';

/**
 * Un-normalises tokens (t * std + mean, each (count, h, w)) and writes each matrix's rows * cols
 * valid values row-major at its outOffset in a packed buffer of `totalElements` (gaps stay 0).
 */
export function detokenizeReference(
  tokens: Float32Array,
  mean: Float32Array,
  std: Float32Array,
  tokenSize: number,
  layout: readonly TokenLayoutEntry[],
  totalElements: number,
): Float32Array {
  const out = new Float32Array(totalElements);
  for (const e of layout) {
    const start = e.tokenOffset * tokenSize;
    for (let v = 0; v < e.rows * e.cols; v++) {
      out[e.outOffset + v] = tokens[start + v]! * std[start + v]! + mean[start + v]!;
    }
  }
  return out;
}
