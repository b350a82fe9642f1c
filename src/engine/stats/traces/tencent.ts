/**
 * Tencent CBS traces (SNIA IOTTA "Tencent Block Storage", 2018; 216 files of the I/O of 5,584
 * cloud volumes): CSV `Timestamp,Offset,Size,IOType,VolumeID`, no header: Timestamp in seconds
 * since the Unix epoch -> ms, Offset and Size in 512-byte sectors, IOType 0 read | 1 write.
 * Device: the VolumeID as written.
 */
import type { LineParser, RecordTarget } from './records.js';
import { comma, cur, COMMA, ZERO, uint, udec, until } from './scan.js';

export class TencentLines implements LineParser {
  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, _s: number, e: number): boolean {
    const sec = udec(b, e);
    if (sec < 0 || !comma(b)) return false;
    const off = uint(b, e);
    if (off < 0 || !comma(b)) return false;
    const size = uint(b, e);
    if (size < 0 || !comma(b)) return false;
    const type = b[cur.p]! - ZERO;
    if (type !== 0 && type !== 1) return false;
    cur.p++;
    if (!comma(b)) return false;
    const ks = cur.p;
    const ke = until(b, e, COMMA);
    if (ke === ks || ke !== e) return false;
    const dev = this.t.device(b, ks, ke, (raw) => raw);
    return dev >= 0 && this.t.record(sec * 1000, dev, type === 1, off * 512, size * 512);
  }
}
