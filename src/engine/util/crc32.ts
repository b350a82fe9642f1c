/**
 * crc32 (IEEE): the checksum of journal records, bitmaps, kept images and backup undo logs, and
 * the block fingerprints of the reference index (which must agree with the journal's, so there
 * is one). Also crc32 combine, with which a record's crc is checked from its blocks' crcs.
 *
 * The crc itself is @node-rs/crc32's (native, SIMD with PCLMULQDQ) when its module loads here and
 * gives the check values below; else zlib's (Node >= 20.15); else a table-driven one. All three
 * are the same function (tests compare them on random data); the native one was 2.2-2.4x zlib's
 * on 64 KiB-4 MiB buffers and 1.8x on 4 KiB on this project's machine (bench/HISTORY.md, session 13).
 * RCOPY_CRC32=zlib skips the native one (for A/B measurements).
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

/** Which implementation crc32() is. */
export type Crc32Backend = 'native' | 'zlib' | 'table';

/** zlib's crc32, when the runtime has it (Node >= 20.15). */
const zlibCrc32: Crc32 | null = typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (d, i = 0) => zlib.crc32(d, i) : null;

/** @node-rs/crc32's, if it loads and agrees with the standard check values; else null. */
function loadNative(): Crc32 | null {
  if (process.env.RCOPY_CRC32 === 'zlib') return null;
  try {
    const m = createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (d: Uint8Array, i?: number) => number };
    const f: Crc32 = (d, i = 0) => m.crc32(d, i);
    const check = Buffer.from('123456789');
    // 0xcbf43926: the IEEE check value; with an initial crc it must continue it as zlib's does
    if (f(check) !== 0xcbf43926 || f(check.subarray(4), f(check.subarray(0, 4))) !== 0xcbf43926) return null;
    return f;
  } catch {
    return null;
  }
}

const native = loadNative();

/** crc32 (IEEE) of `data`, continuing `initial` (the crc of what came before). */
export const crc32: Crc32 = native ?? zlibCrc32 ?? tableCrc32;

export const crc32Backend: Crc32Backend = native ? 'native' : zlibCrc32 ? 'zlib' : 'table';

/** The table-driven crc32 (the last fallback; also what tests check the others against). */
export function tableCrc32(data: Uint8Array, initial = 0): number {
  let c = ~initial;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * crc32 of A followed by B from crc32(A), crc32(B) and B's length (zlib's crc32_combine): the
 * crc register after A, shifted through B's length of zeros, xor B's crc. The shift is a GF(2)
 * multiplication by x^(8 len) mod P, so with len fixed it is one constant (combineOp).
 */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ 0xedb88320 : b >>> 1;
  }
  return p >>> 0;
}

/** The constant that combines a crc with the crc of `len` more bytes (crc32Combine). */
export function combineOp(len: number): number {
  // x^(2^k) mod P for k = 0.. (x is 0x40000000 in the reflected form), applied for each bit of 8*len
  let sq = 0x40000000;
  let p = 0x80000000; // x^0
  for (let n = len * 8; n > 0; n = Math.floor(n / 2)) {
    if (n % 2) p = multModP(sq, p);
    sq = multModP(sq, sq);
  }
  return p;
}

export function crc32Combine(crcA: number, crcB: number, op: number): number {
  return (multModP(op, crcA) ^ crcB) >>> 0;
}

const OPS_KEPT = 4096;
const ops = new Map<number, number>();

/** combineOp(len), remembered for the lengths seen most recently (journal records repeat theirs). */
export function combineOpFor(len: number): number {
  let op = ops.get(len);
  if (op === undefined) {
    if (ops.size >= OPS_KEPT) ops.clear();
    ops.set(len, (op = combineOp(len)));
  }
  return op;
}

/** crc32 of B alone from crc32(A ‖ B) and crc32(A) (B is `len` bytes): the combine undone. */
export function crc32Tail(crcAB: number, crcA: number, len: number): number {
  return crc32Combine(crcA, crcAB, combineOpFor(len));
}
