/**
 * Systor '17 traces (SNIA IOTTA "SYSTOR '17", enterprise VDI LUNs; Lee et al., "Understanding
 * storage traffic characteristics on enterprise virtual desktop infrastructure", SYSTOR 2017):
 * CSV `Timestamp,Response,IOType,LUN,Offset,Size` with that header line: Timestamp in seconds since
 * the Unix epoch (with a fraction) -> ms, Response in seconds (may be empty), IOType R|W, LUN a
 * number, Offset and Size in bytes. Device `lun${LUN}`.
 */
import type { LineParser, RecordTarget } from './records.js';
import { comma, cur, COMMA, uint, udec, until, rwLetter, isDigit } from './scan.js';

export class SystorLines implements LineParser {
  private readonly lun: number[] = [];

  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, s: number, e: number): boolean {
    if (!isDigit(b[s])) return this.t.counters.lines === 1; // the header
    const sec = udec(b, e);
    if (sec < 0 || !comma(b)) return false;
    until(b, e, COMMA); // the response time: not used
    if (!comma(b)) return false;
    const w = rwLetter(b);
    if (w < 0 || !comma(b)) return false;
    const lun = uint(b, e);
    if (lun < 0 || !comma(b)) return false;
    const offset = uint(b, e);
    if (offset < 0 || !comma(b)) return false;
    const size = uint(b, e);
    if (size < 0 || cur.p !== e) return false;
    let dev = this.lun[lun];
    if (dev === undefined) {
      dev = this.t.deviceNamed(`lun${lun}`);
      if (lun < 65536) this.lun[lun] = dev;
    }
    return this.t.record(sec * 1000, dev, w === 1, offset, size);
  }
}
