/** Next-token choice from one row of logits: greedy, or temperature / top-k / top-p with a seeded PRNG. */
export interface SamplingOptions {
  /** 0 or absent: greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or absent: all). */
  topP?: number;
  /** Seed of the sampler's PRNG (default 0), so sampled runs are reproducible. */
  seed?: number;
}

export function argmax(logits: Float32Array, offset = 0, length = logits.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i] ?? -Infinity;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** mulberry32: a small, fast, seedable PRNG in [0, 1). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Sampler {
  private readonly rng: () => number;
  constructor(private readonly options: SamplingOptions = {}) {
    this.rng = makeRng(options.seed ?? 0);
  }

  get greedy(): boolean {
    return !this.options.temperature || this.options.temperature <= 0;
  }

  pick(logits: Float32Array, offset: number, vocab: number): number {
    if (this.greedy) return argmax(logits, offset, vocab);
    const t = this.options.temperature ?? 1;
    const order = Array.from({ length: vocab }, (_, i) => i);
    order.sort((x, y) => (logits[offset + y] ?? 0) - (logits[offset + x] ?? 0));
    const k = this.options.topK && this.options.topK > 0 ? Math.min(this.options.topK, vocab) : vocab;
    const max = logits[offset + (order[0] ?? 0)] ?? 0;
    const probs: number[] = [];
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const p = Math.exp(((logits[offset + (order[i] ?? 0)] ?? 0) - max) / t);
      probs.push(p);
      sum += p;
    }
    const topP = this.options.topP ?? 1;
    let keep = probs.length;
    if (topP < 1) {
      let acc = 0;
      for (let i = 0; i < probs.length; i++) {
        acc += (probs[i] ?? 0) / sum;
        if (acc >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let total = 0;
    for (let i = 0; i < keep; i++) total += probs[i] ?? 0;
    let u = this.rng() * total;
    for (let i = 0; i < keep; i++) {
      u -= probs[i] ?? 0;
      if (u <= 0) return order[i] ?? 0;
    }
    return order[keep - 1] ?? 0;
  }
}
