/**
 * Bit kernel for PB-bit reports: an arena of packed bitmaps with word-wise OR and popcount.
 *
 * Layout: every bitmap lives in one linear memory (a WebAssembly memory when the runtime has
 * 128-bit SIMD, else a growable ArrayBuffer), at a 64-byte-aligned address, with a length rounded
 * up to 64 bytes. Bits are packed LSB-first per byte, so byte b bit i is track 8*b+i (the StatsEntry
 * format). Invariant: padding bytes beyond a bitmap's logical length are always zero, so OR and
 * popcount can run over whole 64-byte blocks.
 *
 * Why WebAssembly: a week of one-minute entries for 16 volumes of 100 GiB is about 33 GB of dense
 * bitmap, so a report's time is the time of OR and popcount over its words: v128.or and a 64-byte
 * block loop run at memory speed, where a JS Int32Array loop pays for every 32-bit word.
 * The module is assembled below from a few hand-written functions (no toolchain needed).
 */
import { E, InternalError } from '../../errors.js';
import { ENC_GAPS, ENC_RAW, ENC_RUNS, decodeBitmapInto, decodeBody as runsBody, orGapsJs } from './codec.js';
import { get, name, section, set, sleb, uleb, vec } from '../util/wasm-asm.js';

const BLOCK = 64;
export const roundBlock = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

// ---- a tiny WebAssembly assembler, just enough for the three loops below ----
const I32 = 0x7f,
  I64 = 0x7e;
const i32c = (n: number) => [0x41, ...sleb(n)];
const add = [0x6a];
const geU = [0x4f];
const v128load = (off: number) => [0xfd, 0x00, 4, ...uleb(off)];
const v128store = (off: number) => [0xfd, 0x0b, 4, ...uleb(off)];
const v128or = [0xfd, ...uleb(80)];
const i64load = (off: number) => [0x29, 3, ...uleb(off)];
const bump = (local: number, by: number) => [...get(local), ...i32c(by), ...add, ...set(local)];
/** block; loop; if (local[p] >= local[end]) break; body; br loop; end; end */
const loopUntil = (p: number, end: number, body: number[]) => [0x02, 0x40, 0x03, 0x40, ...get(p), ...get(end), ...geU, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];

function orInto(): number[] {
  // (dst, src, n): dst |= src over n bytes; n multiple of 64
  const body: number[] = [];
  for (const off of [0, 16, 32, 48]) body.push(...get(0), ...get(0), ...v128load(off), ...get(1), ...v128load(off), ...v128or, ...v128store(off));
  body.push(...bump(0, 64), ...bump(1, 64));
  return [0, ...get(2), ...get(0), ...add, ...set(2), ...loopUntil(0, 2, body), 0x0b];
}
function or3(): number[] {
  // (dst, a, b, n): dst = a | b
  const body: number[] = [];
  for (const off of [0, 16, 32, 48]) body.push(...get(0), ...get(1), ...v128load(off), ...get(2), ...v128load(off), ...v128or, ...v128store(off));
  body.push(...bump(0, 64), ...bump(1, 64), ...bump(2, 64));
  return [0, ...get(3), ...get(0), ...add, ...set(3), ...loopUntil(0, 3, body), 0x0b];
}
function popcnt(): number[] {
  // (p, n) -> i32: bits set in n bytes; local 2 = i64 accumulator
  const body: number[] = [];
  for (const off of [0, 8, 16, 24, 32, 40, 48, 56]) body.push(...get(2), ...get(0), ...i64load(off), 0x7b, 0x7c, ...set(2));
  body.push(...bump(0, 64));
  return [1, 1, I64, ...get(1), ...get(0), ...add, ...set(1), ...loopUntil(0, 1, body), ...get(2), 0xa7, 0x0b];
}

function orGaps(): number[] {
  // (src, n, dst, limit) -> i32: ORs an ENC_GAPS blob into the bitmap at dst; returns the track
  // after the last one set, or -1 when the position reaches `limit` (a corrupt blob).
  // Branch-free on skip tokens (a skip ORs a zero mask): random data mispredicts no branch.
  // locals: 4 b, 5 pos, 6 word address, 7 set (b != 255)
  const body = [
    ...get(0),
    0x2d,
    0,
    0,
    ...set(4), // b = load8_u(src)
    ...bump(0, 1),
    ...get(5),
    ...get(4),
    ...add,
    ...set(5), // pos += b
    ...get(5),
    ...get(3),
    ...geU,
    0x04,
    0x40,
    ...i32c(-1),
    0x0f,
    0x0b, // if (pos >= limit) return -1
    ...get(4),
    ...i32c(255),
    0x47,
    ...set(7), // set = b != 255
    ...get(2),
    ...get(5),
    ...i32c(5),
    0x76,
    ...i32c(2),
    0x74,
    ...add,
    ...set(6), // addr = dst + (pos >>> 5 << 2)
    ...get(6),
    ...get(6),
    0x28,
    2,
    0,
    ...get(7),
    ...get(5),
    0x74,
    0x72,
    0x36,
    2,
    0, // *addr |= set << pos
    ...get(5),
    ...get(7),
    ...add,
    ...set(5), // pos += set
  ];
  return [1, 4, I32, ...get(1), ...get(0), ...add, ...set(1), ...loopUntil(0, 1, body), ...get(5), 0x0b];
}

function assemble(): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32]]), 1, I32],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 1, I32],
  ]);
  const funcs = vec([[0], [1], [2], [3], [3]]);
  const memory = vec([[0x00, 1]]);
  const exports = vec([
    [...name('mem'), 0x02, 0],
    [...name('orInto'), 0x00, 0],
    [...name('or3'), 0x00, 1],
    [...name('popcnt'), 0x00, 2],
    [...name('orGaps'), 0x00, 3],
    [...name('orRuns'), 0x00, 4],
  ]);
  const code = vec([orInto(), or3(), popcnt(), orGaps(), [1, 7, I32, ...runsBody]].map((f) => [...uleb(f.length), ...f]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(3, funcs), ...section(5, memory), ...section(7, exports), ...section(10, code)]);
}

interface Kernels {
  orInto(d: number, s: number, n: number): void;
  or3(d: number, a: number, b: number, n: number): void;
  popcnt(p: number, n: number): number;
  orGaps(src: number, n: number, dst: number, limit: number): number;
  orRuns(src: number, n: number, dst: number, limit: number): number;
}

let compiled: WebAssembly.Module | null | undefined;
function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = assemble();
    compiled = process.env.RCOPY_NO_SIMD ? null : WebAssembly.validate(bytes as unknown as BufferSource) ? new WebAssembly.Module(bytes as unknown as BufferSource) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * An arena of bitmaps. Addresses are byte offsets; sizes are rounded to 64 bytes.
 * One arena per report; dropping it frees everything.
 */
export class BitArena {
  readonly simd: boolean;
  private memory: WebAssembly.Memory | null = null;
  private jsBuf: ArrayBuffer | null = null;
  private fns: Kernels | null = null;
  /** Where encoded blobs are copied for the kernels to read them. */
  private srcPtr = 0;
  private srcCap = 0;
  private u8v = new Uint8Array(0);
  private i32v = new Int32Array(0);
  private top = BLOCK; // address 0 is never handed out
  private readonly freeLists = new Map<number, number[]>();

  constructor(opts: { simd?: boolean } = {}) {
    const mod = opts.simd === false ? null : wasmModule();
    if (mod) {
      const inst = new WebAssembly.Instance(mod, {});
      const ex = inst.exports as unknown as Kernels & { mem: WebAssembly.Memory };
      this.memory = ex.mem;
      this.fns = { orInto: ex.orInto, or3: ex.or3, popcnt: ex.popcnt, orGaps: ex.orGaps, orRuns: ex.orRuns };
      this.simd = true;
    } else {
      this.jsBuf = new ArrayBuffer(1 << 16);
      this.simd = false;
    }
    this.refresh();
  }

  private refresh(): void {
    const buf = this.memory ? this.memory.buffer : this.jsBuf!;
    this.u8v = new Uint8Array(buf);
    this.i32v = new Int32Array(buf);
  }

  get u8(): Uint8Array {
    if (this.u8v.byteLength === 0) this.refresh();
    return this.u8v;
  }
  private get i32(): Int32Array {
    if (this.i32v.byteLength === 0) this.refresh();
    return this.i32v;
  }

  /** A zeroed bitmap of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const size = roundBlock(Math.max(bytes, 1));
    const list = this.freeLists.get(size);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.u8.fill(0, reused, reused + size);
      return reused;
    }
    const ptr = this.top;
    const need = ptr + size;
    const have = this.u8.byteLength;
    if (need > have) {
      let want = Math.max(need, have * 2);
      if (this.memory) {
        want = Math.min(want, 65536 * 65536);
        if (need > want) throw new InternalError('bitmap arena over 4 GiB');
        this.memory.grow(Math.ceil((want - have) / 65536));
      } else {
        const nb = new ArrayBuffer(want);
        new Uint8Array(nb).set(this.u8);
        this.jsBuf = nb;
      }
      this.refresh();
    }
    this.top = need;
    return ptr;
  }

  free(ptr: number, bytes: number): void {
    const size = roundBlock(Math.max(bytes, 1));
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  zero(ptr: number, bytes: number): void {
    this.u8.fill(0, ptr, ptr + roundBlock(bytes));
  }

  /** Copies `src` to ptr and zeroes the rest of the `bytes` block (src longer than bytes is cut). */
  load(ptr: number, src: Uint8Array, bytes: number): void {
    const n = Math.min(src.length, bytes);
    const u8 = this.u8;
    u8.set(n === src.length ? src : src.subarray(0, n), ptr);
    u8.fill(0, ptr + n, ptr + roundBlock(bytes));
  }

  /**
   * ORs a stored bitmap (codec.ts: enc + data) of a volume of `tracks` tracks into the arena
   * bitmap at dst of `bytes` bytes, without decoding it to a dense bitmap first: a sparse entry
   * touches only the words of its tracks. Throws ERR_RCOPY_INTEGRITY on a malformed or oversized blob.
   */
  orEncoded(dst: number, bytes: number, enc: number, data: Uint8Array, tracks: number): void {
    const n = data.length;
    if (n === 0) return;
    const limit = Math.min(tracks, bytes * 8);
    if (enc === ENC_RAW) {
      if (n > bytes || n > Math.ceil(tracks / 8)) throw E.integrity(`a stored PB bitmap is longer (${n} bytes) than its volume (${tracks} tracks)`);
      this.ensureSrc(n);
      this.load(this.srcPtr, data, n);
      this.orInto(dst, this.srcPtr, n);
      return;
    }
    if (enc !== ENC_RUNS && enc !== ENC_GAPS) throw E.integrity(`unknown PB bitmap encoding ${enc}`);
    if (this.fns && limit < 2 ** 31) {
      this.ensureSrc(n);
      this.u8.set(data, this.srcPtr);
      const r = enc === ENC_GAPS ? this.fns.orGaps(this.srcPtr, n, dst, limit) : this.fns.orRuns(this.srcPtr, n, dst, limit);
      if (r < 0) throw E.integrity(`a stored PB bitmap is truncated or sets tracks beyond its volume (${tracks} tracks)`);
      return;
    }
    const out = this.u8.subarray(dst, dst + bytes);
    if (enc === ENC_GAPS) orGapsJs(data, out, limit);
    else decodeBitmapInto(enc, data, limit, out); // RUNS decoding only ever sets bits: an OR
  }

  private ensureSrc(n: number): void {
    if (n <= this.srcCap) return;
    if (this.srcCap > 0) this.free(this.srcPtr, this.srcCap);
    this.srcCap = roundBlock(Math.max(n, 65536));
    this.srcPtr = this.alloc(this.srcCap);
  }

  /** dst |= src over `bytes`, both arena bitmaps. */
  orInto(dst: number, src: number, bytes: number): void {
    const n = roundBlock(bytes);
    if (this.fns) return this.fns.orInto(dst, src, n);
    const a = this.i32,
      d = dst >> 2,
      s = src >> 2,
      w = n >> 2;
    for (let i = 0; i < w; i++) a[d + i]! |= a[s + i]!;
  }

  /** dst = a | b. */
  or3(dst: number, a: number, b: number, bytes: number): void {
    const n = roundBlock(bytes);
    if (this.fns) return this.fns.or3(dst, a, b, n);
    const m = this.i32,
      d = dst >> 2,
      x = a >> 2,
      y = b >> 2,
      w = n >> 2;
    for (let i = 0; i < w; i++) m[d + i] = m[x + i]! | m[y + i]!;
  }

  copy(dst: number, src: number, bytes: number): void {
    const n = roundBlock(bytes);
    this.u8.copyWithin(dst, src, src + n);
  }

  /** Bits set in the bitmap at ptr (whole bitmap). */
  popcount(ptr: number, bytes: number): number {
    return this.popcountBytes(ptr, roundBlock(bytes));
  }

  private popcountBytes(ptr: number, n: number): number {
    if (n <= 0) return 0;
    if (this.fns && (ptr & 63) === 0 && (n & 63) === 0) return this.fns.popcnt(ptr, n) >>> 0;
    const a = this.i32;
    let c = 0;
    for (let i = ptr >> 2, e = (ptr + n) >> 2; i < e; i++) c += popcount32(a[i]!);
    return c;
  }

  /** Bits set among tracks [from, to) of the bitmap at ptr. */
  popcountRange(ptr: number, from: number, to: number): number {
    if (to <= from) return 0;
    const a = this.i32;
    const wFrom = from >>> 5,
      wTo = (to - 1) >>> 5;
    const word = (w: number) => a[(ptr >> 2) + w]!;
    if (wFrom === wTo) {
      const mask = ((0xffffffff >>> (31 - ((to - 1) & 31))) & (0xffffffff << (from & 31))) | 0;
      return popcount32(word(wFrom) & mask);
    }
    let c = popcount32(word(wFrom) & (0xffffffff << (from & 31)));
    c += popcount32(word(wTo) & (0xffffffff >>> (31 - ((to - 1) & 31))));
    // whole words wFrom+1 .. wTo-1: 64-byte blocks through the kernel, edges word by word
    let w = wFrom + 1;
    const blockStart = Math.min(wTo, (w + 15) & ~15);
    for (; w < blockStart; w++) c += popcount32(word(w));
    const blockEnd = wTo & ~15;
    if (blockEnd > w) {
      c += this.popcountBytes(ptr + w * 4, (blockEnd - w) * 4);
      w = blockEnd;
    }
    for (; w < wTo; w++) c += popcount32(word(w));
    return c;
  }
}
