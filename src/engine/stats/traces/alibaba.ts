/**
 * Alibaba block traces (github.com/alibaba/block-traces, the 2020 release of 1,000 cloud virtual
 * disks): CSV `device_id,opcode,offset,length,timestamp`, no header: opcode R|W, offset and length
 * in bytes, timestamp in microseconds since the Unix epoch -> ms. Device: the device_id as written.
 */
import type { LineParser, RecordTarget } from './records.js';
import { comma, cur, COMMA, uint, uintScaled, until, rwLetter } from './scan.js';

export class AlibabaLines implements LineParser {
  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, s: number, e: number): boolean {
    const ke = until(b, e, COMMA);
    if (ke === s || !comma(b)) return false;
    const w = rwLetter(b);
    if (w < 0 || !comma(b)) return false;
    const offset = uint(b, e);
    if (offset < 0 || !comma(b)) return false;
    const length = uint(b, e);
    if (length < 0 || !comma(b)) return false;
    const time = uintScaled(b, e, 3);
    if (time < 0 || cur.p !== e) return false;
    const dev = this.t.device(b, s, ke, (raw) => raw);
    return dev >= 0 && this.t.record(time, dev, w === 1, offset, length);
  }
}
