/**
 * CloudPhysics traces in their CSV form (Waldspurger et al., "Efficient MRC Construction with
 * SHARDS", FAST '15: VMware vscsiStats traces of 106 virtual disks, one disk a file), `--format
 * cloudphysics`: `version,time,op,size,lbn`, an optional header line: version of the vscsi record,
 * time in microseconds -> ms, op the SCSI opcode (decimal or 0x hex), size in bytes, lbn in
 * 512-byte blocks. WRITE(6|10|12|16) = 0x0A 0x2A 0xAA 0x8A are writes, READ(6|10|12|16) = 0x08
 * 0x28 0xA8 0x88 reads, every other opcode counts as other. The file is one device, `disk`.
 */
import type { LineParser, RecordTarget } from './records.js';
import { comma, cur, uint, uintScaled, isDigit } from './scan.js';

const WRITES = new Set([0x0a, 0x2a, 0xaa, 0x8a]);
const READS = new Set([0x08, 0x28, 0xa8, 0x88]);

/** A SCSI opcode at cur.p: decimal, or hex after 0x; -1 if none or above 255. */
function opcode(b: Buffer, e: number): number {
  if (b[cur.p] === 48 && (b[cur.p + 1] === 120 || b[cur.p + 1] === 88)) {
    cur.p += 2;
    const s = cur.p;
    let v = 0;
    for (; cur.p < e; cur.p++) {
      const c = b[cur.p]! | 0x20;
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) break;
      v = v * 16 + d;
    }
    return cur.p === s || v > 255 ? -1 : v;
  }
  const v = uint(b, e);
  return v > 255 ? -1 : v;
}

export class CloudPhysicsLines implements LineParser {
  private dev = -1;

  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, s: number, e: number): boolean {
    if (!isDigit(b[s])) return this.t.counters.lines === 1; // the header
    if (uint(b, e) < 0 || !comma(b)) return false;
    const time = uintScaled(b, e, 3);
    if (time < 0 || !comma(b)) return false;
    const op = opcode(b, e);
    if (op < 0 || !comma(b)) return false;
    const size = uint(b, e);
    if (size < 0 || !comma(b)) return false;
    const lbn = uint(b, e);
    if (lbn < 0 || cur.p !== e) return false;
    const write = WRITES.has(op);
    if (!write && !READS.has(op)) {
      this.t.counters.other++;
      return true;
    }
    if (this.dev < 0) this.dev = this.t.deviceNamed('disk');
    return this.t.record(time, this.dev, write, lbn * 512, size);
  }
}
