/**
 * Colour of a value for the heatmaps. Sequential: dark blue -> teal -> yellow (readable on light
 * and dark backgrounds); diverging: blue (negative) -> near-white (0) -> red (positive).
 */
export type Rgb = [number, number, number];

const SEQUENTIAL: readonly Rgb[] = [
  [13, 8, 135],
  [84, 2, 163],
  [139, 10, 165],
  [185, 50, 137],
  [219, 92, 104],
  [244, 136, 73],
  [254, 188, 43],
  [240, 249, 33],
];
const DIVERGING: readonly Rgb[] = [
  [5, 48, 97],
  [67, 147, 195],
  [247, 247, 247],
  [214, 96, 77],
  [103, 0, 31],
];

/** t in [0, 1] along the stops, linearly interpolated. */
function along(stops: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

export function colorOf(value: number, lo: number, hi: number, diverging: boolean): Rgb {
  const span = hi - lo;
  const t = span > 0 ? (value - lo) / span : 0.5;
  return along(diverging ? DIVERGING : SEQUENTIAL, t);
}
