/**
 * What the ALS benchmarks (als-topn.ts, als-kernels.ts) share: their numeric command-line options and
 * the synthetic ratings they fit on (seeded, so every run and both benchmarks see the same matrix).
 */
import { Random, ZipfSampler } from '../local/generate/random';
import { ratingsFromTriples } from '../local/ml/als';

/** `--name <number>` from the command line, else `dflt`. */
export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Users of one or two of 40 genres; activity and item popularity both power-law (Zipf-like). */
export function ratings(users: number, items: number) {
  const r = new Random(12);
  const genres = 40;
  const perGenre = Math.floor(items / genres);
  const inGenre = new ZipfSampler(perGenre, 1);
  const overall = new ZipfSampler(items, 1);
  const uu: number[] = [];
  const ii: number[] = [];
  const vv: number[] = [];
  for (let u = 0; u < users; u++) {
    const g1 = r.int(genres);
    const g2 = r.chance(0.5) ? r.int(genres) : g1;
    const count = Math.min(400, 3 + Math.floor(2 / Math.pow(1 - r.next(), 0.8)));
    for (let c = 0; c < count; c++) {
      uu.push(u);
      ii.push(r.chance(0.6) ? (r.chance(0.5) ? g1 : g2) + genres * inGenre.sample(r) : overall.sample(r));
      vv.push(1 + r.int(3));
    }
  }
  return ratingsFromTriples(users, items, Int32Array.from(uu), Int32Array.from(ii), Float32Array.from(vv));
}
