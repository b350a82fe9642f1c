/**
 * Recovery of a journal at open: the scan that rebuilds the index of live records from the ring,
 * starting at the tail that the header slot names (layout.ts states the invariants it relies on).
 *
 * The scan walks records while they are whole, carry this journal's salt and increasing seqs, and
 * form whole batches. Where the chain ends it tells free space from damage (what the header knew
 * as synced, what lies there, and whether a whole record one step further continues the chain);
 * every damaged record is named with its seq and why. Past damage it goes on, but whole records
 * found after the last damaged one are kept apart (salvage) for redo() only: they are never
 * shipped, and nothing before them may be re-applied.
 */
import type fsp from 'node:fs/promises';
import { crc32 } from '../util/crc32.js';
import { ALIGN, DATA_START, type HeaderState, KIND_DATA, KIND_WRAP, MAX_RECORD_DATA, REC_HDR, REC_MAGIC, getU64, recordSize } from './layout.js';
import { readFully } from '../util/file-io.js';
import type { IndexEntry } from './space.js';

/** A damaged or unreadable record that recovery found. */
export interface JournalDamage {
  /** The seq it held: read from its header where that fits between its neighbours, else the one
   *  expected there. `toSeq`: when the records up to it are lost with it. */
  seq: number;
  toSeq?: number;
  /** File position. */
  pos: number;
  reason: string;
  /** Only at the very end of the records, and not known to have been synced: what a crash leaves
   *  of the records being appended (a torn write) looks the same. */
  end?: boolean;
}

/** What open() found. stoppedAt: file position where the whole records end (the head). reason:
 *  set when the scan met something other than a clean end (a torn or corrupt record, a short
 *  file); it names each record (damaged) with its seq. */
export interface JournalRecovery {
  records: number;
  lastSeq: number;
  stoppedAt: number;
  reason?: string;
  damaged?: JournalDamage[];
}

/** One line that names a damaged record: its seq (or seqs), where, and why. */
export function describeDamage(d: JournalDamage): string {
  return `${d.toSeq !== undefined ? `records seq ${d.seq}..${d.toSeq}` : `record seq ${d.seq}`} at ${d.pos}: ${d.reason}${d.end ? ' (at the end: a write torn by a crash, or damage)' : ''}`;
}

/** What the scan rebuilt: the index of whole records and what the ring holds. */
export interface ScanResult {
  /** Whole records from the tail, in seq order. */
  idx: IndexEntry[];
  /** Ring bytes they hold. */
  used: number;
  /** Where the next record goes. */
  head: number;
  /** Whole records found after the last damaged one (for redo()). */
  salvage: IndexEntry[];
  /** Damaged records, in file order. */
  damaged: JournalDamage[];
  /** The highest seq given out: seqs of damaged and salvaged records count as used. */
  lastSeq: number;
  recovery: JournalRecovery;
}

/** What lies at a place the recovery scan looks at. */
type Examined =
  | { t: 'rec'; seq: number; len: number; kind: number; epoch: number; bf: number; ts: number; batchEnd: boolean; vol: number; off: number }
  /** free space: zeros, the middle of an older record, a whole record of an earlier lap or session */
  | { t: 'end'; why: string }
  /** a record header of this journal at this place that is not whole and valid. `next`: its seq
   *  and epoch read as those of the record that would follow. */
  | { t: 'bad'; seq: number; next: boolean; why: string };

/** Something at the scan's position that is not the next whole record. */
interface NotNext {
  bad: string;
  /** the seq its header holds, or -1 */
  seqRead: number;
  /** what lies there reads as the next record */
  likeNext: boolean;
}

/** Scans the ring of the journal open on `fh` whose valid header slot is `hdr`. */
export function scanRecords(fh: fsp.FileHandle, hdr: HeaderState): Promise<ScanResult> {
  return new RecoveryScan(fh, hdr).run();
}

/** One scan: its fields are the state of the walk along the ring. */
class RecoveryScan {
  private readonly reader: WindowReader;
  private readonly dataEnd: number;
  /** every record up to here was durable: missing is damage */
  private readonly known: number;
  private fileSize = 0;
  private readonly idx: IndexEntry[] = [];
  private salvage: IndexEntry[] = [];
  private readonly damaged: JournalDamage[] = [];
  private head: number;
  private salvaging = false; // past a damaged record: whole records go to `salvage`, not the index
  private walked = 0; // ring bytes walked while salvaging (at most one lap)
  private pos: number;
  private end: number; // end of the last accepted record
  private prev: number;
  private prevEpoch = 0;
  private expectSeq = -1; // seq announced by a wrap marker
  private batchFirst: number; // a batch split by release(); -1: one opens here; -2: any
  private pending: IndexEntry[] = [];
  private pendingBytes = 0;
  private used = 0;

  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly hdr: HeaderState,
  ) {
    this.dataEnd = DATA_START + hdr.capacity;
    this.reader = new WindowReader(fh, this.dataEnd);
    this.known = hdr.syncedSeq;
    this.head = this.pos = this.end = hdr.tail;
    this.prev = hdr.releasedSeq;
    this.batchFirst = hdr.tailBatchFirst > 0 ? hdr.tailBatchFirst : -1;
  }

  async run(): Promise<ScanResult> {
    this.fileSize = (await this.fh.stat()).size;
    for (;;) {
      if (this.pos === this.dataEnd) this.pos = DATA_START;
      const r = await this.examine(this.pos, this.prev, this.prevEpoch);
      const step = this.step(r);
      if (step === 'next') continue;
      if (step === 'stop') break;
      if (!(await this.damage(step))) break;
    }
    return this.finish();
  }

  private ring(from: number, to: number): number {
    return to >= from ? to - from : this.dataEnd - from + (to - DATA_START);
  }

  /** Takes what lies at the position: 'next' when it was taken (a record, a wrap), 'stop' at the
   *  end of the records, else what is wrong there. */
  private step(r: Examined): 'next' | 'stop' | NotNext {
    if (r.t === 'end') {
      if (this.prev >= this.known) return 'stop'; // free space after the last record
      return { bad: `missing (${r.why} where the header slot says records up to seq ${this.known} were written)`, seqRead: -1, likeNext: false };
    }
    if (r.t === 'bad') return { bad: r.why, seqRead: r.seq, likeNext: r.next };
    const wrong = (bad: string): NotNext => ({ bad, seqRead: r.seq, likeNext: true });
    if (r.kind === KIND_WRAP) {
      if (this.expectSeq !== -1 || this.pos === DATA_START) return wrong('misplaced wrap marker');
      if (this.salvaging) this.walked += this.dataEnd - this.pos;
      this.expectSeq = r.seq;
      this.prevEpoch = r.epoch;
      this.pos = DATA_START;
      return 'next';
    }
    if (this.expectSeq !== -1 && r.seq !== this.expectSeq) return wrong('does not follow its wrap marker');
    if (this.batchFirst !== -2 && r.bf !== (this.batchFirst === -1 ? r.seq : this.batchFirst)) return wrong('not part of a whole batch');
    const size = recordSize(r.len);
    const alloc = this.ring(this.end === this.dataEnd ? DATA_START : this.end, this.pos) + size;
    if (!this.salvaging && this.used + this.pendingBytes + alloc > this.hdr.capacity) return wrong('records exceed the capacity');
    if (this.salvaging && (this.walked += alloc) > this.hdr.capacity) return 'stop';
    this.accept(r, size, alloc);
    return 'next';
  }

  /** Takes a whole data record; a batch's records join the index (or the salvage) at its end. */
  private accept(r: Extract<Examined, { t: 'rec' }>, size: number, alloc: number): void {
    const e: IndexEntry = { seq: r.seq, pos: this.pos, len: r.len, ts: r.ts, bf: r.bf, alloc, vol: r.vol, off: r.off };
    this.expectSeq = -1;
    this.prevEpoch = r.epoch;
    this.batchFirst = r.bf;
    this.pending.push(e);
    this.pendingBytes += alloc;
    this.end = this.pos + size;
    this.prev = r.seq;
    this.pos = this.end;
    if (!r.batchEnd) return;
    if (this.salvaging) this.salvage.push(...this.pending);
    else {
      for (const x of this.pending) this.idx.push(x);
      this.used += this.pendingBytes;
      this.head = this.end === this.dataEnd ? DATA_START : this.end;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.batchFirst = -1;
  }

  /**
   * Something that is not the next whole record, and not (known to be) free space: damage, or the
   * records a crash cut short. Looks one record further for the chain's continuation, names the
   * damage, and goes on after it; false when the scan ends here.
   */
  private async damage(n: NotNext): Promise<boolean> {
    const { pos, prev, known } = this;
    const next = await this.lookAhead(pos, prev, this.prevEpoch);
    const certain = prev < known || next !== null;
    if (!certain && !n.likeNext) return false; // e.g. an older record damaged in free space
    // its seq as read when that fits between its neighbours, else the one expected here
    const bound = next ? next.seq - 1 : Math.max(known, this.hdr.lastSeq);
    const seq = n.seqRead > prev && n.seqRead <= bound ? n.seqRead : prev + 1;
    // a batch cut here is lost whole
    const cut = this.pending.length ? `; the records of its batch from seq ${this.pending[0]!.seq} are lost with it` : '';
    const d: JournalDamage = { seq, pos, reason: `${n.bad}${cut}` };
    if (next && next.seq - 1 > seq) d.toSeq = next.seq - 1;
    if (!certain) d.end = true;
    this.damaged.push(d);
    this.pending = [];
    this.pendingBytes = 0;
    if (!next) return false;
    // go on after it: what follows is kept for redo() only (nothing before it may be re-applied)
    this.salvaging = true;
    this.salvage = [];
    this.walked += this.ring(pos, next.pos);
    if (this.walked > this.hdr.capacity) return false;
    this.pos = next.pos;
    this.prev = next.seq - 1;
    this.prevEpoch = next.epoch;
    this.expectSeq = -1;
    this.batchFirst = -2;
    this.end = this.pos;
    return true;
  }

  private finish(): ScanResult {
    const { damaged, known, hdr } = this;
    if (this.pending.length > 0) {
      const first = this.pending[0]!;
      const d: JournalDamage = { seq: first.seq, pos: first.pos, reason: `a batch of ${this.pending.length} record(s) at the end was not written whole` };
      if (first.seq > known) d.end = true;
      damaged.push(d);
    }
    const last = this.idx[this.idx.length - 1];
    // seqs are not given out twice: those of damaged and salvaged records count as used
    let top = Math.max(hdr.lastSeq, hdr.releasedSeq, known, last?.seq ?? 0, this.salvage[this.salvage.length - 1]?.seq ?? 0);
    for (const d of damaged) top = Math.max(top, d.toSeq ?? d.seq);
    const recovery: JournalRecovery = { records: this.idx.length, lastSeq: top, stoppedAt: this.head };
    if (damaged.length) {
      recovery.reason = damaged.slice(0, 3).map(describeDamage).join('; ') + (damaged.length > 3 ? `; and ${damaged.length - 3} more` : '');
      recovery.damaged = damaged;
    }
    return { idx: this.idx, used: this.used, head: this.head, salvage: this.salvage, damaged, lastSeq: top, recovery };
  }

  /** What lies at `pos` for a scan whose last record is `prev` of epoch `prevEpoch`. */
  private async examine(pos: number, prev: number, prevEpoch: number): Promise<Examined> {
    if (pos >= this.fileSize) return { t: 'end', why: `the file ends at ${pos}` }; // a short file ends with free space
    const h = await this.reader.get(pos, REC_HDR);
    if (!h) return { t: 'bad', seq: -1, next: true, why: 'the file ends inside the record header' };
    const magic = h.readUInt32LE(4) === REC_MAGIC;
    const salt = h.subarray(8, 16).equals(this.hdr.salt);
    const self = getU64(h, 48) === pos;
    if (+magic + +salt + +self < 2) return { t: 'end', why: 'free space' };
    const seq = getU64(h, 16);
    const len = h.readUInt32LE(60);
    const kind = h.readUInt16LE(68);
    const epoch = h.readUInt32LE(72);
    let why: string | null = null;
    if (kind !== KIND_DATA && kind !== KIND_WRAP) why = 'invalid kind';
    else if (len > MAX_RECORD_DATA || (kind === KIND_WRAP && len !== 0)) why = 'invalid length';
    else if (kind === KIND_DATA && pos + recordSize(len) > this.dataEnd) why = 'crosses the end of the ring';
    else {
      const rec = kind === KIND_WRAP ? h : await this.reader.get(pos, REC_HDR + len);
      if (!rec) why = 'cut short by the end of the file';
      else if (crc32(rec.subarray(REC_HDR), crc32(rec.subarray(4, REC_HDR))) !== rec.readUInt32LE(0)) why = 'bad crc';
      else if (!(magic && salt && self)) why = 'invalid header';
    }
    if (why) {
      const off = [!magic && 'magic', !salt && 'salt', !self && 'position'].filter(Boolean);
      if (off.length) why = `damaged header (${off.join(', ')}${why === 'bad crc' ? '' : `; ${why}`})`;
      else if (why === 'bad crc') why = 'bad crc (torn or damaged)';
      return { t: 'bad', seq, next: seq > prev && epoch >= prevEpoch && epoch <= this.hdr.epoch, why: `${kind === KIND_WRAP ? 'wrap marker: ' : ''}${why}` };
    }
    if (seq <= prev) return { t: 'end', why: `a record of an earlier lap (seq ${seq})` };
    if (epoch < prevEpoch || epoch > this.hdr.epoch) return { t: 'end', why: `a record left by an earlier session (seq ${seq})` };
    return { t: 'rec', seq, len, kind, epoch, bf: getU64(h, 24), ts: getU64(h, 32), batchEnd: h.readUInt16LE(70) === 1, vol: h.readUInt32LE(56), off: getU64(h, 40) };
  }

  /** The whole record that continues the chain after a bad one at `from`: within the longest
   *  record after it, or at the start of the ring (after a wrap). */
  private async lookAhead(from: number, prev: number, prevEpoch: number): Promise<{ pos: number; seq: number; epoch: number } | null> {
    const limit = Math.min(this.dataEnd, from + recordSize(MAX_RECORD_DATA));
    const at: number[] = [];
    for (let q = from + ALIGN; q < limit; q += ALIGN) at.push(q);
    if (from !== DATA_START) at.push(DATA_START);
    for (const q of at) {
      if (q + REC_HDR > this.fileSize) continue;
      const r = await this.examine(q, prev, prevEpoch);
      if (r.t === 'rec') return { pos: q, seq: r.seq, epoch: r.epoch };
    }
    return null;
  }
}

/** Sequential reads for the recovery scan through a 4 MiB window, so small records cost no syscall each. */
class WindowReader {
  private buf = Buffer.alloc(0);
  private at = 0;
  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly limit: number,
  ) {}

  /** `len` bytes at `pos`, or null when the file ends first. */
  async get(pos: number, len: number): Promise<Buffer | null> {
    if (pos < this.at || pos + len > this.at + this.buf.length) {
      const want = Math.min(Math.max(len, 4 * 1024 * 1024), this.limit - pos);
      const b = Buffer.allocUnsafe(Math.max(want, len));
      const got = await readFully(this.fh, b, pos);
      this.buf = b.subarray(0, got);
      this.at = pos;
    }
    if (pos + len > this.at + this.buf.length) return null;
    return this.buf.subarray(pos - this.at, pos - this.at + len);
  }
}
