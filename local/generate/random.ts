/**
 * Seeded pseudo-random numbers for the synthetic data generator. Nothing here reads the clock or
 * Math.random: the same seed gives the same sequence on every machine.
 *
 * - `Random`: the engine's one sfc32 generator (local/ml/random.ts), seeded per (seed, stream) so that
 *   neighbouring seeds give unrelated streams, with the draws the generator needs.
 * - `ZipfSampler`: rank k (0-based) with probability proportional to 1/(k+1)^s, by a precomputed CDF
 *   and binary search (O(log n) per draw, n doubles of memory).
 * - helpers: uniform ints, normal (Box-Muller), log-normal, exponential, UUID v4 text.
 */

import { mix32, Sfc32, streamSeedWords } from '../ml/random';

/** Stateless hash of two 32-bit values (for per-entity ids that need no stored state). */
export function hash2(a: number, b: number): number {
  return mix32(mix32(a) ^ Math.imul(b | 0, 0x27d4eb2d));
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Random extends Sfc32 {
  private spareNormal: number | undefined;

  constructor(seed: number, stream = 0) {
    super(streamSeedWords(seed, stream), 16);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Standard normal (Box-Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** exp(N(mu, sigma^2)): the median is exp(mu). */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** RFC 4122 version-4 UUID text (version nibble 4, variant 10xx) from this generator. */
  uuid(): string {
    const w0 = this.u32();
    const w1 = this.u32();
    const w2 = this.u32();
    const w3 = this.u32();
    const b6 = ((w1 >>> 8) & 0x0f) | 0x40;
    const b8 = ((w2 >>> 24) & 0x3f) | 0x80;
    return (
      HEX[w0 >>> 24] + HEX[(w0 >>> 16) & 255] + HEX[(w0 >>> 8) & 255] + HEX[w0 & 255] + '-' +
      HEX[w1 >>> 24] + HEX[(w1 >>> 16) & 255] + '-' +
      HEX[b6] + HEX[w1 & 255] + '-' +
      HEX[b8] + HEX[(w2 >>> 16) & 255] + '-' +
      HEX[(w2 >>> 8) & 255] + HEX[w2 & 255] +
      HEX[w3 >>> 24] + HEX[(w3 >>> 16) & 255] + HEX[(w3 >>> 8) & 255] + HEX[w3 & 255]
    );
  }
}

/** Discrete sampler over explicit non-negative weights (CDF + binary search). */
export class WeightedSampler {
  private readonly cdf: Float64Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('WeightedSampler needs at least one weight');
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += weights[i];
      this.cdf[i] = total;
    }
    if (!(total > 0)) throw new Error('WeightedSampler needs a positive total weight');
    for (let i = 0; i < n; i++) this.cdf[i] /= total;
    this.cdf[n - 1] = 1;
  }

  get size(): number {
    return this.cdf.length;
  }

  /** Probability of index i. */
  probability(i: number): number {
    return i === 0 ? this.cdf[0] : this.cdf[i] - this.cdf[i - 1];
  }

  sample(rng: Random): number {
    const u = rng.next();
    const cdf = this.cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Zipf over ranks 0..n-1: P(k) ∝ 1/(k+1)^s. */
export class ZipfSampler extends WeightedSampler {
  constructor(n: number, s: number) {
    const w = new Float64Array(n);
    for (let k = 0; k < n; k++) w[k] = 1 / Math.pow(k + 1, s);
    super(w);
  }
}
