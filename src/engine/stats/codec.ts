/**
 * Compact form of a PB-bit bitmap for the collection data set (and for entries sent to a controller).
 *
 * Two encodings; the encoder keeps the smaller:
 *   ENC_RAW  (0)  the packed bitmap (StatsEntry layout: track t = byte t>>3, bit t&7), trailing zero
 *                 bytes cut. Dense tables (more than ~1 track in 12 set) are stored this way.
 *   ENC_RUNS (1)  the runs of consecutive set tracks, as unsigned LEB128 varints: for each run,
 *                 v = gap*2 + (len > 1 ? 1 : 0), then len-2 when that bit is set; gap = first track of
 *                 the run minus the track after the previous run (0 before the first run). A random
 *                 1% of tracks costs ~1.3 bytes per set track (a tenth of raw); a sequential write of
 *                 N tracks costs a few bytes.
 *   ENC_GAPS (2)  one byte per set track: token t < 255 = skip t tracks, set the next one; token 255
 *                 = skip 255 tracks. Storage only (the wire carries RAW/RUNS; the store transcodes a
 *                 RUNS blob to GAPS when that is smaller: random tables of ~0.3-12% density, ~1.08
 *                 bytes per set track at 1% against ~1.55 for RUNS). Its decoder has no varints and one
 *                 well-predicted branch: the report ORs it into a window's bitmap at a few
 *                 instructions per set track.
 * Invariants: decoding gives exactly the bits that were encoded; `count` is checked by the store.
 * The report never decodes to a dense bitmap first: each entry is ORed straight into the bitmap of
 * the window segment it belongs to (BitArena.orEncoded in bitops.ts).
 *
 * long: the three encodings and their decoders live together so that their formats stay in step.
 */
import { E } from '../../errors.js';
import { get, name, section, set, sleb, uleb, vec } from '../util/wasm-asm.js';

export const ENC_RAW = 0;
export const ENC_RUNS = 1;
export const ENC_GAPS = 2;
export type Encoding = typeof ENC_RAW | typeof ENC_RUNS | typeof ENC_GAPS;

/** Length of `bitmap` without its trailing zero bytes. */
export function trimmedLength(bitmap: Uint8Array): number {
  let n = bitmap.length;
  while (n > 0 && bitmap[n - 1] === 0) n--;
  return n;
}

function putVarint(out: number[], v: number): void {
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Runs encoding, or null as soon as it would be longer than `limit` bytes. */
function encodeRuns(bitmap: Uint8Array, n: number, limit: number): Buffer | null {
  const out: number[] = [];
  let pos = 0; // the track after the previous run
  let runStart = -1;
  let runLen = 0;
  const flush = () => {
    const gap = runStart - pos;
    putVarint(out, gap * 2 + (runLen > 1 ? 1 : 0));
    if (runLen > 1) putVarint(out, runLen - 2);
    pos = runStart + runLen;
  };
  for (let i = 0; i < n; i++) {
    const b = bitmap[i]!;
    if (b === 0) {
      if (runLen > 0) {
        flush();
        runLen = 0;
        if (out.length > limit) return null;
      }
      continue;
    }
    if (b === 255 && runLen > 0 && runStart + runLen === i * 8) {
      runLen += 8;
      continue;
    }
    for (let bit = 0; bit < 8; bit++) {
      const t = i * 8 + bit;
      if (b & (1 << bit)) {
        if (runLen > 0 && runStart + runLen === t) runLen++;
        else {
          if (runLen > 0) flush();
          runStart = t;
          runLen = 1;
        }
      }
    }
    if (out.length > limit) return null;
  }
  if (runLen > 0) flush();
  return out.length > limit ? null : Buffer.from(out);
}

/** The compact form of a bitmap: whichever encoding is smaller. */
export function encodeBitmap(bitmap: Uint8Array): { enc: Encoding; data: Buffer } {
  const n = trimmedLength(bitmap);
  const runs = encodeRuns(bitmap, n, n - 1);
  if (runs) return { enc: ENC_RUNS, data: runs };
  return { enc: ENC_RAW, data: Buffer.from(bitmap.buffer, bitmap.byteOffset, n) };
}

/**
 * Decodes into `out` (which must be zero) for a volume of `tracks` tracks; returns the number of
 * bytes of `out` that may be non-zero. Throws ERR_RCOPY_INTEGRITY on a malformed or oversized blob.
 */
export function decodeBitmapInto(enc: number, data: Uint8Array, tracks: number, out: Uint8Array): number {
  const bytes = Math.ceil(tracks / 8);
  if (enc === ENC_RAW) {
    if (data.length > bytes || data.length > out.length) throw E.integrity(`a stored PB bitmap is longer (${data.length} bytes) than its volume (${tracks} tracks)`);
    out.set(data);
    return data.length;
  }
  if (enc === ENC_GAPS) return (orGapsJs(data, out, Math.min(tracks, out.length * 8)) + 7) >>> 3;
  if (enc !== ENC_RUNS) throw E.integrity(`unknown PB bitmap encoding ${enc}`);
  const limit = Math.min(tracks, out.length * 8);
  let p = 0;
  let pos = 0;
  const n = data.length;
  while (p < n) {
    // fast path: a one-byte varint (gap < 64) is the common case of a sparse table
    let v = data[p++]!;
    if (v >= 128) {
      vp.p = p - 1;
      if ((v = readVarint(data)) < 0) throw E.integrity('a stored PB bitmap is truncated');
      p = vp.p;
    }
    const start = pos + Math.floor(v / 2);
    if ((v & 1) === 0) {
      if (start >= limit) throw E.integrity(`a stored PB bitmap sets track ${start}, beyond its volume (${tracks} tracks)`);
      out[start >>> 3]! |= 1 << (start & 7);
      pos = start + 1;
      continue;
    }
    vp.p = p;
    const len = readVarint(data);
    if (len < 0) throw E.integrity('a stored PB bitmap is truncated');
    p = vp.p;
    const end = start + len + 2;
    if (end > limit) throw E.integrity(`a stored PB bitmap sets track ${end - 1}, beyond its volume (${tracks} tracks)`);
    setRange(out, start, end);
    pos = end;
  }
  return (pos + 7) >>> 3;
}

/** The cursor of readVarint (decoding is synchronous: one blob at a time). */
const vp = { p: 0 };

/** The LEB128 varint at vp.p (as putVarint writes it), vp.p moved past it; -1 if the blob ends inside it. */
function readVarint(data: Uint8Array): number {
  const n = data.length;
  let p = vp.p,
    v = 0,
    mul = 1,
    b = 0;
  do {
    if (p >= n) return -1;
    b = data[p++]!;
    v += (b & 127) * mul;
    mul *= 128;
  } while (b >= 128);
  vp.p = p;
  return v;
}

/** ORs an ENC_GAPS blob into `out` (tracks below `limit`); returns the track after the last one set. */
export function orGapsJs(data: Uint8Array, out: Uint8Array, limit: number): number {
  let pos = 0;
  for (let p = 0, n = data.length; p < n; p++) {
    const b = data[p]!;
    pos += b;
    if (pos >= limit) throw E.integrity(`a stored PB bitmap sets track ${pos}, beyond its volume (${limit} tracks)`);
    if (b === 255) continue;
    out[pos >>> 3]! |= 1 << (pos & 7);
    pos++;
  }
  return pos;
}

/**
 * An ENC_RUNS blob as ENC_GAPS, or null when that would not be smaller (or the blob is malformed:
 * it is then kept as it is and reported when read).
 */
export function runsToGaps(data: Uint8Array): Buffer | null {
  const limit = data.length - 1;
  if (limit <= 0) return null;
  const out = Buffer.allocUnsafe(limit);
  let o = 0;
  const n = data.length;
  vp.p = 0;
  while (vp.p < n) {
    const v = readVarint(data);
    if (v < 0) return null;
    let gap = Math.floor(v / 2);
    let len = 1;
    if (v & 1) {
      const l = readVarint(data);
      if (l < 0) return null;
      len = l + 2;
    }
    if (gap < 255 && len === 1) {
      // the common case of a sparse table
      if (o >= limit) return null;
      out[o++] = gap;
      continue;
    }
    if (o + Math.floor(gap / 255) + len > limit) return null;
    while (gap >= 255) {
      out[o++] = 255;
      gap -= 255;
    }
    out[o++] = gap;
    out.fill(0, o, o + len - 1);
    o += len - 1;
  }
  return Buffer.from(out.subarray(0, o));
}

/** The stored form of an entry's bitmap: RUNS becomes GAPS when that is smaller. */
export function storageForm(enc: Encoding, data: Buffer): { enc: Encoding; data: Buffer } {
  if (enc !== ENC_RUNS) return { enc, data };
  const g = runsToGaps(data);
  return g ? { enc: ENC_GAPS, data: g } : { enc, data };
}

/** Sets bits [from, to) of a packed bitmap. */
export function setRange(out: Uint8Array, from: number, to: number): void {
  let t = from;
  while (t < to && (t & 7) !== 0) {
    out[t >>> 3]! |= 1 << (t & 7);
    t++;
  }
  if (to - t >= 8) {
    out.fill(255, t >>> 3, to >>> 3);
    t = to - (to & 7);
  }
  for (; t < to; t++) out[t >>> 3]! |= 1 << (t & 7);
}

/** Bits set in a packed bitmap. */
export function popcountBytes(b: Uint8Array, n = b.length): number {
  let c = 0;
  for (let i = 0; i < n; i++) {
    let v = b[i]!;
    v = v - ((v >> 1) & 0x55);
    v = (v & 0x33) + ((v >> 2) & 0x33);
    c += (v + (v >> 4)) & 0x0f;
  }
  return c;
}

// ---- a WebAssembly decoder for ENC_RUNS: the decoding of decodeBitmapInto, over linear memory (the
// JS one stays as the fallback without WebAssembly, and as the reference the tests compare with) ----
const I32 = 0x7f;
const c = (n: number) => [0x41, ...(n === -1 ? [0x7f] : uleb(n).length === 1 && n < 64 ? [n] : sleb(n))];
const ADD = 0x6a,
  AND = 0x71,
  OR = 0x72,
  SHL = 0x74,
  SHRU = 0x76,
  EQZ = 0x45,
  GEU = 0x4f,
  LTU = 0x49,
  GTU = 0x4b;
const LOAD8 = [0x2d, 0, 0],
  STORE8 = [0x3a, 0, 0];
const IF = [0x04, 0x40],
  END = 0x0b,
  RET = 0x0f,
  LOOP = [0x03, 0x40],
  BLOCK = [0x02, 0x40];
// params: 0 p (src), 1 end (n on entry), 2 dst, 3 limit; locals: 4 b, 5 v, 6 sh, 7 pos, 8 start, 9 len, 10 e
const failIf = (cond: number[]) => [...cond, ...IF, ...c(-1), RET, END];
const nextByte = [...failIf([...get(0), ...get(1), GEU]), ...get(0), ...LOAD8, ...set(4), ...get(0), ...c(1), ADD, ...set(0)];
const setBit = (t: number) => [...get(2), ...get(t), ...c(3), SHRU, ADD, ...get(2), ...get(t), ...c(3), SHRU, ADD, ...LOAD8, ...c(1), ...get(t), ...c(7), AND, SHL, OR, ...STORE8];
export const decodeBody = [
  ...get(0),
  ...get(1),
  ADD,
  ...set(1),
  ...BLOCK,
  ...LOOP,
  ...get(0),
  ...get(1),
  GEU,
  0x0d,
  1,
  ...nextByte,
  ...get(4),
  ...c(127),
  AND,
  ...set(5),
  ...get(4),
  ...c(128),
  GEU,
  ...IF,
  ...c(7),
  ...set(6),
  ...LOOP,
  ...nextByte,
  ...get(5),
  ...get(4),
  ...c(127),
  AND,
  ...get(6),
  SHL,
  OR,
  ...set(5),
  ...get(6),
  ...c(7),
  ADD,
  ...set(6),
  ...get(4),
  ...c(128),
  GEU,
  0x0d,
  0,
  END,
  END,
  ...get(7),
  ...get(5),
  ...c(1),
  SHRU,
  ADD,
  ...set(8),
  ...get(5),
  ...c(1),
  AND,
  EQZ,
  ...IF,
  ...failIf([...get(8), ...get(3), GEU]),
  ...setBit(8),
  ...get(8),
  ...c(1),
  ADD,
  ...set(7),
  0x0c,
  1,
  END,
  ...c(0),
  ...set(9),
  ...c(0),
  ...set(6),
  ...LOOP,
  ...nextByte,
  ...get(9),
  ...get(4),
  ...c(127),
  AND,
  ...get(6),
  SHL,
  OR,
  ...set(9),
  ...get(6),
  ...c(7),
  ADD,
  ...set(6),
  ...get(4),
  ...c(128),
  GEU,
  0x0d,
  0,
  END,
  ...get(8),
  ...get(9),
  ADD,
  ...c(2),
  ADD,
  ...set(10),
  ...failIf([...get(10), ...get(3), GTU]),
  ...failIf([...get(10), ...get(8), LTU]),
  ...BLOCK,
  ...LOOP,
  ...get(8),
  ...get(10),
  GEU,
  0x0d,
  1,
  ...setBit(8),
  ...get(8),
  ...c(1),
  ADD,
  ...set(8),
  0x0c,
  0,
  END,
  END,
  ...get(10),
  ...set(7),
  0x0c,
  0,
  END,
  END,
  ...get(7),
  END,
];

function assembleDecoder(): Uint8Array {
  const fn = [1, 7, I32, ...decodeBody];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), 1, I32]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        [...name('decode'), 0x00, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

/**
 * Decodes entries one after another into one reused dense bitmap (in WebAssembly memory when
 * available). The returned view is valid until the next decode.
 */
export class BitmapDecoder {
  private mem: WebAssembly.Memory | null = null;
  private fn: ((src: number, n: number, dst: number, limit: number) => number) | null = null;
  private js = new Uint8Array(0);
  private dirty = 0;
  private srcStart = Infinity;
  private srcEnd = 0;

  constructor(opts: { wasm?: boolean } = {}) {
    if (opts.wasm === false || process.env.RCOPY_NO_SIMD) return;
    try {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(assembleDecoder() as unknown as BufferSource), {});
      const ex = inst.exports as unknown as { mem: WebAssembly.Memory; decode: (s: number, n: number, d: number, l: number) => number };
      this.mem = ex.mem;
      this.fn = ex.decode;
    } catch {
      this.mem = null;
    }
  }

  get wasm(): boolean {
    return this.fn !== null;
  }

  decode(enc: number, data: Uint8Array, tracks: number): Uint8Array {
    const bytes = Math.ceil(tracks / 8);
    if (!this.fn || !this.mem || enc !== ENC_RUNS || tracks >= 2 ** 31) {
      if (this.js.length < bytes) {
        this.js = new Uint8Array(bytes);
        this.dirty = 0;
      }
      this.js.fill(0, 0, this.dirty);
      this.dirty = decodeBitmapInto(enc, data, tracks, this.js);
      return this.js.subarray(0, this.dirty);
    }
    const dstBytes = Math.ceil(bytes / 64) * 64;
    const need = dstBytes + data.length;
    if (this.mem.buffer.byteLength < need) {
      this.mem.grow(Math.ceil((need - this.mem.buffer.byteLength) / 65536));
    }
    const u8 = new Uint8Array(this.mem.buffer);
    u8.fill(0, 0, this.dirty);
    // the previous source bytes lie where a larger bitmap now goes
    if (this.srcStart < dstBytes) u8.fill(0, this.srcStart, Math.min(this.srcEnd, dstBytes));
    this.srcStart = dstBytes;
    this.srcEnd = dstBytes + data.length;
    u8.set(data, dstBytes);
    const pos = this.fn(dstBytes, data.length, 0, tracks);
    if (pos < 0) throw E.integrity(`a stored PB bitmap is truncated or sets tracks beyond its volume (${tracks} tracks)`);
    this.dirty = Math.max((pos + 7) >>> 3, 0);
    return u8.subarray(0, this.dirty);
  }
}
