/**
 * MSR Cambridge CSV traces: `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime`.
 * Timestamp in 100 ns units since 1601-01-01 -> epoch ms (exact: the last four digits are the
 * fraction). Type Read|Write. Device `${Hostname}_${DiskNumber}`. A first line that does not start
 * with a digit is a header and is skipped.
 */
import type { LineParser, RecordTarget } from './records.js';
import { cur, COMMA, ZERO, NINE, uint, until, isDigit } from './scan.js';

/** Windows FILETIME epoch (1601-01-01) to Unix epoch, in ms. */
const FILETIME_EPOCH_MS = 11644473600000;

export class MsrLines implements LineParser {
  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, s: number, e: number): boolean {
    if (!isDigit(b[s])) {
      if (this.t.counters.lines === 1) return true; // header
      return false;
    }
    // Timestamp: 100 ns ticks; all but the last 4 digits are whole ms (exact below 2^53)
    const ts = cur.p;
    let c = 0;
    while (cur.p < e && (c = b[cur.p]!) >= ZERO && c <= NINE) cur.p++;
    if (cur.p >= e || b[cur.p] !== COMMA) return false;
    const split = Math.max(ts, cur.p - 4);
    let hi = 0,
      lo = 0;
    for (let i = ts; i < split; i++) hi = hi * 10 + (b[i]! - ZERO);
    for (let i = split; i < cur.p; i++) lo = lo * 10 + (b[i]! - ZERO);
    const time = hi - FILETIME_EPOCH_MS + lo / 1e4;
    const ks = ++cur.p;
    if (until(b, e, COMMA) === ks || cur.p >= e) return false;
    cur.p++;
    if (uint(b, e) < 0 || cur.p >= e || b[cur.p] !== COMMA) return false;
    const ke = cur.p++;
    const t = b[cur.p];
    let write: boolean;
    if (t === 87 || t === 119)
      write = true; // W w
    else if (t === 82 || t === 114)
      write = false; // R r
    else return false;
    if (until(b, e, COMMA) >= e) return false;
    cur.p++;
    const offset = uint(b, e);
    if (offset < 0 || cur.p >= e || b[cur.p] !== COMMA) return false;
    cur.p++;
    const length = uint(b, e);
    if (length < 0 || (cur.p < e && b[cur.p] !== COMMA)) return false;
    const dev = this.t.device(b, ks, ke, (raw) => raw.replace(',', '_'));
    return dev >= 0 && this.t.record(time, dev, write, offset, length);
  }
}
