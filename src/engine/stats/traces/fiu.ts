/**
 * FIU traces (SNIA IOTTA "FIU SRCMap" and "FIU IODedup", Koller & Rangaswami, FAST '10): one
 * request a line, fields separated by spaces: `ts pid process lba size op major minor md5`: ts in
 * nanoseconds -> ms, lba in 512-byte sectors, size in 512-byte blocks, op W|R, the device's major
 * and minor numbers, md5 the hex digest of the content. Device `${major}_${minor}`.
 * The digest gives an estimate of what references would save (DESIGN.md 2.4): a write whose content
 * was written before (same digest, any device) could be sent as a reference; counted in
 * duplicateWrites / duplicateBytes. Digests are remembered by their first 52 bits, up to
 * MAX_DIGESTS of them (then `digestsFull`: the estimate is a lower bound).
 *
 * Speed: the digests are random, so once the table outgrows the caches nearly every look-up is a
 * cache miss (about a third of the reader's time at 1.5 M distinct digests, looked up one by one).
 * They are looked up in batches of DIGEST_BATCH, in the order of the lines: the batch's slots are
 * read first, all at once (independent loads, whose misses the CPU overlaps), then each digest is
 * looked up and added in turn, as before; the counters are final once the parser's `end()` ran.
 */
import type { LineParser, RecordTarget } from './records.js';
import { NINE, POW10, SPACE, TAB, ZERO } from './scan.js';

/** The most distinct digests kept (a table of 2^24 slots of 8 bytes: 128 MiB at most). */
export const MAX_DIGESTS = 8_000_000;

/** Writes whose digests are looked up together. */
const DIGEST_BATCH = 256;

/** The value of each byte as a hex digit; -1 if it is not one. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** A set of 52-bit digests: open addressing in a Float64Array (0 = empty: digests are stored + 1). */
class DigestSet {
  private slots = new Float64Array(1 << 16);
  size = 0;
  /** What warm() read (kept so the reads are not optimised away). */
  sink = 0;

  /** Reads the first slot of each of hs[0, n) (the look-ups that follow find them in the cache). */
  warm(hs: Float64Array, n: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let x = 0;
    for (let k = 0; k < n; k++) {
      const h = hs[k]!;
      x += slots[(h ^ (h / 4294967296)) & mask]!;
    }
    this.sink = x;
  }

  /** Adds h; true if it was there already. */
  add(h: number): boolean {
    const v = h + 1;
    let mask = this.slots.length - 1;
    let i = (h ^ (h / 4294967296)) & mask;
    for (;;) {
      const x = this.slots[i]!;
      if (x === v) return true;
      if (x === 0) break;
      i = (i + 1) & mask;
    }
    if (this.size >= MAX_DIGESTS) return false;
    this.slots[i] = v;
    if (++this.size * 2 > this.slots.length) {
      const old = this.slots;
      this.slots = new Float64Array(old.length * 2);
      mask = this.slots.length - 1;
      for (const x of old) {
        if (x === 0) continue;
        let j = ((x - 1) ^ ((x - 1) / 4294967296)) & mask;
        while (this.slots[j] !== 0) j = (j + 1) & mask;
        this.slots[j] = x;
      }
    }
    return false;
  }
}

/** Past the spaces and tabs from p. */
function sp(b: Buffer, p: number, e: number): number {
  let c = 0;
  while (p < e && ((c = b[p]!) === SPACE || c === TAB)) p++;
  return p;
}

/** Past the decimal digits from p. */
function digits(b: Buffer, p: number, e: number): number {
  let c = 0;
  while (p < e && (c = b[p]!) >= ZERO && c <= NINE) p++;
  return p;
}

/** The decimal digits b[s, e) as a number (above 2^53 - 1: not exact, and so refused by the callers). */
function value(b: Buffer, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) v = v * 10 + (b[i]! - ZERO);
  return v;
}

/** Whether the decimal digits b[s, e) are above 2^53 - 1 (15 digits or fewer never are). */
function tooBig(b: Buffer, s: number, e: number): boolean {
  return e - s > 15 && value(b, s, e) > Number.MAX_SAFE_INTEGER;
}

/** The first 13 hex digits (52 bits) of b[s, e); -1 if not hex or shorter. */
function digest52(b: Buffer, s: number, e: number): number {
  if (e - s < 13) return -1;
  let hi = 0,
    lo = 0,
    bad = 0;
  for (let i = s; i < s + 5; i++) {
    const d = HEX[b[i]!]!;
    bad |= d;
    hi = (hi << 4) | d;
  }
  for (let i = s + 5; i < s + 13; i++) {
    const d = HEX[b[i]!]!;
    bad |= d;
    lo = lo * 16 + d;
  }
  return bad < 0 ? -1 : hi * 4294967296 + lo;
}

export class FiuLines implements LineParser {
  private readonly seen = new DigestSet();
  /** The digests and bytes of the writes not yet looked up, in line order. */
  private readonly batch = new Float64Array(DIGEST_BATCH);
  private readonly batchBytes = new Float64Array(DIGEST_BATCH);
  private batched = 0;

  constructor(private readonly t: RecordTarget) {
    Object.assign(t.counters, { duplicateWrites: 0, duplicateBytes: 0, digestsFull: false });
  }

  /**
   * One pass over the line with the position in a local (the fields as scan.ts reads them: the same
   * lines are accepted, with the same values).
   */
  line(b: Buffer, s: number, e: number): boolean {
    let p = sp(b, s, e);
    // ts: ns -> ms, exact (uintScaled): all but the last 6 digits are whole ms
    const ts = p;
    p = digits(b, p, e);
    if (p === ts) return false;
    const split = p - 6 > ts ? p - 6 : ts;
    const hi = value(b, ts, split);
    if (hi > Number.MAX_SAFE_INTEGER) return false;
    const time = hi + value(b, split, p) / POW10[p - split]!;
    let q = sp(b, p, e);
    if (q === p || (p = digits(b, q, e)) === q || tooBig(b, q, p)) return false; // pid
    if ((q = sp(b, p, e)) === p) return false;
    p = q;
    while (p < e && b[p] !== SPACE && b[p] !== TAB) p++; // process
    if (p === q || (q = sp(b, p, e)) === p || (p = digits(b, q, e)) === q) return false;
    const lba = value(b, q, p);
    if (lba > Number.MAX_SAFE_INTEGER || (q = sp(b, p, e)) === p || (p = digits(b, q, e)) === q) return false;
    const size = value(b, q, p);
    if (size > Number.MAX_SAFE_INTEGER || (q = sp(b, p, e)) === p) return false;
    const op = b[q];
    const w = op === 87 || op === 119 ? 1 : op === 82 || op === 114 ? 0 : -1;
    if (w < 0 || (p = sp(b, q + 1, e)) === q + 1) return false;
    const ks = p; // major minor: the device
    if ((q = digits(b, p, e)) === p || tooBig(b, p, q) || (p = sp(b, q, e)) === q) return false;
    if ((q = digits(b, p, e)) === p || tooBig(b, p, q)) return false;
    const ke = q;
    if ((p = sp(b, q, e)) === q) return false;
    // the md5: its first 13 hex digits (no space among them), then the rest of the token
    const h = p + 13 <= e ? digest52(b, p, p + 13) : -1;
    if (h < 0) return false;
    p += 13;
    while (p < e && b[p] !== SPACE && b[p] !== TAB) p++;
    if (sp(b, p, e) !== e) return false;
    const dev = this.t.device(b, ks, ke, (raw) => raw.split(/\s+/).join('_'));
    if (dev < 0 || !this.t.record(time, dev, w === 1, lba * 512, size * 512)) return false;
    if (w === 1) {
      this.batch[this.batched] = h;
      this.batchBytes[this.batched] = size * 512;
      if (++this.batched === DIGEST_BATCH) this.end();
    }
    return true;
  }

  /** Looks up the digests batched so far, in order. */
  end(): void {
    const n = this.batched;
    const c = this.t.counters;
    this.batched = 0;
    this.seen.warm(this.batch, n);
    for (let k = 0; k < n; k++) {
      if (this.seen.add(this.batch[k]!)) {
        c.duplicateWrites!++;
        c.duplicateBytes! += this.batchBytes[k]!;
      } else if (this.seen.size >= MAX_DIGESTS) c.digestsFull = true;
    }
  }
}
