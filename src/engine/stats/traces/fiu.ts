/**
 * FIU traces (SNIA IOTTA "FIU SRCMap" and "FIU IODedup", Koller & Rangaswami, FAST '10): one
 * request a line, fields separated by spaces: `ts pid process lba size op major minor md5`: ts in
 * nanoseconds -> ms, lba in 512-byte sectors, size in 512-byte blocks, op W|R, the device's major
 * and minor numbers, md5 the hex digest of the content. Device `${major}_${minor}`.
 * The digest gives an estimate of what references would save (DESIGN.md 2.4): a write whose content
 * was written before (same digest, any device) could be sent as a reference; counted in
 * duplicateWrites / duplicateBytes. Digests are remembered by their first 52 bits, up to
 * MAX_DIGESTS of them (then `digestsFull`: the estimate is a lower bound).
 */
import type { LineParser, RecordTarget } from './records.js';
import { cur, uint, uintScaled, spaces, token, rwLetter } from './scan.js';

/** The most distinct digests kept (a table of 2^24 slots of 8 bytes: 128 MiB at most). */
export const MAX_DIGESTS = 8_000_000;

/** A set of 52-bit digests: open addressing in a Float64Array (0 = empty: digests are stored + 1). */
class DigestSet {
  private slots = new Float64Array(1 << 16);
  size = 0;

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

/** The first 13 hex digits (52 bits) of b[s, e); -1 if not hex or shorter. */
function digest52(b: Buffer, s: number, e: number): number {
  if (e - s < 13) return -1;
  let v = 0;
  for (let i = s; i < s + 13; i++) {
    const c = b[i]! | 0x20;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

export class FiuLines implements LineParser {
  private readonly seen = new DigestSet();

  constructor(private readonly t: RecordTarget) {
    Object.assign(t.counters, { duplicateWrites: 0, duplicateBytes: 0, digestsFull: false });
  }

  line(b: Buffer, _s: number, e: number): boolean {
    spaces(b, e);
    const time = uintScaled(b, e, 6);
    if (time < 0 || spaces(b, e) === 0 || uint(b, e) < 0 || spaces(b, e) === 0) return false; // ts, pid
    const ps = cur.p;
    if (token(b, e) === ps || spaces(b, e) === 0) return false; // process
    const lba = uint(b, e);
    if (lba < 0 || spaces(b, e) === 0) return false;
    const size = uint(b, e);
    if (size < 0 || spaces(b, e) === 0) return false;
    const w = rwLetter(b);
    if (w < 0 || spaces(b, e) === 0) return false;
    const ks = cur.p;
    if (uint(b, e) < 0 || spaces(b, e) === 0 || uint(b, e) < 0) return false;
    const ke = cur.p;
    if (spaces(b, e) === 0) return false;
    const hs = cur.p;
    const he = token(b, e);
    const h = digest52(b, hs, he);
    if (h < 0) return false;
    spaces(b, e);
    if (cur.p !== e) return false;
    const dev = this.t.device(b, ks, ke, (raw) => raw.split(/\s+/).join('_'));
    if (dev < 0 || !this.t.record(time, dev, w === 1, lba * 512, size * 512)) return false;
    if (w === 1) this.content(h, size * 512);
    return true;
  }

  private content(h: number, bytes: number): void {
    const c = this.t.counters;
    if (this.seen.add(h)) {
      c.duplicateWrites!++;
      c.duplicateBytes! += bytes;
    } else if (this.seen.size >= MAX_DIGESTS) c.digestsFull = true;
  }
}
