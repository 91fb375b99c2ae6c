/**
 * WebAssembly SIMD (128-bit) kernels of the local ALS (../als.ts): the conjugate-gradient row solve
 * (`solve`, the twin of solveRange), the Gram partial (`gram`, the twin of gramRange), the top-n
 * dot block (`score`, inside topNRange) and the loss's observed part (`loss`, lossRange's twin), built at run time by our own emitter (./emit.ts) and run by
 * every thread on one shared memory arena.
 *
 * Why: the JS kernels run at ~0.6-1.8 GFLOP/s (scalar doubles, bounds-checked typed arrays); f32x4
 * lanes and no bounds checks make the solve ~9x and the Gram ~10x faster (bench/als-kernels.ts).
 * Fallback: where WebAssembly.validate rejects the module or a shared Memory cannot be made, alsWasm()
 * is null and ALS runs the JS kernels (as it does under SHOPSIGHT_ALS_KERNELS=js, see ../als.ts).
 *
 * Memory layout. One `WebAssembly.Memory({ shared: true })` per process (the `WasmArena`), imported by
 * every instance as env.memory. ALS allocates its shared arrays (ratings CSR both ways, factors X and
 * Y, Gram partials, for the solve a Float32 copy of G and per-task scratch, for scoring the query
 * factors, the candidates as pairs of doubles and per-task score buffers) from the arena with a
 * bump allocator (16-byte aligned), released to a mark when the call ends; the memory grows
 * as needed (views made before a grow stay valid: a shared memory is never detached) up to MAX_PAGES.
 * A typed array on the arena's buffer has its memory address as its byteOffset, so the kernels take
 * byte offsets. Worker threads get the Memory and the module bytes through workerData and instantiate
 * once each.
 *
 * solve(ptr, idx, val, dst, src, g32, rank, lambda, alpha, cgSteps, zeroStart, from, to, scratch):
 * the same algorithm, steps and stopping rule as solveRange; the vectors x, r, p, Ap are Float32 (in
 * the task's scratch: 4 vectors of rankPad = ceil(rank / 4) * 4 floats, zero-padded) with f32x4 dot
 * products and axpys (a dot's lanes summed in f32, then promoted), the per-rating coefficients and the
 * reductions rr and p.Ap in f64. g32 is G as Float32, rankPad rows of rankPad floats, zero-padded (G
 * times a vector is formed four rows at a time in f32x4, Float32 too).
 * gram(f, from, to, rank, out): the upper triangle (and a few entries just below the diagonal, which
 * the caller overwrites by symmetry) of F[from..to)^T F[from..to) in f64x2, the products of Float32
 * exact in double and added per entry in entity order: bit-identical to gramRange.
 */

import { Code, Label, ModuleBuilder, ValType } from './emit';

const { i32, f32, f64, v128 } = ValType;

/** Arena ceiling: 2 GiB (32768 pages of 64 KiB), reserved up front by shared memories. */
export const MAX_PAGES = 32768;
const PAGE = 65536;

/** bytes 8..15 then 0..7: moves lanes 2-3 of an f32x4 to lanes 0-1 (for f64x2.promote_low_f32x4). */
const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];

/** i8x16.shuffle bytes picking f32 lanes (0-3 of the first operand, 4-7 of the second). */
function lanes(...l: number[]): number[] {
  return l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);
}

/** while (cond) body, cond pushing an i32; the body gets the loop's exit label. */
function whileLoop(c: Code, cond: () => void, body: (exit: Label) => void): void {
  c.block((exit) =>
    c.loop((top) => {
      cond();
      c.i32Eqz().brIf(exit);
      body(exit);
      c.br(top);
    }),
  );
}

/** local += step (i32) */
function bump(c: Code, l: number, step: number | (() => void)): void {
  c.get(l);
  if (typeof step === 'number') c.i32Const(step);
  else step();
  c.i32Add().set(l);
}

/** Pushes local a + local b (i32 addresses). */
function addr(c: Code, a: number, b: number): Code {
  return c.get(a).get(b).i32Add();
}

interface Scratch {
  kb: number /* i32 byte cursor */;
  acc0: number /* v128 */;
  acc1: number /* v128 */;
}

/**
 * res (f64 local) = sum over bytes [0, nb) of a[.] * b[.] (f32): f32x4 over [0, vb) (vb a multiple of
 * 16) with two accumulators, lanes summed in f64, then scalar f64 products for [vb, nb).
 */
function dot(c: Code, s: Scratch, a: number, b: number, vb: number, nb: number, res: number): void {
  const { kb, acc0, acc1 } = s;
  c.v128Const0().set(acc0).v128Const0().set(acc1).i32Const(0).set(kb);
  const term = (off: number, acc: number) => {
    c.get(acc);
    addr(c, a, kb).v128Load(off);
    addr(c, b, kb).v128Load(off);
    c.f32x4Mul().f32x4Add().set(acc);
  };
  whileLoop(c, () => c.get(kb).i32Const(32).i32Add().get(vb).i32LeS(), () => {
    term(0, acc0);
    term(16, acc1);
    bump(c, kb, 32);
  });
  c.get(kb).get(vb).i32LtS().if(() => {
    term(0, acc0);
    bump(c, kb, 16);
  });
  // Lanes summed pairwise by shuffles: (l0 + l2) + (l1 + l3).
  c.get(acc0).get(acc1).f32x4Add().tee(acc0);
  c.get(acc0).get(acc0).i8x16Shuffle(HIGH_TO_LOW).f32x4Add().tee(acc0);
  c.get(acc0).get(acc0).i8x16Shuffle(lanes(1, 0, 3, 2)).f32x4Add().f32x4ExtractLane(0).f64PromoteF32().set(res);
  whileLoop(c, () => c.get(kb).get(nb).i32LtS(), () => {
    c.get(res);
    addr(c, a, kb).f32Load().f64PromoteF32();
    addr(c, b, kb).f32Load().f64PromoteF32();
    c.f64Mul().f64Add().set(res);
    bump(c, kb, 4);
  });
}

/**
 * res (v128 local) = (G_a . v, G_a+1 . v, G_a+2 . v, G_a+3 . v) for the four padded g32 rows from byte
 * address gRow (rows rpb bytes apart) and the padded vector v: one load of v per four rows, the four
 * sums then reduced together by a transpose of shuffles.
 */
function gemv4(c: Code, s: Scratch, acc: number[], gRow: number, v: number, rpb: number, res: number, vk: number): void {
  const { kb } = s;
  for (const a of acc) c.v128Const0().set(a);
  c.i32Const(0).set(kb);
  whileLoop(c, () => c.get(kb).get(rpb).i32LtS(), () => {
    addr(c, v, kb).v128Load().set(vk);
    for (let i = 0; i < 4; i++) {
      c.get(acc[i]);
      c.get(gRow);
      if (i > 0) c.get(rpb).i32Const(i).i32Mul().i32Add();
      c.get(kb).i32Add().v128Load().get(vk).f32x4Mul().f32x4Add().set(acc[i]);
    }
    bump(c, kb, 16);
  });
  // (a0+a2, b0+b2, a1+a3, b1+b3) and the same for c, d; then lanes 0-1 + lanes 2-3 of the pair.
  const pairUp = (x: number, y: number) => {
    c.get(x).get(y).i8x16Shuffle(lanes(0, 4, 1, 5));
    c.get(x).get(y).i8x16Shuffle(lanes(2, 6, 3, 7));
    c.f32x4Add();
  };
  pairUp(acc[0], acc[1]);
  c.set(acc[0]);
  pairUp(acc[2], acc[3]);
  c.set(acc[2]);
  c.get(acc[0]).get(acc[2]).i8x16Shuffle(lanes(0, 1, 4, 5));
  c.get(acc[0]).get(acc[2]).i8x16Shuffle(lanes(2, 3, 6, 7));
  c.f32x4Add().set(res);
}

/** v[.] += coef * y[.] over bytes [0, nb): f32x4 over [0, vb), scalar after; coef an f32 local. */
function axpy(c: Code, s: Scratch, coef: number, y: number, v: number, vb: number, nb: number): void {
  const { kb, acc0 } = s;
  c.get(coef).f32x4Splat().set(acc0).i32Const(0).set(kb);
  const term = (off: number) => {
    addr(c, v, kb);
    addr(c, v, kb).v128Load(off);
    c.get(acc0);
    addr(c, y, kb).v128Load(off);
    c.f32x4Mul().f32x4Add().v128Store(off);
  };
  whileLoop(c, () => c.get(kb).i32Const(32).i32Add().get(vb).i32LeS(), () => {
    term(0);
    term(16);
    bump(c, kb, 32);
  });
  c.get(kb).get(vb).i32LtS().if(() => {
    term(0);
    bump(c, kb, 16);
  });
  whileLoop(c, () => c.get(kb).get(nb).i32LtS(), () => {
    addr(c, v, kb);
    addr(c, v, kb).f32Load();
    c.get(coef);
    addr(c, y, kb).f32Load();
    c.f32Mul().f32Add().f32Store();
    bump(c, kb, 4);
  });
}

/** Pushes (u0 w0 + u2 w2, u1 w1 + u3 w3) in f64x2 for f32x4 locals u, w: a dot product's partial sums in double. */
function productSum2(c: Code, u: number, w: number): void {
  c.get(u).f64x2PromoteLowF32x4().get(w).f64x2PromoteLowF32x4().f64x2Mul();
  c.get(u).get(u).i8x16Shuffle(HIGH_TO_LOW).f64x2PromoteLowF32x4();
  c.get(w).get(w).i8x16Shuffle(HIGH_TO_LOW).f64x2PromoteLowF32x4();
  c.f64x2Mul().f64x2Add();
}

function solveFunction(): Code {
  // Parameters (byte offsets unless noted).
  const c = new Code([i32, i32, i32, i32, i32, i32, i32, f64, f64, i32, i32, i32, i32, i32], []);
  const [ptr, idx, val, dst, src, g, rank, lambda, alpha, steps, zeroStart, from, to, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const L = (t: ValType) => c.local(t);
  const [e, s, t, o, q, yo, ab, gRow, step, rb, rvb, rpb, X, R, P, AP] = Array.from({ length: 16 }, () => L(i32));
  const [reg, c1, d, rr, pap, stepA, beta, rrNew] = Array.from({ length: 8 }, () => L(f64));
  const coef = L(f32);
  const [cs, u, w, gv, vk, regV] = [L(v128), L(v128), L(v128), L(v128), L(v128), L(v128)];
  const sc: Scratch = { kb: L(i32), acc0: L(v128), acc1: L(v128) };
  const acc4 = [sc.acc0, sc.acc1, L(v128), L(v128)];
  const kb = sc.kb;

  // rb: bytes of a row; rvb: its f32x4 part; rpb: bytes of a padded scratch / g32 row.
  c.get(rank).i32Const(2).i32Shl().set(rb);
  c.get(rank).i32Const(-4).i32And().i32Const(2).i32Shl().set(rvb);
  c.get(rank).i32Const(3).i32Add().i32Const(-4).i32And().i32Const(2).i32Shl().set(rpb);
  c.get(scratch).set(X);
  addr(c, X, rpb).set(R);
  addr(c, R, rpb).set(P);
  addr(c, P, rpb).set(AP);
  const zeroVectors = (...vs: number[]) => {
    c.i32Const(0).set(kb);
    whileLoop(c, () => c.get(kb).get(rpb).i32LtS(), () => {
      for (const v of vs) {
        addr(c, v, kb).v128Const0().v128Store();
      }
      bump(c, kb, 16);
    });
  };
  zeroVectors(X, R, P, AP);
  /** f32 copy of bytes [0, rb) from a to b. */
  const copyRow = (a: number, b: number) => {
    c.i32Const(0).set(kb);
    whileLoop(c, () => c.get(kb).get(rb).i32LtS(), () => {
      addr(c, b, kb);
      addr(c, a, kb).f32Load();
      c.f32Store();
      bump(c, kb, 4);
    });
  };
  /** yo = src + idx[q] * rb */
  const rowOfRating = () => {
    c.get(src);
    c.get(idx).get(q).i32Const(2).i32Shl().i32Add().i32Load();
    c.get(rb).i32Mul().i32Add().set(yo);
  };
  /** Pushes val[q] as f64. */
  const value = () => c.get(val).get(q).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32();

  c.get(from).set(e);
  whileLoop(c, () => c.get(e).get(to).i32LtS(), () => {
    c.get(ptr).get(e).i32Const(2).i32Shl().i32Add().i32Load(0).set(s);
    c.get(ptr).get(e).i32Const(2).i32Shl().i32Add().i32Load(4).set(t);
    c.get(dst).get(e).get(rb).i32Mul().i32Add().set(o);
    c.get(s).get(t).i32Eq().if(
      () => {
        c.i32Const(0).set(kb);
        whileLoop(c, () => c.get(kb).get(rb).i32LtS(), () => {
          addr(c, o, kb).f32Const(0).f32Store();
          bump(c, kb, 4);
        });
      },
      () => {
        c.get(lambda).get(t).get(s).i32Sub().f64ConvertI32S().f64Mul().set(reg);
        zeroVectors(X, R);
        c.get(zeroStart).i32Eqz().if(() => copyRow(o, X));
        // r = sum_i (c_ui - (c_ui - 1)(y_i . x)) y_i
        c.get(s).set(q);
        whileLoop(c, () => c.get(q).get(t).i32LtS(), () => {
          rowOfRating();
          c.get(alpha);
          value();
          c.f64Mul().set(c1);
          dot(c, sc, yo, X, rvb, rb, d);
          c.f64Const(1).get(c1).f64Add().get(c1).get(d).f64Mul().f64Sub().f32DemoteF64().set(coef);
          axpy(c, sc, coef, yo, R, rvb, rb);
          bump(c, q, 1);
        });
        // r -= G x + reg x; p = r; rr = r . r (f64), four rows at a time (g32 has rankPad zero-padded rows)
        c.get(reg).f32DemoteF64().f32x4Splat().set(regV);
        c.v128Const0().set(w).i32Const(0).set(ab).get(g).set(gRow);
        whileLoop(c, () => c.get(ab).get(rpb).i32LtS(), () => {
          gemv4(c, sc, acc4, gRow, X, rpb, gv, vk);
          addr(c, R, ab).v128Load().get(gv).f32x4Sub();
          c.get(regV);
          addr(c, X, ab).v128Load();
          c.f32x4Mul().f32x4Sub().set(u);
          addr(c, R, ab).get(u).v128Store();
          addr(c, P, ab).get(u).v128Store();
          c.get(w);
          productSum2(c, u, u);
          c.f64x2Add().set(w);
          bump(c, ab, 16);
          bump(c, gRow, () => c.get(rpb).i32Const(2).i32Shl());
        });
        c.get(w).f64x2ExtractLane(0).get(w).f64x2ExtractLane(1).f64Add().set(rr);
        c.i32Const(0).set(step);
        c.block((done) =>
          c.loop((top) => {
            c.get(step).get(steps).i32GeS().brIf(done);
            c.get(rr).f64Const(0).f64Gt().i32Eqz().brIf(done);
            // ap = G p + reg p + sum_i alpha r_ui (y_i . p) y_i
            c.i32Const(0).set(ab).get(g).set(gRow);
            whileLoop(c, () => c.get(ab).get(rpb).i32LtS(), () => {
              gemv4(c, sc, acc4, gRow, P, rpb, gv, vk);
              addr(c, AP, ab);
              c.get(gv).get(regV);
              addr(c, P, ab).v128Load();
              c.f32x4Mul().f32x4Add().v128Store();
              bump(c, ab, 16);
              bump(c, gRow, () => c.get(rpb).i32Const(2).i32Shl());
            });
            c.get(s).set(q);
            whileLoop(c, () => c.get(q).get(t).i32LtS(), () => {
              rowOfRating();
              dot(c, sc, yo, P, rvb, rb, d);
              c.get(alpha);
              value();
              c.f64Mul().get(d).f64Mul().set(d);
              c.get(d).f64Const(0).f64Ne().if(() => {
                c.get(d).f32DemoteF64().set(coef);
                axpy(c, sc, coef, yo, AP, rvb, rb);
              });
              bump(c, q, 1);
            });
            // pap = p . ap (f64)
            c.v128Const0().set(sc.acc1).i32Const(0).set(kb);
            whileLoop(c, () => c.get(kb).get(rpb).i32LtS(), () => {
              addr(c, P, kb).v128Load().set(u);
              addr(c, AP, kb).v128Load().set(w);
              c.get(sc.acc1);
              productSum2(c, u, w);
              c.f64x2Add().set(sc.acc1);
              bump(c, kb, 16);
            });
            c.get(sc.acc1).f64x2ExtractLane(0).get(sc.acc1).f64x2ExtractLane(1).f64Add().tee(pap);
            c.f64Const(0).f64Gt().i32Eqz().brIf(done);
            c.get(rr).get(pap).f64Div().set(stepA);
            // x += stepA p; r -= stepA ap; rrNew = r . r (f64)
            c.get(stepA).f32DemoteF64().f32x4Splat().set(cs);
            c.v128Const0().set(sc.acc1).i32Const(0).set(kb);
            whileLoop(c, () => c.get(kb).get(rpb).i32LtS(), () => {
              addr(c, X, kb);
              addr(c, X, kb).v128Load();
              c.get(cs);
              addr(c, P, kb).v128Load();
              c.f32x4Mul().f32x4Add().v128Store();
              addr(c, R, kb).v128Load();
              c.get(cs);
              addr(c, AP, kb).v128Load();
              c.f32x4Mul().f32x4Sub().set(u);
              addr(c, R, kb).get(u).v128Store();
              c.get(sc.acc1);
              productSum2(c, u, u);
              c.f64x2Add().set(sc.acc1);
              bump(c, kb, 16);
            });
            c.get(sc.acc1).f64x2ExtractLane(0).get(sc.acc1).f64x2ExtractLane(1).f64Add().set(rrNew);
            c.get(rrNew).get(rr).f64Div().set(beta);
            c.get(rrNew).set(rr);
            // p = r + beta p
            c.get(beta).f32DemoteF64().f32x4Splat().set(cs);
            c.i32Const(0).set(kb);
            whileLoop(c, () => c.get(kb).get(rpb).i32LtS(), () => {
              addr(c, P, kb);
              addr(c, R, kb).v128Load();
              c.get(cs);
              addr(c, P, kb).v128Load();
              c.f32x4Mul().f32x4Add().v128Store();
              bump(c, kb, 16);
            });
            bump(c, step, 1);
            c.br(top);
          }),
        );
        copyRow(X, o);
      },
    );
    bump(c, e, 1);
  });
  return c;
}

function gramFunction(): Code {
  const c = new Code([i32, i32, i32, i32, i32], []);
  const [f, from, to, rank, out] = [0, 1, 2, 3, 4];
  const [e, rb, a, ab, b, row, kb, end] = Array.from({ length: 8 }, () => c.local(i32));
  const rows = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  const fa = [c.local(f64), c.local(f64), c.local(f64), c.local(f64)];
  const sa = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const acc = c.local(v128);
  const accS = c.local(f64);

  c.get(rank).i32Const(2).i32Shl().set(rb);
  // out[0 .. rank^2) = 0
  c.get(rank).get(rank).i32Mul().i32Const(3).i32Shl().set(end);
  c.i32Const(0).set(kb);
  whileLoop(c, () => c.get(kb).get(end).i32LtS(), () => {
    addr(c, out, kb).f64Const(0).f64Store();
    bump(c, kb, 8);
  });
  /**
   * Adds the products of `group` consecutive entities starting at e: per entry the group's terms are
   * added one after the other in entity order, so the sums are gramRange's, bit for bit.
   */
  const entities = (group: number) => {
    c.get(f).get(e).get(rb).i32Mul().i32Add().set(rows[0]);
    for (let g = 1; g < group; g++) addr(c, rows[g - 1], rb).set(rows[g]);
    c.i32Const(0).set(a);
    whileLoop(c, () => c.get(a).get(rank).i32LtS(), () => {
      c.get(a).i32Const(2).i32Shl().set(ab);
      for (let g = 0; g < group; g++) {
        addr(c, rows[g], ab).f32Load().f64PromoteF32().tee(fa[g]).f64x2Splat().set(sa[g]);
      }
      c.get(out).get(a).get(rank).i32Mul().i32Const(3).i32Shl().i32Add().set(row);
      // b from a rounded down to even: pairs (b, b + 1) within the row, then a last single b.
      c.get(a).i32Const(-2).i32And().set(b);
      whileLoop(c, () => c.get(b).i32Const(2).i32Add().get(rank).i32LeS(), () => {
        c.get(row).get(b).i32Const(3).i32Shl().i32Add().set(kb);
        c.get(kb).v128Load().set(acc);
        for (let g = 0; g < group; g++) {
          c.get(acc).get(sa[g]);
          c.get(rows[g]).get(b).i32Const(2).i32Shl().i32Add().v128Load64Zero().f64x2PromoteLowF32x4();
          c.f64x2Mul().f64x2Add().set(acc);
        }
        c.get(kb).get(acc).v128Store();
        bump(c, b, 2);
      });
      c.get(b).get(rank).i32LtS().if(() => {
        c.get(row).get(b).i32Const(3).i32Shl().i32Add().set(kb);
        c.get(kb).f64Load().set(accS);
        for (let g = 0; g < group; g++) {
          c.get(accS).get(fa[g]);
          c.get(rows[g]).get(b).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32();
          c.f64Mul().f64Add().set(accS);
        }
        c.get(kb).get(accS).f64Store();
      });
      bump(c, a, 1);
    });
    bump(c, e, group);
  };
  c.get(from).set(e);
  whileLoop(c, () => c.get(e).i32Const(4).i32Add().get(to).i32LeS(), () => entities(4));
  whileLoop(c, () => c.get(e).get(to).i32LtS(), () => entities(1));
  return c;
}

/**
 * score(q0, q1, q2, q3, rank, c2, pFrom, pTo, out, qbuf): x_s . y_j for the four Float32 query rows
 * at q0..q3 and candidate rows j in [2 pFrom, 2 pTo), summed in double in order k = 0..rank-1 (the
 * products of Float32s are exact in double), so each score is topNRange's, bit for bit. c2 holds the
 * candidates in pairs as doubles, interleaved: pair p, entry k at c2 + 16 (p rank + k) = (y_2p[k],
 * y_2p+1[k]). out gets 8 doubles per pair: query s at out + 64 (p - pFrom) + 16 s = (x_s . y_2p,
 * x_s . y_2p+1). qbuf: 4 rank doubles of scratch (the queries promoted once per call).
 */
function scoreFunction(): Code {
  const c = new Code([i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], []);
  const q = [0, 1, 2, 3];
  const [rank, c2, pFrom, pTo, out, qbuf] = [4, 5, 6, 7, 8, 9];
  const [rb8, p, ob, cb, kq, kc, kb] = Array.from({ length: 7 }, () => c.local(i32));
  const qs = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  const acc = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const y = c.local(v128);
  c.get(rank).i32Const(3).i32Shl().set(rb8);
  for (let s = 0; s < 4; s++) {
    c.get(qbuf).get(rb8).i32Const(s).i32Mul().i32Add().set(qs[s]);
    c.i32Const(0).set(kb);
    c.i32Const(0).set(kq);
    whileLoop(c, () => c.get(kq).get(rb8).i32LtS(), () => {
      addr(c, qs[s], kq);
      addr(c, q[s], kb).f32Load().f64PromoteF32();
      c.f64Store();
      bump(c, kb, 4);
      bump(c, kq, 8);
    });
  }
  c.get(pFrom).set(p).get(out).set(ob);
  c.get(c2).get(pFrom).get(rank).i32Mul().i32Const(4).i32Shl().i32Add().set(cb);
  whileLoop(c, () => c.get(p).get(pTo).i32LtS(), () => {
    for (let s = 0; s < 4; s++) c.v128Const0().set(acc[s]);
    c.i32Const(0).set(kq).i32Const(0).set(kc);
    whileLoop(c, () => c.get(kq).get(rb8).i32LtS(), () => {
      addr(c, cb, kc).v128Load().set(y);
      for (let s = 0; s < 4; s++) {
        c.get(acc[s]);
        addr(c, qs[s], kq).v128Load64Splat();
        c.get(y).f64x2Mul().f64x2Add().set(acc[s]);
      }
      bump(c, kq, 8);
      bump(c, kc, 16);
    });
    for (let s = 0; s < 4; s++) c.get(ob).get(acc[s]).v128Store(16 * s);
    bump(c, ob, 64);
    bump(c, cb, () => c.get(rb8).i32Const(1).i32Shl());
    bump(c, p, 1);
  });
  return c;
}

/** The candidate rows C (m x rank, Float32) as score()'s interleaved pairs of doubles (an odd last row paired with zeros). */
export function writeCandidatePairs(C: Float32Array, m: number, rank: number, out: Float64Array): void {
  const pairs = (m + 1) >> 1;
  out.fill(0, 0, pairs * rank * 2);
  for (let j = 0; j < m; j++) {
    const base = (j >> 1) * rank * 2 + (j & 1);
    const o = j * rank;
    for (let k = 0; k < rank; k++) out[base + 2 * k] = C[o + k];
  }
}

/**
 * loss(ptr, idx, val, X, Y, rank, lambda, alpha, from, to, xbuf) -> f64: lossRange for users [from,
 * to), bit for bit: the same double operations in the same order (dotFD's four sums s0..s3 as two
 * f64x2 pairs, its tail into s0, then s0 + s1 + (s2 + s3)). xbuf: rank doubles of scratch (x_u).
 */
function lossFunction(): Code {
  const c = new Code([i32, i32, i32, i32, i32, i32, f64, f64, i32, i32, i32], [f64]);
  const [ptr, idx, val, X, Y, rank, lambda, alpha, from, to, xbuf] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [u, s, t, q, o, yo, rb, k4, k8] = Array.from({ length: 9 }, () => c.local(i32));
  const [total, nx, obs, v, s0, d, cc, e] = Array.from({ length: 8 }, () => c.local(f64));
  const [acc01, acc23] = [c.local(v128), c.local(v128)];
  c.get(rank).i32Const(2).i32Shl().set(rb);
  c.f64Const(0).set(total);
  c.get(from).set(u);
  whileLoop(c, () => c.get(u).get(to).i32LtS(), () => {
    c.get(X).get(u).get(rb).i32Mul().i32Add().set(o);
    c.f64Const(0).set(nx).i32Const(0).set(k4).i32Const(0).set(k8);
    whileLoop(c, () => c.get(k4).get(rb).i32LtS(), () => {
      addr(c, o, k4).f32Load().f64PromoteF32().set(v);
      addr(c, xbuf, k8).get(v).f64Store();
      c.get(nx).get(v).get(v).f64Mul().f64Add().set(nx);
      bump(c, k4, 4);
      bump(c, k8, 8);
    });
    c.f64Const(0).set(obs);
    c.get(ptr).get(u).i32Const(2).i32Shl().i32Add().i32Load(0).set(s);
    c.get(ptr).get(u).i32Const(2).i32Shl().i32Add().i32Load(4).set(t);
    c.get(s).set(q);
    whileLoop(c, () => c.get(q).get(t).i32LtS(), () => {
      c.get(Y);
      c.get(idx).get(q).i32Const(2).i32Shl().i32Add().i32Load();
      c.get(rb).i32Mul().i32Add().set(yo);
      c.v128Const0().set(acc01).v128Const0().set(acc23).i32Const(0).set(k4).i32Const(0).set(k8);
      whileLoop(c, () => c.get(k4).i32Const(16).i32Add().get(rb).i32LeS(), () => {
        c.get(acc01);
        addr(c, yo, k4).v128Load64Zero().f64x2PromoteLowF32x4();
        addr(c, xbuf, k8).v128Load();
        c.f64x2Mul().f64x2Add().set(acc01);
        c.get(acc23);
        addr(c, yo, k4).v128Load64Zero(8).f64x2PromoteLowF32x4();
        addr(c, xbuf, k8).v128Load(16);
        c.f64x2Mul().f64x2Add().set(acc23);
        bump(c, k4, 16);
        bump(c, k8, 32);
      });
      c.get(acc01).f64x2ExtractLane(0).set(s0);
      whileLoop(c, () => c.get(k4).get(rb).i32LtS(), () => {
        c.get(s0);
        addr(c, yo, k4).f32Load().f64PromoteF32();
        addr(c, xbuf, k8).f64Load();
        c.f64Mul().f64Add().set(s0);
        bump(c, k4, 4);
        bump(c, k8, 8);
      });
      c.get(s0).get(acc01).f64x2ExtractLane(1).f64Add();
      c.get(acc23).f64x2ExtractLane(0).get(acc23).f64x2ExtractLane(1).f64Add();
      c.f64Add().set(d);
      // c = 1 + alpha r; e = 1 - d; obs += c e e - d d
      c.f64Const(1).get(alpha);
      c.get(val).get(q).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32();
      c.f64Mul().f64Add().set(cc);
      c.f64Const(1).get(d).f64Sub().set(e);
      c.get(obs).get(cc).get(e).f64Mul().get(e).f64Mul().get(d).get(d).f64Mul().f64Sub().f64Add().set(obs);
      bump(c, q, 1);
    });
    // total += obs + lambda n_u nx
    c.get(total).get(obs).get(lambda).get(t).get(s).i32Sub().f64ConvertI32S().f64Mul().get(nx).f64Mul().f64Add().f64Add().set(total);
    bump(c, u, 1);
  });
  c.get(total);
  return c;
}

/** The kernel module's bytes: imports env.memory (shared, up to maxPages), exports solve, gram, score and loss. */
export function alsKernelModuleBytes(maxPages = MAX_PAGES): Uint8Array<ArrayBuffer> {
  return new ModuleBuilder()
    .importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages, shared: true })
    .func('solve', solveFunction())
    .func('gram', gramFunction())
    .func('score', scoreFunction())
    .func('loss', lossFunction())
    .encode();
}

/** The exported kernels (arguments are byte offsets into the arena, see the header). */
export interface AlsWasmKernels {
  solve(
    ptr: number, idx: number, val: number, dst: number, src: number, g32: number, rank: number, lambda: number, alpha: number,
    cgSteps: number, zeroStart: number, from: number, to: number, scratch: number,
  ): void;
  gram(f: number, from: number, to: number, rank: number, out: number): void;
  loss(ptr: number, idx: number, val: number, X: number, Y: number, rank: number, lambda: number, alpha: number, from: number, to: number, xbuf: number): number;
  score(q0: number, q1: number, q2: number, q3: number, rank: number, c2: number, pFrom: number, pTo: number, out: number, qbuf: number): void;
}

export function instantiateAlsKernels(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): AlsWasmKernels {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports as unknown as AlsWasmKernels;
}

/** Bytes of each scratch slot of a solve task: x, r, p, ap of rankPad floats. */
export function solveScratchBytes(rank: number): number {
  return 4 * 4 * ((rank + 3) & ~3);
}

/** Floats of solve()'s g32: rankPad x rankPad. */
export function gram32Length(rank: number): number {
  const rp = (rank + 3) & ~3;
  return rp * rp;
}

/** G (rank x rank, double) as Float32, rankPad rows of rankPad floats, zero-padded, at `out`. */
export function writeGram32(G: Float64Array, rank: number, out: Float32Array): void {
  const rp = (rank + 3) & ~3;
  out.fill(0, 0, rp * rp);
  for (let a = 0; a < rank; a++) for (let b = 0; b < rank; b++) out[a * rp + b] = G[a * rank + b];
}

/**
 * Bump allocator over one shared WebAssembly.Memory. Blocks are 16-byte aligned; `mark` / `release`
 * free everything allocated after a mark (a training call releases its arrays when it ends).
 */
export class WasmArena {
  private top = 16; // address 0 is never handed out
  private readonly buffers = new WeakSet<object>();

  constructor(readonly memory: WebAssembly.Memory) {}

  private alloc(bytes: number): { buffer: SharedArrayBuffer; offset: number } {
    const offset = Math.ceil(this.top / 16) * 16; // not `& ~15`: addresses reach 2^31
    const end = offset + Math.max(bytes, 0);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    const buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.buffers.add(buffer);
    return { buffer, offset };
  }

  f32(n: number): Float32Array {
    const { buffer, offset } = this.alloc(n * 4);
    return new Float32Array(buffer, offset, n).fill(0);
  }

  i32(n: number): Int32Array {
    const { buffer, offset } = this.alloc(n * 4);
    return new Int32Array(buffer, offset, n).fill(0);
  }

  f64(n: number): Float64Array {
    const { buffer, offset } = this.alloc(n * 8);
    return new Float64Array(buffer, offset, n).fill(0);
  }

  /** Bytes still available below the memory's maximum. */
  available(): number {
    return MAX_PAGES * PAGE - this.top;
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** Whether the view lies in this arena (so its byteOffset is its memory address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }
}

export interface AlsWasm {
  bytes: Uint8Array<ArrayBuffer>;
  memory: WebAssembly.Memory;
  arena: WasmArena;
  kernels: AlsWasmKernels;
}

let wasm: AlsWasm | null | undefined;

/**
 * The process's kernels and arena, or null where WebAssembly SIMD or shared memories are missing
 * (WebAssembly.validate rejects the module, or the Memory cannot be made).
 */
export function alsWasm(): AlsWasm | null {
  if (wasm === undefined) {
    wasm = null;
    try {
      const bytes = alsKernelModuleBytes();
      if (typeof WebAssembly === 'object' && WebAssembly.validate(bytes)) {
        const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
        wasm = { bytes, memory, arena: new WasmArena(memory), kernels: instantiateAlsKernels(bytes, memory) };
      }
    } catch {
      wasm = null;
    }
  }
  return wasm;
}
