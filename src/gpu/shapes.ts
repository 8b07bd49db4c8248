/** Shapes shared by the kernels and their CPU references (docs/hyperconv.md). */

/** A decoder activation (B, N, H, W), row-major, W fastest. */
export interface ActivationShape {
  batch: number;
  n: number;
  h: number;
  w: number;
}

/** Which axis of (N, H, W) an AxisConv treats as channels. */
export type ChannelAxis = 'N' | 'H' | 'W';

export function elementCount(s: ActivationShape): number {
  return s.batch * s.n * s.h * s.w;
}

export function formatShape(s: ActivationShape): string {
  return `(B=${s.batch}, N=${s.n}, H=${s.h}, W=${s.w})`;
}

/** Input shape with the channel axis resized to `outChannels`. */
export function axisConvOutputShape(input: ActivationShape, axis: ChannelAxis, outChannels: number): ActivationShape {
  switch (axis) {
    case 'N':
      return { ...input, n: outChannels };
    case 'H':
      return { ...input, h: outChannels };
    case 'W':
      return { ...input, w: outChannels };
  }
}

export function channelCount(s: ActivationShape, axis: ChannelAxis): number {
  return axis === 'N' ? s.n : axis === 'H' ? s.h : s.w;
}

/** The image axes (first, second) in the order of docs/hyperconv.md's table. */
export function imageAxes(axis: ChannelAxis): readonly [ChannelAxis, ChannelAxis] {
  switch (axis) {
    case 'W':
      return ['H', 'N'];
    case 'H':
      return ['N', 'W'];
    case 'N':
      return ['H', 'W'];
  }
}

/** Element strides of the N, H, W axes and of the batch for a row-major (B, N, H, W) tensor. */
export function activationStrides(s: ActivationShape): Record<ChannelAxis | 'B', number> {
  return { W: 1, H: s.w, N: s.h * s.w, B: s.n * s.h * s.w };
}

/** One matrix of the LoRA token layout (docs/generator-manifest.md), plus where it goes. */
export interface TokenLayoutEntry {
  tokenOffset: number;
  tokenCount: number;
  rows: number;
  cols: number;
  /** Element offset of this matrix in the packed output buffer. */
  outOffset: number;
}

/** Packs entries back to back in layout order; returns the entries with outOffset set and the total. */
export function packLayout(
  entries: readonly Omit<TokenLayoutEntry, 'outOffset'>[],
  alignElements = 1,
): { entries: TokenLayoutEntry[]; totalElements: number } {
  let next = 0;
  const packed = entries.map((e) => {
    const outOffset = Math.ceil(next / alignElements) * alignElements;
    next = outOffset + e.rows * e.cols;
    return { ...e, outOffset };
  });
  return { entries: packed, totalElements: next };
}

/** Shapes of one LoRA'd linear layer: W (out x in), A (rank x in), B (out x rank). */
export interface LoraShape {
  outFeatures: number;
  inFeatures: number;
  rank: number;
}
