/** A norm with three significant digits (small values in exponent form). */
export function formatNorm(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) < 0.001 || Math.abs(v) >= 10_000 ? v.toExponential(2) : v.toPrecision(3);
}

/** A cosine similarity with two decimals; -0.00 is shown as 0.00. */
export function formatCosine(v: number): string {
  const s = v.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}
