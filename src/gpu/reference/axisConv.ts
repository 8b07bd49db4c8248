import { axisConvOutputShape, channelCount, type ActivationShape, type ChannelAxis } from '../shapes';

/**
 * AxisConv exactly as written in docs/hyperconv.md: weight (C_out, C_in, k, k), i indexes the first
 * image axis and j the second, "same" zero padding. Returns the output and its shape.
 */
export function axisConvReference(
  x: Float32Array,
  shape: ActivationShape,
  weight: Float32Array,
  bias: Float32Array | null,
  axis: ChannelAxis,
  outChannels: number,
  k: number,
): { y: Float32Array; shape: ActivationShape } {
  const out = axisConvOutputShape(shape, axis, outChannels);
  const cin = channelCount(shape, axis);
  const p = (k - 1) / 2;
  const { n: N, h: H, w: W } = shape;
  const y = new Float32Array(out.batch * out.n * out.h * out.w);
  const xAt = (b: number, n: number, h: number, w: number): number =>
    n < 0 || n >= N || h < 0 || h >= H || w < 0 || w >= W ? 0 : x[((b * N + n) * H + h) * W + w]!;
  const wAt = (o: number, c: number, i: number, j: number): number => weight[((o * cin + c) * k + i) * k + j]!;

  for (let b = 0; b < out.batch; b++) {
    for (let n = 0; n < out.n; n++) {
      for (let h = 0; h < out.h; h++) {
        for (let w = 0; w < out.w; w++) {
          // The output channel index and the two image coordinates, per the table in the doc.
          let sum = 0;
          for (let c = 0; c < cin; c++) {
            for (let i = 0; i < k; i++) {
              for (let j = 0; j < k; j++) {
                const di = i - p;
                const dj = j - p;
                if (axis === 'W') sum += wAt(w, c, i, j) * xAt(b, n + dj, h + di, c); // image (H, N)
                else if (axis === 'H') sum += wAt(h, c, i, j) * xAt(b, n + di, c, w + dj); // image (N, W)
                else sum += wAt(n, c, i, j) * xAt(b, c, h + di, w + dj); // image (H, W)
              }
            }
          }
          const o = axis === 'W' ? w : axis === 'H' ? h : n;
          y[((b * out.n + n) * out.h + h) * out.w + w] = sum + (bias ? bias[o]! : 0);
        }
      }
    }
  }
  return { y, shape: out };
}
