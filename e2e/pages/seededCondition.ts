/** A seeded pseudo-random condition in [-0.5, 0.5) (an LCG), the same in the test page and in Node. */
export function seededCondition(count: number, seed: number): Float32Array {
  const condition = new Float32Array(count);
  let a = seed >>> 0;
  for (let i = 0; i < count; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    condition[i] = a / 2 ** 32 - 0.5;
  }
  return condition;
}
