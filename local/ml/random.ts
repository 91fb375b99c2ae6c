/**
 * The one seeded pseudo-random generator of the local engine: sfc32 (Chris Doty-Humphrey's Small
 * Fast Counting generator, 128-bit state), seeded through the splitmix32 mixer. Nothing here reads
 * the clock or Math.random: the same seed gives the same stream on every machine.
 *
 * Its users: the synthetic data generator (`Random` in local/generate/random.ts builds on `Sfc32`),
 * ALS's factor initialisation (local/ml/als.ts) and k-means++ seeding (local/ml/kmeans.ts). It imports
 * nothing, so every one of them can import it without a cycle.
 *
 * Two ways of turning a seed into the three state words are kept, because each fixes outputs that
 * tests and the cross-engine parity cases pin down bit for bit:
 * - `streamSeedWords(seed, stream)` (generator and ALS): words derived from the seed's mixed 64-bit
 *   halves and a stream number, so that one seed gives several unrelated streams;
 * - `splitmixSeedWords(seed)` (k-means): the first three outputs of a splitmix32 sequence.
 */

/** splitmix32 step: a good 32-bit mixer for seeding and for stateless hashing of ids. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const TWO_POW_32 = 4294967296;

/** The three sfc32 state words (the fourth, the counter, starts at 1). */
export type SeedWords = readonly [a: number, b: number, c: number];

/**
 * State words from a seed (any integer up to 2^53: both 32-bit halves are mixed in) and a stream
 * number, which goes into the second word as given: callers that want neighbouring stream numbers
 * further apart pass `mix32(stream)`.
 */
export function streamSeedWords(seed: number, stream: number): SeedWords {
  const s = mix32(seed | 0) ^ mix32(Math.floor(seed / TWO_POW_32) | 0);
  const a = mix32(s ^ 0x1234567);
  const b = mix32(a ^ stream);
  const c = mix32(b + 0x6a09e667);
  return [a, b, c];
}

/** State words as the first three outputs of splitmix32 started at the seed (its high bits folded in). */
export function splitmixSeedWords(seed: number): SeedWords {
  const s = ((seed >>> 0) ^ (Math.floor(seed / TWO_POW_32) >>> 0)) >>> 0;
  return [mix32(s), mix32(s + 0x9e3779b9), mix32(s + 2 * 0x9e3779b9)];
}

/** sfc32 over the given state words; the first `warmup` outputs are discarded. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(words: SeedWords, warmup: number) {
    [this.a, this.b, this.c] = words;
    this.d = 1;
    for (let i = 0; i < warmup; i++) this.u32();
  }

  /** Next uniform 32-bit unsigned integer. */
  u32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = ((c << 21) | (c >>> 11)) + t;
    this.c |= 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.u32() / TWO_POW_32;
  }

  /** Uniform in (0, 1] with 32 bits of resolution (never 0, so safe under a logarithm). */
  nextOpen(): number {
    return (this.u32() + 1) / TWO_POW_32;
  }
}
