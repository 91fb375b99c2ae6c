/**
 * A small WebAssembly binary emitter: just enough of the binary format (MVP + fixed-width SIMD, spec
 * 2.0 §5) to build the ALS kernels (./als-kernels.ts) from TypeScript, with no toolchain and no
 * prebuilt .wasm file.
 *
 * - LEB128: unsigned (`uleb`) and signed (`sleb`) variable-length integers, for sizes, indices,
 *   constants and the SIMD sub-opcodes (which are u32 LEB128 after the 0xFD prefix, so opcodes >= 0x80
 *   take two bytes).
 * - `Code`: a function body, written opcode by opcode, with structured control (block / loop / if)
 *   whose branch targets are label objects (their relative depth is computed here, not by hand).
 * - `ModuleBuilder`: type, import (one memory), function, export and code sections.
 *
 * Only the opcodes the kernels need are here; each is a method named after its text-format mnemonic.
 */

/** Value types (their binary codes). */
export const ValType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`uleb: not a non-negative integer: ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^53, 2^53]: stops when the remaining bits are the sign of bit 6. */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value)) throw new RangeError(`sleb: not an integer: ${value}`);
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = ((v % 128) + 128) % 128;
    v = Math.floor(v / 128);
    const signBit = byte & 0x40;
    if ((v === 0 && !signBit) || (v === -1 && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function utf8(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A branch target: its position in the Code's control stack. */
export interface Label {
  readonly depth: number;
}

/** Natural alignment (log2 bytes) of each memory access size, the default memarg. */
const ALIGN = { 4: 2, 8: 3, 16: 4 } as const;

/** One function body: locals, then instructions. Locals are numbered after the parameters. */
export class Code {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];
  private nextLocal: number;
  private depth = 0;

  constructor(readonly params: ValType[], readonly results: ValType[]) {
    this.nextLocal = params.length;
  }

  /** Declares a local, returning its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.nextLocal++;
  }

  private op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  private simd(sub: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(sub), ...imm);
  }

  private memarg(size: 4 | 8 | 16, offset: number): number[] {
    return [...uleb(ALIGN[size]), ...uleb(offset)];
  }

  // Control. The body callbacks get the construct's label; `br(label)` jumps to a block's end or a loop's start.
  private structured(opcode: number, result: ValType | null, body: (l: Label) => void): this {
    this.op(opcode, result === null ? 0x40 : result);
    const label = { depth: ++this.depth };
    body(label);
    this.depth--;
    return this.op(0x0b);
  }
  block(body: (l: Label) => void): this {
    return this.structured(0x02, null, body);
  }
  loop(body: (l: Label) => void): this {
    return this.structured(0x03, null, body);
  }
  /** if (condition on the stack) then ... [else ...] end */
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    this.depth--;
    return this.op(0x0b);
  }
  br(l: Label): this {
    return this.op(0x0c, ...uleb(this.depth - l.depth));
  }
  brIf(l: Label): this {
    return this.op(0x0d, ...uleb(this.depth - l.depth));
  }
  drop(): this {
    return this.op(0x1a);
  }

  // Locals and constants.
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32Const(v: number): this {
    return this.op(0x41, ...sleb(v | 0));
  }
  f32Const(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...b);
  }
  f64Const(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }

  // Memory (address on the stack; static byte offset).
  i32Load(offset = 0): this {
    return this.op(0x28, ...this.memarg(4, offset));
  }
  f32Load(offset = 0): this {
    return this.op(0x2a, ...this.memarg(4, offset));
  }
  f64Load(offset = 0): this {
    return this.op(0x2b, ...this.memarg(8, offset));
  }
  f32Store(offset = 0): this {
    return this.op(0x38, ...this.memarg(4, offset));
  }
  f64Store(offset = 0): this {
    return this.op(0x39, ...this.memarg(8, offset));
  }

  // i32.
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32LeS(): this {
    return this.op(0x4c);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Shl(): this {
    return this.op(0x74);
  }

  // f32 / f64 scalars.
  f64Ne(): this {
    return this.op(0x62);
  }
  f64Gt(): this {
    return this.op(0x64);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f32DemoteF64(): this {
    return this.op(0xb6);
  }
  f64ConvertI32S(): this {
    return this.op(0xb7);
  }
  f64PromoteF32(): this {
    return this.op(0xbb);
  }

  // SIMD (0xFD prefix).
  v128Load(offset = 0): this {
    return this.simd(0x00, ...this.memarg(16, offset));
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b, ...this.memarg(16, offset));
  }
  /** Two f32 at the address into lanes 0-1 (others zero): the operand of f64x2.promote_low_f32x4. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d, ...this.memarg(8, offset));
  }
  /** One f64 at the address into both lanes. */
  v128Load64Splat(offset = 0): this {
    return this.simd(0x0a, ...this.memarg(8, offset));
  }
  v128Const0(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simd(0x21, lane);
  }
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  /** Byte shuffle of two vectors: result byte k = (a ++ b)[lanes[k]]. */
  i8x16Shuffle(lanes: number[]): this {
    if (lanes.length !== 16) throw new RangeError('i8x16.shuffle takes 16 lane indices');
    return this.simd(0x0d, ...lanes);
  }

  /** The body as encoded in the code section: size, local declarations, instructions, end. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error('unbalanced control structure');
    const groups: number[][] = [];
    for (let k = 0; k < this.localTypes.length; ) {
      let n = 1;
      while (k + n < this.localTypes.length && this.localTypes[k + n] === this.localTypes[k]) n++;
      groups.push([...uleb(n), this.localTypes[k]]);
      k += n;
    }
    const body = [...vec(groups), ...this.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

interface MemoryImport {
  module: string;
  name: string;
  minPages: number;
  maxPages: number;
  shared: boolean;
}

/** A module: optionally one imported memory, then functions, each exported under its name. */
export class ModuleBuilder {
  private memory: MemoryImport | null = null;
  private readonly funcs: { name: string; code: Code }[] = [];

  importMemory(m: MemoryImport): this {
    this.memory = m;
    return this;
  }

  /** Adds an exported function; its index is its position (no function imports). */
  func(name: string, code: Code): this {
    this.funcs.push({ name, code });
    return this;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
    const types = this.funcs.map(({ code }) => [0x60, ...vec(code.params.map((t) => [t])), ...vec(code.results.map((t) => [t]))]);
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(...section(1, vec(types)));
    if (this.memory) {
      const m = this.memory;
      const limits = m.shared ? [0x03, ...uleb(m.minPages), ...uleb(m.maxPages)] : [0x01, ...uleb(m.minPages), ...uleb(m.maxPages)];
      out.push(...section(2, vec([[...utf8(m.module), ...utf8(m.name), 0x02, ...limits]])));
    }
    out.push(...section(3, vec(this.funcs.map((_, i) => uleb(i)))));
    out.push(...section(7, vec(this.funcs.map(({ name }, i) => [...utf8(name), 0x00, ...uleb(i)]))));
    out.push(...section(10, vec(this.funcs.map(({ code }) => code.encode()))));
    return Uint8Array.from(out);
  }
}
