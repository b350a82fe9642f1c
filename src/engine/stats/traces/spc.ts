/**
 * SPC/UMass traces: `ASU,LBA,Size,Opcode,Timestamp[,...]`: LBA in 512-byte blocks, Size bytes,
 * Opcode r|w, Timestamp seconds -> ms. Device `asu${ASU}`.
 */
import type { LineParser, RecordTarget } from './records.js';
import { cur, COMMA, uint, udec, spaces } from './scan.js';

export class SpcLines implements LineParser {
  /** Device index by ASU number (the first 65536 ASUs). */
  private readonly asu: number[] = [];

  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, _s: number, e: number): boolean {
    spaces(b, e);
    const asu = uint(b, e);
    if (asu < 0 || b[cur.p] !== COMMA) return false;
    cur.p++;
    spaces(b, e);
    const lba = uint(b, e);
    if (lba < 0 || b[cur.p] !== COMMA) return false;
    cur.p++;
    spaces(b, e);
    const size = uint(b, e);
    if (size < 0 || b[cur.p] !== COMMA) return false;
    cur.p++;
    spaces(b, e);
    const op = b[cur.p];
    let write: boolean;
    if (op === 87 || op === 119) write = true;
    else if (op === 82 || op === 114) write = false;
    else return false;
    cur.p++;
    spaces(b, e);
    if (b[cur.p] !== COMMA) return false;
    cur.p++;
    spaces(b, e);
    const sec = udec(b, e);
    if (sec < 0) return false;
    spaces(b, e);
    if (cur.p < e && b[cur.p] !== COMMA) return false;
    let dev = this.asu[asu];
    if (dev === undefined) {
      dev = this.t.deviceNamed(`asu${asu}`);
      if (asu < 65536) this.asu[asu] = dev;
    }
    return this.t.record(sec * 1000, dev, write, lba * 512, size);
  }
}
