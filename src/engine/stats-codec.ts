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
 * Invariants: decoding gives exactly the bits that were encoded; `count` is checked by the store.
 * Measured (bench/stats-report.ts): at 1% density the report ORs dense bitmaps with SIMD at memory
 * speed, which is as fast as scattering sparse tracks, so entries are decoded to dense for the report
 * and the compact form is a storage format only.
 */
import { E } from '../errors.js';

export const ENC_RAW = 0;
export const ENC_RUNS = 1;
export type Encoding = typeof ENC_RAW | typeof ENC_RUNS;

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
  if (enc !== ENC_RUNS) throw E.integrity(`unknown PB bitmap encoding ${enc}`);
  let p = 0;
  let pos = 0;
  let used = 0;
  const n = data.length;
  const varint = (): number => {
    let v = 0, mul = 1, b = 0;
    do {
      if (p >= n) throw E.integrity('a stored PB bitmap is truncated');
      b = data[p++]!;
      v += (b & 127) * mul;
      mul *= 128;
    } while (b & 128);
    return v;
  };
  while (p < n) {
    const v = varint();
    const start = pos + Math.floor(v / 2);
    const len = v % 2 === 1 ? varint() + 2 : 1;
    const end = start + len;
    if (end > tracks || end > out.length * 8) throw E.integrity(`a stored PB bitmap sets track ${end - 1}, beyond its volume (${tracks} tracks)`);
    setRange(out, start, end);
    pos = end;
    used = (end + 7) >> 3;
  }
  return used;
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
