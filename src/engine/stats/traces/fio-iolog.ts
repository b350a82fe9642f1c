/**
 * fio iolog traces. v2 (`fio version 2 iolog`): `filename action [offset length]`; lines have no
 * time: time starts at 0 and each `filename wait N` adds N microseconds, as fio replays it; without
 * waits every record is at time 0. v3 (`fio version 3 iolog`): `timestamp filename action [offset
 * length]`, timestamp in ms from the trace start. Actions add/open/close/sync/datasync/trim count as
 * other; read/write are records. A file without a header line is read as v2. Device = filename as
 * written.
 */
import type { LineParser, RecordTarget } from './records.js';
import { cur, uint, spaces, token } from './scan.js';

export class FioIologLines implements LineParser {
  /** 0 = header not seen yet. */
  private version = 0;
  /** v2: µs accumulated from wait lines. */
  private time = 0;

  constructor(private readonly t: RecordTarget) {}

  line(b: Buffer, s: number, e: number): boolean {
    if (this.version === 0) {
      const text = b.toString('latin1', s, e).trim();
      const m = /^fio version (\d+) iolog$/.exec(text);
      this.version = m ? Number(m[1]) : 2;
      if (m) return this.version === 2 || this.version === 3;
    }
    spaces(b, e);
    let time: number;
    if (this.version === 3) {
      const ms = uint(b, e);
      if (ms < 0 || spaces(b, e) === 0) return false;
      time = ms;
    } else time = this.time / 1000;
    const fs = cur.p;
    const fe = token(b, e);
    if (fe === fs || spaces(b, e) === 0) return false;
    const as = cur.p;
    const ae = token(b, e);
    const action = b.toString('latin1', as, ae);
    spaces(b, e);
    if (action === 'read' || action === 'write') {
      const offset = uint(b, e);
      if (offset < 0 || spaces(b, e) === 0) return false;
      const length = uint(b, e);
      spaces(b, e);
      if (length < 0 || cur.p < e) return false;
      const dev = this.t.device(b, fs, fe, (raw) => raw);
      return dev >= 0 && this.t.record(time, dev, action === 'write', offset, length);
    }
    if (action === 'wait') {
      const us = uint(b, e);
      if (us < 0) return false;
      if (this.version === 2) this.time += us;
      this.t.counters.other++;
      return true;
    }
    if (action === 'add' || action === 'open' || action === 'close' || action === 'sync' || action === 'datasync' || action === 'trim') {
      if (action === 'add' && this.t.device(b, fs, fe, (raw) => raw) < 0) return false;
      this.t.counters.other++;
      return true;
    }
    return false;
  }
}
