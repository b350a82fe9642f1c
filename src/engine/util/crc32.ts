/**
 * crc32 (IEEE): the checksum of journal records, bitmaps, kept images and backup undo logs, and
 * the block fingerprints of the reference index (which must agree with the journal's, so there
 * is one). Also crc32 combine, with which a record's crc is checked from its blocks' crcs.
 */
import zlib from 'node:zlib';

/** crc32 (IEEE), zlib's when the runtime has it (Node >= 20.15), else a table-driven one. */
export const crc32: (data: Uint8Array, initial?: number) => number = typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (d, i = 0) => zlib.crc32(d, i) : tableCrc32;

function tableCrc32(data: Uint8Array, initial = 0): number {
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
