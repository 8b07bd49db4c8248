/** Summary statistics shared by the benchmark pages and scripts. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * The hyper-convolution fixture's error measure (test/fixtures/hyperconv/README.md):
 * max|got - expected| / max(1, max|expected|); Infinity when `got` holds a non-finite value.
 */
export function fixtureRelativeError(got: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let ref = 1;
  for (let i = 0; i < expected.length; i++) {
    const g = got[i] as number;
    if (!Number.isFinite(g)) return Infinity;
    diff = Math.max(diff, Math.abs(g - (expected[i] as number)));
    ref = Math.max(ref, Math.abs(expected[i] as number));
  }
  return diff / ref;
}
