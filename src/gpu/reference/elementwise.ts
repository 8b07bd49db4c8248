/** tanh fused into HyperConv3d's combine: y = (A + tanh(Bpre) + bias[i % plane]) / 3. */
export function combineReference(
  pathA: Float32Array,
  pathBPre: Float32Array,
  bias: Float32Array,
  plane: number,
): Float32Array {
  const y = new Float32Array(pathA.length);
  for (let i = 0; i < y.length; i++) y[i] = (pathA[i]! + Math.tanh(pathBPre[i]!) + bias[i % plane]!) / 3;
  return y;
}

/** Residual connection: y = a + b. */
export function residualAddReference(a: Float32Array, b: Float32Array): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < y.length; i++) y[i] = a[i]! + b[i]!;
  return y;
}
