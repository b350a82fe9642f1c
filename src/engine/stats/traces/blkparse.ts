/**
 * blkparse traces, the default text `maj,min cpu seq time pid action rwbs sector + nblocks [proc]`.
 * Only action Q (queued: the request as the filesystem issued it, before merges) is an I/O record
 * (`action: 'C'` picks completions instead); other actions count as `other`. rwbs with W is a write,
 * else with R a read, else other (flush, discard). Sectors are 512 bytes. time is seconds since the
 * trace start -> ms. Device `dev${maj}_${min}`. The summary after the events (a line starting "CPU"
 * or "Total") ends the records.
 */
import type { LineParser, RecordTarget } from './records.js';
import { cur, COMMA, SPACE, TAB, PLUS, uint, udec, spaces, token, isDigit } from './scan.js';

export class BlkparseLines implements LineParser {
  /** The summary was reached: the lines after it are not records. */
  private done = false;
  /** The action that is the I/O record (Q or C), as a byte. */
  private readonly action: number;

  constructor(
    private readonly t: RecordTarget,
    action: 'Q' | 'C' = 'Q',
  ) {
    this.action = action.charCodeAt(0);
  }

  line(b: Buffer, _s: number, e: number): boolean {
    if (this.done) return true;
    spaces(b, e);
    if (cur.p >= e) return true;
    if (!isDigit(b[cur.p])) {
      const head = b.toString('latin1', cur.p, Math.min(e, cur.p + 6));
      if (head.startsWith('CPU') || head.startsWith('Total')) {
        this.done = true;
        return true;
      }
      return false;
    }
    const ds = cur.p;
    const maj = uint(b, e);
    if (maj < 0 || b[cur.p] !== COMMA) return false;
    cur.p++;
    const min = uint(b, e);
    const de = cur.p;
    if (min < 0 || spaces(b, e) === 0) return false;
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // cpu
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // sequence
    const sec = udec(b, e);
    if (sec < 0 || spaces(b, e) === 0) return false;
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // pid
    const as = cur.p;
    if (token(b, e) === as) return false;
    if (cur.p - as !== 1 || b[as] !== this.action) {
      this.t.counters.other++;
      return true;
    }
    spaces(b, e);
    const rs = cur.p;
    if (token(b, e) === rs) return false;
    let write = false,
      read = false;
    for (let i = rs; i < cur.p; i++) {
      if (b[i] === 87) write = true;
      else if (b[i] === 82) read = true;
    }
    spaces(b, e);
    if (!write && !read) {
      this.t.counters.other++;
      return true;
    }
    if (cur.p >= e || b[cur.p] === 91) {
      this.t.counters.other++; // e.g. `Q FWS [jbd2]`: a flush with no sector range
      return true;
    }
    const sector = uint(b, e);
    if (sector < 0) return false;
    spaces(b, e);
    if (b[cur.p] !== PLUS) return false;
    cur.p++;
    spaces(b, e);
    const blocks = uint(b, e);
    if (blocks < 0 || (cur.p < e && b[cur.p] !== SPACE && b[cur.p] !== TAB)) return false;
    const dev = this.t.device(b, ds, de, (raw) => `dev${raw.replace(',', '_')}`);
    return dev >= 0 && this.t.record(sec * 1000, dev, write, sector * 512, blocks * 512);
  }
}
