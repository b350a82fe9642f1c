/**
 * A journal volume: one file of fixed capacity used as a ring buffer of records.
 *
 * Layout (integers little-endian, u64 values are numbers below 2^53):
 *   [0, 4096)        header slot 0      slot = generation % 2; the two are written alternately
 *   [4096, 8192)     header slot 1
 *   [8192, 8192+cap) data area: a ring of records; cap is a multiple of 512. Created sparse: only
 *                    the header slots are written (the file system's free space is checked first).
 *
 * Header slot: 0 magic 'RCJRNL01' | 8 u32 version (2; 1 is read too) | 12 u32 data start | 16 salt
 *   (8 random bytes) | 24 u64 capacity | 32 u64 generation | 40 u64 tailOffset (file position of the
 *   oldest unreleased record, or of where the next one goes) | 48 u64 releasedSeq | 56 u64 lastSeq |
 *   64 u64 tailBatchFirst (batchFirst of the record at the tail when a release split its batch, else 0) |
 *   72 u32 epoch | 76 u32 crc32 of [0, 76) |
 *   version 2: 80 u64 syncedSeq (every record with releasedSeq < seq <= syncedSeq was durable in this
 *   file when the slot was written: recovery must find each of them, and names the one it cannot) |
 *   88 u64 durableSeq (what this journal logs, i.e. the P-VOLs of a master journal, held every entry
 *   with seq <= durableSeq durably: a restart re-applies only entries after it) | 96 u32 crc32 of [80, 96).
 *   The valid slot (magic, version, crcs) with the highest generation wins; a torn slot is ignored.
 *   A slot is written at each release and reset (after the volumes were made durable: beforeDrop),
 *   at open (a new epoch) and at a clean close (after a sync and a last checkpoint, so after a clean
 *   stop syncedSeq = durableSeq = lastSeq: nothing is re-applied and every record is accounted for).
 *
 * Record: an 80-byte header, the data, zero padding up to a multiple of 512 bytes.
 *   0 u32 crc32 of header bytes [4, 80) and of the data (checksum first, covering length and payload) |
 *   4 magic 'RCJE' | 8 salt | 16 u64 seq | 24 u64 batchFirst (seq of the first record of its batch) |
 *   32 u64 timestamp ms | 40 u64 volume byte offset | 48 u64 file position of the record itself |
 *   56 u32 volumeId | 60 u32 data length | 64 u32 caller's flags | 68 u16 kind (1 data, 2 wrap) |
 *   70 u16 batchEnd (1 on the last record of an append batch) | 72 u32 epoch | 76 reserved zero.
 *   A record never straddles the end of the ring: when it does not fit, a wrap marker (kind 2, no data,
 *   seq = the seq of the record that follows) is written at the head and the record goes to the start.
 *
 * Invariants:
 *   - Seqs strictly increase along the ring from tailOffset; every live record has seq > releasedSeq.
 *     Anything in the free part of the ring was written on an earlier lap, so it has a smaller seq
 *     and the recovery scan stops at it; the salt keeps records of other journals out.
 *   - Recovery accepts whole batches only: a record opens a batch when batchFirst == seq (or, at the
 *     tail, == tailBatchFirst), the batch ends at batchEnd, and a half-written batch is dropped.
 *   - Free space or damage: where the chain of records ends, recovery tells the two apart by what
 *     the header slot knows (syncedSeq: a record up to it that is missing or bad is damage), by what
 *     lies there (a header of this journal at this place — two of magic, salt and position — whose
 *     crc fails is a bad record, not free space) and by looking one record further (a whole record
 *     that continues the chain after a bad one makes it damage). Every bad record is named with its
 *     seq and the reason (recovery.damaged); whole records found after the last damaged one are kept
 *     apart (salvage) for redo() and are never shipped.
 *   - Every open() takes a new epoch and makes it durable before it appends. Epochs never decrease
 *     along the ring, so records left beyond a torn or corrupt record by an earlier session are not
 *     joined to the chain when the new session's records happen to line up with them.
 *   - Space freed by release() is reused only after the header naming the new tail is durable, so a
 *     crash never leaves a valid header pointing at overwritten records. Header slots are written
 *     with O_DSYNC, so making the header durable does not flush the records.
 *   - appends are not fsynced; sync() makes everything appended before it durable.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { E, InternalError, RcopyError } from '../../errors.js';
import { formatBytes } from '../../units.js';
import { combineOp, crc32, crc32Combine } from '../util/crc32.js';
import { DirectFile, pwriteAll, pwriteMaybeDirect } from '../util/file-io.js';

export interface JournalEntry {
  seq: number;
  timestamp: number;
  volumeId: number;
  offset: number;
  data: Buffer;
  flags?: number;
  /** With read(…, { blockCrcs }): crc32 of each whole block of data, in order. */
  blockCrcs?: Uint32Array;
}

export interface JournalAppendEntry {
  seq?: number;
  timestamp?: number;
  volumeId: number;
  offset: number;
  data: Buffer;
  flags?: number;
}

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

export interface JournalStats {
  capacity: number;
  used: number;
  usedPct: number;
  entries: number;
  oldestSeq: number | null;
  newestSeq: number | null;
  lastSeq: number;
  oldestTimestamp: number | null;
  bytesPending: number;
}

export const MAX_RECORD_DATA = 4 * 1024 * 1024;
export const DEFAULT_READ_BYTES = 64 * 1024 * 1024;
const SLOT = 4096;
const DATA_START = 2 * SLOT;
const ALIGN = 512;
const REC_HDR = 80;
const SLOT_MAGIC = Buffer.from('RCJRNL01', 'latin1');
const REC_MAGIC = 0x454a4352; // 'RCJE'
const VERSION = 2;
const KIND_DATA = 1;
const KIND_WRAP = 2;
const ZERO = Buffer.alloc(8 * 1024 * 1024);
const CREATING = '.creating';
const TWO32 = 2 ** 32;

function putU64(b: Buffer, off: number, n: number): void {
  b.writeUInt32LE(n % TWO32, off);
  b.writeUInt32LE(Math.floor(n / TWO32), off + 4);
}
/** -1 when the value does not fit a safe integer (only possible for garbage). */
function getU64(b: Buffer, off: number): number {
  const hi = b.readUInt32LE(off + 4);
  return hi >= 0x200000 ? -1 : hi * TWO32 + b.readUInt32LE(off);
}

export function recordSize(dataLength: number): number {
  return Math.ceil((REC_HDR + dataLength) / ALIGN) * ALIGN;
}

async function readFully(fh: fsp.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

interface IndexEntry {
  seq: number;
  pos: number;
  len: number;
  ts: number;
  bf: number; // batchFirst
  /** ring bytes this record holds: its own size plus any end-of-ring gap skipped just before it */
  alloc: number;
}

interface HeaderState {
  salt: Buffer;
  capacity: number;
  generation: number;
  tail: number;
  releasedSeq: number;
  lastSeq: number;
  tailBatchFirst: number;
  epoch: number;
  syncedSeq: number;
  durableSeq: number;
}

/** What lies at a place the recovery scan looks at. */
type Examined =
  | { t: 'rec'; seq: number; len: number; kind: number; epoch: number; bf: number; ts: number; batchEnd: boolean }
  /** free space: zeros, the middle of an older record, a whole record of an earlier lap or session */
  | { t: 'end'; why: string }
  /** a record header of this journal at this place that is not whole and valid. `next`: its seq
   *  and epoch read as those of the record that would follow. */
  | { t: 'bad'; seq: number; next: boolean; why: string };

interface Placement {
  pos: number;
  wrapAt: number; // position of a wrap marker written before this record, or -1
  alloc: number;
}

export class JournalFile {
  /** What open() found; for a journal made by create(), an empty scan. */
  recovery: JournalRecovery;
  private idx: IndexEntry[] = [];
  private idxStart = 0;
  private used = 0;
  private bytesPending = 0;
  private appendQueue: Promise<unknown> = Promise.resolve();
  private headerQueue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Last seq whose append was written whole (not one of a failed batch). */
  private written = 0;
  /** Last seq that a completed sync() covers (goes into the header as syncedSeq). */
  private synced = 0;
  /** Last seq that what this journal logs holds durably (beforeDrop says; header durableSeq). */
  private durable = 0;
  /** Whole records that recovery found after the last damaged one (for redo()). */
  private salvage: IndexEntry[] = [];

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private hdr: HeaderState,
    private head: number,
    recovery: JournalRecovery,
  ) {
    this.recovery = recovery;
  }

  get capacity(): number {
    return this.hdr.capacity;
  }
  get lastSeq(): number {
    return this.hdr.lastSeq;
  }
  private get dataEnd(): number {
    return DATA_START + this.hdr.capacity;
  }
  private get tail(): number {
    return this.hdr.tail;
  }

  /** Makes a new journal file of `capacity` data bytes (a multiple of 512); fails if it exists,
   *  and with ERR_RCOPY_NO_SPACE when the file system has not that much free space. The data area
   *  is sparse unless `preallocate` (then written with zeros). The file is made whole under a
   *  temporary name in the same directory and linked to its name only then: an interrupted create
   *  leaves no journal file, only a temporary one that removeLeftovers() clears. */
  static async create(file: string, capacity: number, opts: { preallocate?: boolean } = {}): Promise<JournalFile> {
    if (!Number.isSafeInteger(capacity) || capacity < 64 * 1024 || capacity % ALIGN !== 0) {
      throw E.badInput(`journal capacity ${capacity} is not valid`, 'use a multiple of 512 bytes, at least 64 KiB');
    }
    const dir = path.dirname(file);
    const st = await fsp.statfs(dir);
    const free = st.bavail * st.bsize;
    if (DATA_START + capacity > free) {
      throw new RcopyError('ERR_RCOPY_NO_SPACE', `a journal of ${formatBytes(capacity)} does not fit: the file system of ${dir} has ${formatBytes(free)} free`, {
        hint: 'free space there, or create a smaller journal (--size)',
      });
    }
    if (fs.existsSync(file)) throw new RcopyError('ERR_RCOPY_JOURNAL_EXISTS', `journal file ${file} already exists`, { kind: 'usage' });
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}${CREATING}`);
    const fh = await fsp.open(tmp, 'wx+');
    let linked = false;
    try {
      await fh.truncate(DATA_START + capacity);
      if (opts.preallocate) for (let p = DATA_START; p < DATA_START + capacity; p += ZERO.length) {
        await pwriteAll(fh, [ZERO.subarray(0, Math.min(ZERO.length, DATA_START + capacity - p))], p);
      }
      const hdr: HeaderState = { salt: randomBytes(8), capacity, generation: 0, tail: DATA_START, releasedSeq: 0, lastSeq: 0, tailBatchFirst: 0, epoch: 1, syncedSeq: 0, durableSeq: 0 };
      await pwriteAll(fh, [encodeSlot(hdr)], 0);
      hdr.generation = 1;
      await pwriteAll(fh, [encodeSlot(hdr)], SLOT);
      await fh.sync();
      await fsp.link(tmp, file); // fails if the name was taken meanwhile
      linked = true;
      await fsp.rm(tmp);
      await syncDir(dir);
      return new JournalFile(file, fh, hdr, DATA_START, { records: 0, lastSeq: 0, stoppedAt: DATA_START });
    } catch (err) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      if (linked) await fsp.rm(file, { force: true });
      throw err;
    }
  }

  /** Removes what interrupted creates left in `dir` (temporary files of other processes). */
  static async removeLeftovers(dir: string): Promise<string[]> {
    const gone: string[] = [];
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return gone;
    }
    for (const n of names) {
      const m = /^\..+\.(\d+)\.creating$/.exec(n);
      if (!m || Number(m[1]) === process.pid) continue; // one of ours may be under way
      await fsp.rm(path.join(dir, n), { force: true });
      gone.push(n);
    }
    return gone;
  }

  /** Opens a journal and recovers its records: scans from the tail while records are whole, carry
   *  this journal's salt and increasing seqs; a bad or torn record ends the index there and is
   *  named in `recovery` (see the layout comment for how damage is told from free space). */
  static async open(file: string): Promise<JournalFile> {
    const fh = await fsp.open(file, 'r+');
    let j: JournalFile | null = null;
    try {
      const slots = Buffer.alloc(DATA_START);
      await readFully(fh, slots, 0);
      const a = decodeSlot(slots.subarray(0, SLOT));
      const b = decodeSlot(slots.subarray(SLOT));
      const hdr = a && b ? (a.generation >= b.generation ? a : b) : (a ?? b);
      if (!hdr) throw E.integrity(`journal ${file}: both header slots are corrupt or this is not a journal file`);
      j = new JournalFile(file, fh, hdr, hdr.tail, { records: 0, lastSeq: hdr.lastSeq, stoppedAt: hdr.tail });
      await j.scan();
      // what the scan found is on disk before a header says so (a killed process leaves its
      // appends in the page cache); what the old header knew stays known until it is dealt with
      await fh.datasync();
      const found = j.idx[j.idx.length - 1]?.seq ?? 0;
      j.written = Math.max(found, hdr.releasedSeq);
      j.synced = Math.max(hdr.syncedSeq, j.written);
      j.durable = hdr.durableSeq;
      // a new epoch for this session, durable before any append
      const n = await j.persistHeader({ epoch: j.hdr.epoch + 1 });
      j.takeHeader(n);
      j.hdr.epoch = n.epoch;
      return j;
    } catch (err) {
      await j?.hfh?.close().catch(() => {});
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /** Records the scan found damaged, in file order (also in recovery.damaged). */
  private damaged: JournalDamage[] = [];

  private async scan(): Promise<void> {
    const { capacity, releasedSeq } = this.hdr;
    const known = this.hdr.syncedSeq; // every record up to here was durable: missing is damage
    const reader = new WindowReader(this.fh, this.dataEnd);
    const fileSize = (await this.fh.stat()).size;
    const damaged: JournalDamage[] = [];
    let salvaging = false; // past a damaged record: whole records go to `salvage`, not the index
    let walked = 0; // ring bytes walked while salvaging (at most one lap)
    let pos = this.tail;
    let end = this.tail; // end of the last accepted record
    let prev = releasedSeq;
    let prevEpoch = 0;
    let expectSeq = -1; // seq announced by a wrap marker
    let batchFirst = this.hdr.tailBatchFirst > 0 ? this.hdr.tailBatchFirst : -1; // a batch split by release(); -2: any
    let pending: IndexEntry[] = [];
    let pendingBytes = 0;
    let used = 0;
    const ring = (from: number, to: number) => (to >= from ? to - from : this.dataEnd - from + (to - DATA_START));
    for (;;) {
      if (pos === this.dataEnd) pos = DATA_START;
      const r = await this.examine(reader, fileSize, pos, prev, prevEpoch);
      let bad: string | null = null;
      let seqRead = -1;
      let likeNext = false; // what lies here reads as the next record
      if (r.t === 'end') {
        if (prev >= known) break; // free space after the last record
        bad = `missing (${r.why} where the header slot says records up to seq ${known} were written)`;
      } else if (r.t === 'bad') {
        bad = r.why;
        seqRead = r.seq;
        likeNext = r.next;
      } else {
        seqRead = r.seq;
        likeNext = true;
        if (r.kind === KIND_WRAP) {
          if (expectSeq !== -1 || pos === DATA_START) bad = 'misplaced wrap marker';
          else {
            if (salvaging) walked += this.dataEnd - pos;
            expectSeq = r.seq;
            prevEpoch = r.epoch;
            pos = DATA_START;
            continue;
          }
        } else if (expectSeq !== -1 && r.seq !== expectSeq) bad = 'does not follow its wrap marker';
        else if (batchFirst !== -2 && r.bf !== (batchFirst === -1 ? r.seq : batchFirst)) bad = 'not part of a whole batch';
        else {
          const size = recordSize(r.len);
          const alloc = ring(end === this.dataEnd ? DATA_START : end, pos) + size;
          if (!salvaging && used + pendingBytes + alloc > capacity) bad = 'records exceed the capacity';
          else if (salvaging && (walked += alloc) > capacity) break;
          else {
            const e: IndexEntry = { seq: r.seq, pos, len: r.len, ts: r.ts, bf: r.bf, alloc };
            expectSeq = -1;
            prevEpoch = r.epoch;
            batchFirst = r.bf;
            pending.push(e);
            pendingBytes += alloc;
            end = pos + size;
            prev = r.seq;
            pos = end;
            if (r.batchEnd) {
              if (salvaging) this.salvage.push(...pending);
              else {
                for (const x of pending) { this.idx.push(x); this.bytesPending += x.len; }
                used += pendingBytes;
                this.head = end === this.dataEnd ? DATA_START : end;
              }
              pending = [];
              pendingBytes = 0;
              batchFirst = -1;
            }
            continue;
          }
        }
      }
      // Something that is not the next whole record, and not (known to be) free space: damage,
      // or the records a crash cut short. Look one record further for the chain's continuation.
      const next = await this.lookAhead(reader, fileSize, pos, prev, prevEpoch);
      const certain = prev < known || next !== null;
      if (!certain && !likeNext) break; // e.g. an older record damaged in free space
      // its seq as read when that fits between its neighbours, else the one expected here
      const bound = next ? next.seq - 1 : Math.max(known, this.hdr.lastSeq);
      const seq = seqRead > prev && seqRead <= bound ? seqRead : prev + 1;
      // a batch cut here is lost whole
      const cut = pending.length ? `; the records of its batch from seq ${pending[0]!.seq} are lost with it` : '';
      const d: JournalDamage = { seq, pos, reason: `${bad}${cut}` };
      if (next && next.seq - 1 > seq) d.toSeq = next.seq - 1;
      if (!certain) d.end = true;
      damaged.push(d);
      pending = [];
      pendingBytes = 0;
      if (!next) break;
      // go on after it: what follows is kept for redo() only (nothing before it may be re-applied)
      salvaging = true;
      this.salvage = [];
      walked += ring(pos, next.pos);
      if (walked > capacity) break;
      pos = next.pos;
      prev = next.seq - 1;
      prevEpoch = next.epoch;
      expectSeq = -1;
      batchFirst = -2;
      end = pos;
    }
    if (pending.length > 0) {
      const first = pending[0]!;
      const d: JournalDamage = { seq: first.seq, pos: first.pos, reason: `a batch of ${pending.length} record(s) at the end was not written whole` };
      if (first.seq > known) d.end = true;
      damaged.push(d);
    }
    this.used = used;
    this.damaged = damaged;
    const last = this.idx[this.idx.length - 1];
    // seqs are not given out twice: those of damaged and salvaged records count as used
    let top = Math.max(this.hdr.lastSeq, this.hdr.releasedSeq, known, last?.seq ?? 0, this.salvage[this.salvage.length - 1]?.seq ?? 0);
    for (const d of damaged) top = Math.max(top, d.toSeq ?? d.seq);
    this.hdr.lastSeq = top;
    this.recovery = { records: this.idx.length, lastSeq: this.hdr.lastSeq, stoppedAt: this.head };
    if (damaged.length) {
      this.recovery.reason = damaged.slice(0, 3).map(describeDamage).join('; ') + (damaged.length > 3 ? `; and ${damaged.length - 3} more` : '');
      this.recovery.damaged = damaged;
    }
  }

  /** What lies at `pos` for a scan whose last record is `prev` of epoch `prevEpoch`. */
  private async examine(reader: WindowReader, fileSize: number, pos: number, prev: number, prevEpoch: number): Promise<Examined> {
    if (pos >= fileSize) return { t: 'end', why: `the file ends at ${pos}` }; // a short file ends with free space
    const h = await reader.get(pos, REC_HDR);
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
      const rec = kind === KIND_WRAP ? h : await reader.get(pos, REC_HDR + len);
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
    return { t: 'rec', seq, len, kind, epoch, bf: getU64(h, 24), ts: getU64(h, 32), batchEnd: h.readUInt16LE(70) === 1 };
  }

  /** The whole record that continues the chain after a bad one at `from`: within the longest
   *  record after it, or at the start of the ring (after a wrap). */
  private async lookAhead(reader: WindowReader, fileSize: number, from: number, prev: number, prevEpoch: number): Promise<{ pos: number; seq: number; epoch: number } | null> {
    const limit = Math.min(this.dataEnd, from + recordSize(MAX_RECORD_DATA));
    const at: number[] = [];
    for (let q = from + ALIGN; q < limit; q += ALIGN) at.push(q);
    if (from !== DATA_START) at.push(DATA_START);
    for (const q of at) {
      if (q + REC_HDR > fileSize) continue;
      const r = await this.examine(reader, fileSize, q, prev, prevEpoch);
      if (r.t === 'rec') return { pos: q, seq: r.seq, epoch: r.epoch };
    }
    return null;
  }

  /** Appends a batch of records; all or nothing. Serialised: concurrent calls get contiguous seqs
   *  in call order. Does not fsync. `direct`: around the page cache (O_DIRECT) where the file
   *  system allows it, for a journal whose records are not read back soon (a restore journal). */
  append(entries: JournalAppendEntry[], opts: { direct?: boolean } = {}): Promise<{ firstSeq: number; lastSeq: number }> {
    const p = this.appendQueue.then(() => this.doAppend(entries, opts.direct === true));
    this.appendQueue = p.catch(() => {});
    return p;
  }

  private async doAppend(entries: JournalAppendEntry[], direct: boolean): Promise<{ firstSeq: number; lastSeq: number }> {
    this.assertOpen();
    const firstSeq = entries[0]?.seq ?? this.hdr.lastSeq + 1;
    let seq = this.hdr.lastSeq;
    const seqs: number[] = [];
    for (const e of entries) {
      if (!Buffer.isBuffer(e.data)) throw new InternalError('journal entry data must be a Buffer');
      if (e.data.length > MAX_RECORD_DATA) throw E.badInput(`journal record of ${e.data.length} bytes is over the 4 MiB limit`, 'split the write');
      if (!Number.isSafeInteger(e.offset) || e.offset < 0 || !Number.isInteger(e.volumeId) || e.volumeId < 0 || e.volumeId >= TWO32) {
        throw E.badInput(`journal entry has an invalid volume ${e.volumeId} or offset ${e.offset}`);
      }
      const s = e.seq ?? seq + 1;
      if (!Number.isSafeInteger(s) || s <= seq) {
        throw new RcopyError('ERR_RCOPY_JOURNAL_SEQ', `journal ${this.path}: seq ${s} is not greater than ${seq}`);
      }
      seqs.push((seq = s));
    }
    if (entries.length === 0) return { firstSeq, lastSeq: this.hdr.lastSeq };
    const sizes = entries.map((e) => recordSize(e.data.length));
    const plan = this.plan(sizes);
    if (!plan) {
      const need = sizes.reduce((a, b) => a + b, 0);
      throw new RcopyError('ERR_RCOPY_JOURNAL_FULL', `journal ${this.path} is full: the batch needs ${need} bytes, ${this.hdr.capacity - this.used} of ${this.hdr.capacity} are free`, {
        hint: 'the secondary must pull and restore so the primary can release entries, or the journal needs more capacity',
      });
    }
    // Build the segments: records are contiguous except across a wrap.
    const headers = Buffer.alloc(REC_HDR * entries.length);
    const segments: Segment[] = [];
    let seg: Segment | undefined;
    const now = Date.now();
    const batchFirst = seqs[0]!;
    const newIdx: IndexEntry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const pl = plan.places[i]!;
      const s = seqs[i]!;
      if (pl.wrapAt !== -1) {
        // padded to a whole 512-byte block (the ring's end is at least that far), so a direct
        // write of its segment stays aligned
        const m = Buffer.alloc(ALIGN);
        fillHeader(m, this.hdr.salt, s, 0, 0, 0, pl.wrapAt, 0, 0, 0, KIND_WRAP, false, this.hdr.epoch);
        m.writeUInt32LE(crc32(m.subarray(4, REC_HDR)), 0);
        if (seg && seg.pos + seg.len === pl.wrapAt) seg.bufs.push(m);
        else segments.push({ pos: pl.wrapAt, len: ALIGN, bufs: [m] });
        seg = undefined;
      }
      if (!seg || seg.pos + seg.len !== pl.pos) segments.push((seg = { pos: pl.pos, len: 0, bufs: [] }));
      const h = headers.subarray(i * REC_HDR, (i + 1) * REC_HDR);
      const ts = e.timestamp ?? now;
      fillHeader(h, this.hdr.salt, s, batchFirst, ts, e.offset, pl.pos, e.volumeId, e.data.length, e.flags ?? 0, KIND_DATA, i === entries.length - 1, this.hdr.epoch);
      const pad = sizes[i]! - REC_HDR - e.data.length;
      h.writeUInt32LE(crc32(e.data, crc32(h.subarray(4))), 0);
      if (e.data.length <= 4096) seg.bufs.push(Buffer.concat([h, e.data, ZERO.subarray(0, pad)])); // one buffer, fewer iovecs
      else seg.bufs.push(h, e.data, ZERO.subarray(0, pad)); // header, data and padding in one writev, no copy
      seg.len += sizes[i]!;
      newIdx.push({ seq: s, pos: pl.pos, len: e.data.length, ts, bf: batchFirst, alloc: pl.alloc });
    }
    try {
      const dio = direct ? (this.dio ??= new DirectFile(this.path)) : null;
      await Promise.all(segments.map((sg) => pwriteMaybeDirect(this.fh, dio, sg.bufs, sg.pos)));
    } catch (err) {
      // Part of the batch may be on disk. When this journal numbers its own records, their seqs
      // are never given out again: what is left of the batch then reads as an earlier lap to the
      // recovery scan (seq <= prev) rather than as a torn batch after the records appended next.
      // Records appended with the caller's seqs (a restore journal) keep them: the caller asks
      // for them again, and a restore journal that finds a torn batch simply pulls it again.
      if (entries.every((e) => e.seq === undefined)) this.hdr.lastSeq = Math.max(this.hdr.lastSeq, seqs[seqs.length - 1]!);
      throw err;
    }
    // Commit in memory only once the bytes are written.
    for (const e of newIdx) { this.idx.push(e); this.bytesPending += e.len; }
    this.used += plan.used;
    this.head = plan.head;
    this.hdr.lastSeq = seqs[seqs.length - 1]!;
    this.written = this.hdr.lastSeq;
    return { firstSeq: seqs[0]!, lastSeq: this.hdr.lastSeq };
  }

  /** Where records of these sizes would go, or null when they do not all fit. */
  private plan(sizes: number[]): { places: Placement[]; head: number; used: number } | null {
    let head = this.head;
    let used = this.used;
    const tail = this.tail;
    const places: Placement[] = [];
    for (const s of sizes) {
      let pl: Placement;
      if (head > tail || (head === tail && used === 0)) {
        const endRoom = this.dataEnd - head;
        if (s <= endRoom) pl = { pos: head, wrapAt: -1, alloc: s };
        else if (s <= tail - DATA_START) pl = { pos: DATA_START, wrapAt: head, alloc: endRoom + s };
        else return null;
      } else if (head < tail && s <= tail - head) {
        pl = { pos: head, wrapAt: -1, alloc: s };
      } else {
        return null;
      }
      places.push(pl);
      used += pl.alloc;
      head = pl.pos + s === this.dataEnd ? DATA_START : pl.pos + s;
    }
    return { places, head, used: used - this.used };
  }

  canFit(dataLengths: number[]): boolean {
    if (dataLengths.some((n) => n > MAX_RECORD_DATA)) return false;
    return this.plan(dataLengths.map(recordSize)) !== null;
  }

  /** Makes everything appended before this call durable (fdatasync). */
  async sync(): Promise<void> {
    this.assertOpen();
    await this.appendQueue;
    const upto = this.written;
    await this.fh.datasync();
    if (upto > this.synced) this.synced = upto;
  }

  /** Entries with seq >= fromSeq in order, at most maxEntries and maxBytes of data (default 64 MiB),
   *  but at least one when there is one. Each is checked against its crc; a bad one throws.
   *  `blockCrcs`: a block size; each entry also gets the crc32 of each of its whole blocks, which
   *  check the record too (combined), so a reader that needs them pays for one pass, not two. */
  async read(fromSeq: number, opts: { maxBytes?: number; maxEntries?: number; blockCrcs?: number } = {}): Promise<JournalEntry[]> {
    this.assertOpen();
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_BYTES;
    const maxEntries = opts.maxEntries ?? Infinity;
    const pick: IndexEntry[] = [];
    let bytes = 0;
    for (let i = this.find(fromSeq); i < this.idx.length && pick.length < maxEntries; i++) {
      const e = this.idx[i]!;
      if (pick.length > 0 && bytes + e.len > maxBytes) break;
      pick.push(e);
      bytes += e.len;
    }
    return this.readPicked(pick, opts.blockCrcs ?? 0);
  }

  /** The entries of `pick` (in seq order), read and checked; stops at one released meanwhile. */
  private async readPicked(pick: IndexEntry[], block: number): Promise<JournalEntry[]> {
    // Read runs of records that lie next to each other in the file with one read each.
    const runs: IndexEntry[][] = [];
    for (const e of pick) {
      const run = runs[runs.length - 1];
      const last = run?.[run.length - 1];
      if (run && last && last.pos + recordSize(last.len) === e.pos) run.push(e);
      else runs.push([e]);
    }
    const out = await Promise.all(runs.map((run) => this.readRun(run, block)));
    const result: JournalEntry[] = [];
    for (const part of out) {
      for (const r of part) {
        if (r === null) return result; // released (and possibly overwritten) while we read
        result.push(r);
      }
    }
    return result;
  }

  private async readRun(run: IndexEntry[], block: number): Promise<Array<JournalEntry | null>> {
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const buf = Buffer.allocUnsafe(last.pos + REC_HDR + last.len - first.pos);
    const got = await readFully(this.fh, buf, first.pos);
    return run.map((e) => {
      const at = e.pos - first.pos;
      const r = at + REC_HDR + e.len <= got ? buf.subarray(at, at + REC_HDR + e.len) : null;
      const crcs = block > 0 && e.len >= block ? new Uint32Array(Math.floor(e.len / block)) : undefined;
      const ok = r !== null && r.readUInt32LE(4) === REC_MAGIC && r.subarray(8, 16).equals(this.hdr.salt) &&
        getU64(r, 16) === e.seq && getU64(r, 48) === e.pos && r.readUInt32LE(60) === e.len &&
        r.readUInt16LE(68) === KIND_DATA && (crcs
          ? blockCrcCheck(r, block, crcs)
          : crc32(r.subarray(REC_HDR), crc32(r.subarray(4, REC_HDR))) === r.readUInt32LE(0));
      if (!ok) {
        if (e.seq <= this.hdr.releasedSeq) return null;
        throw E.integrity(`journal ${this.path}: record seq ${e.seq} at offset ${e.pos} is corrupt (crc or header mismatch)`,
          'the journal file was damaged; the entry cannot be used');
      }
      const out: JournalEntry = { seq: e.seq, timestamp: getU64(r, 32), volumeId: r.readUInt32LE(56), offset: getU64(r, 40), data: r.subarray(REC_HDR), flags: r.readUInt32LE(64) };
      if (crcs) out.blockCrcs = crcs;
      return out;
    });
  }

  /** Index position of the first entry with seq >= fromSeq. */
  private find(fromSeq: number): number {
    let lo = this.idxStart;
    let hi = this.idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid]!.seq < fromSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The entries a restart re-applies to the volumes this journal is the write-ahead log of (a
   * master journal's P-VOLs), in order, `maxBytes` of data at a time: those after durableSeq,
   * which may not have reached the volumes, and never one that a later damaged record could
   * overlap (its volume and offset are not to be trusted): with damage before the end, only the
   * whole records found after the last damaged one. Call before the first append.
   */
  async redo(apply: (batch: JournalEntry[]) => Promise<void>, maxBytes = 32 * 1024 * 1024): Promise<number> {
    this.assertOpen();
    const from = Math.max(this.hdr.durableSeq, this.hdr.releasedSeq) + 1;
    const middle = this.damaged.some((d) => !d.end);
    const todo = (middle ? this.salvage : this.idx.slice(this.idxStart)).filter((e) => e.seq >= from);
    let n = 0;
    for (let i = 0; i < todo.length;) {
      const pick: IndexEntry[] = [];
      let bytes = 0;
      for (; i < todo.length && (pick.length === 0 || bytes + todo[i]!.len <= maxBytes); i++) {
        pick.push(todo[i]!);
        bytes += todo[i]!.len;
      }
      const batch = await this.readPicked(pick, 0);
      if (batch.length < pick.length) throw E.integrity(`journal ${this.path}: record seq ${pick[batch.length]!.seq} changed during the redo`);
      await apply(batch);
      n += batch.length;
    }
    return n;
  }

  /** durableSeq of the header: what this journal logs held every entry up to it durably. */
  get durableSeq(): number {
    return Math.max(this.hdr.durableSeq, this.durable);
  }

  /**
   * Called before entries are dropped (release, reset) and at close: a journal used as a
   * write-ahead log makes what it covers durable elsewhere first, and resolves with the seq up to
   * which it did (recorded as durableSeq), or with nothing.
   */
  beforeDrop: ((how: 'release' | 'reset' | 'close') => Promise<number | void>) | null = null;

  private async checkpoint(how: 'release' | 'reset' | 'close'): Promise<void> {
    if (!this.beforeDrop) return;
    const d = await this.beforeDrop(how);
    if (typeof d === 'number' && d > this.durable) this.durable = Math.min(d, this.hdr.lastSeq);
  }

  /** Frees every entry with seq <= uptoSeq. The new tail is durable (header slot + fsync) before
   *  the space can be reused. */
  release(uptoSeq: number): Promise<void> {
    return this.checkpoint('release').then(() => this.releaseNow(uptoSeq));
  }

  private releaseNow(uptoSeq: number): Promise<void> {
    return this.underHeaderLock(async () => {
      this.assertOpen();
      let k = 0;
      let freed = 0;
      let bytes = 0;
      for (let i = this.idxStart; i < this.idx.length && this.idx[i]!.seq <= uptoSeq; i++, k++) {
        freed += this.idx[i]!.alloc;
        bytes += this.idx[i]!.len;
      }
      const released = Math.max(this.hdr.releasedSeq, Math.min(uptoSeq, this.hdr.lastSeq));
      if (k === 0 && released === this.hdr.releasedSeq) return;
      const lastFreed = this.idx[this.idxStart + k - 1];
      let tail = lastFreed ? lastFreed.pos + recordSize(lastFreed.len) : this.tail;
      if (tail === this.dataEnd) tail = DATA_START;
      const next = this.idx[this.idxStart + k];
      const tailBatchFirst = next && next.bf !== next.seq ? next.bf : 0;
      this.takeHeader(await this.persistHeader({ tail, releasedSeq: released, tailBatchFirst }));
      this.used -= freed;
      this.bytesPending -= bytes;
      this.dropFront(k);
    });
  }

  /** Drops every entry; lastSeq is kept so seqs keep increasing. */
  reset(): Promise<void> {
    const p = this.appendQueue.then(() =>
      this.underHeaderLock(async () => {
        this.assertOpen();
        await this.checkpoint('reset');
        this.durable = this.hdr.lastSeq; // nothing is left to re-apply
        this.takeHeader(await this.persistHeader({ tail: this.head, releasedSeq: this.hdr.lastSeq, tailBatchFirst: 0 }));
        this.dropAll();
      }),
    );
    this.appendQueue = p.catch(() => {});
    return p;
  }

  /**
   * Drops every entry and makes `seq` the last one, so the next append may take seq + 1 again:
   * for a journal whose seqs come from elsewhere (a restore journal that found damage pulls the
   * rest again). The record header at the head is erased, so nothing left after it in the file
   * is taken for the next record.
   */
  rewind(seq: number): Promise<void> {
    const p = this.appendQueue.then(() =>
      this.underHeaderLock(async () => {
        this.assertOpen();
        const to = Math.max(seq, this.hdr.releasedSeq);
        await pwriteAll(this.fh, [Buffer.alloc(ALIGN)], this.head);
        await this.fh.datasync();
        this.written = this.synced = this.durable = to;
        this.takeHeader(await this.persistHeader({ tail: this.head, releasedSeq: to, lastSeq: to, tailBatchFirst: 0 }));
        this.hdr.lastSeq = to;
        this.dropAll();
      }),
    );
    this.appendQueue = p.catch(() => {});
    return p;
  }

  private dropAll(): void {
    this.used = 0;
    this.bytesPending = 0;
    this.salvage = [];
    this.damaged = [];
    this.dropFront(this.idx.length - this.idxStart);
  }

  stats(): JournalStats {
    const first = this.idx[this.idxStart];
    const last = this.idx.length > this.idxStart ? this.idx[this.idx.length - 1] : undefined;
    return {
      capacity: this.hdr.capacity,
      used: this.used,
      usedPct: (this.used / this.hdr.capacity) * 100,
      entries: this.idx.length - this.idxStart,
      oldestSeq: first?.seq ?? null,
      newestSeq: last?.seq ?? null,
      lastSeq: this.hdr.lastSeq,
      oldestTimestamp: first?.ts ?? null,
      bytesPending: this.bytesPending,
    };
  }

  /** Closes the journal. A clean close makes everything durable first (the records, and through
   *  beforeDrop what the journal logs) and says so in the header, so the next open re-applies
   *  nothing and knows every record there is. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.appendQueue;
    await this.headerQueue;
    try {
      await this.checkpoint('close');
      await this.appendQueue;
      await this.underHeaderLock(async () => {
        const upto = this.written;
        await this.fh.datasync();
        if (upto > this.synced) this.synced = upto;
        this.takeHeader(await this.persistHeader({}));
      });
    } catch {
      /* the header keeps what it said: the next open re-applies more, and checks less */
    }
    this.closed = true;
    await this.hfh?.close();
    await this.dio?.close();
    await this.fh.close();
  }

  private dropFront(k: number): void {
    this.idxStart += k;
    if (this.idxStart === this.idx.length) {
      this.idx = [];
      this.idxStart = 0;
    } else if (this.idxStart > 4096 && this.idxStart * 2 > this.idx.length) {
      this.idx = this.idx.slice(this.idxStart);
      this.idxStart = 0;
    }
  }

  private underHeaderLock(fn: () => Promise<void>): Promise<void> {
    const p = this.headerQueue.then(fn);
    this.headerQueue = p.catch(() => {});
    return p;
  }

  /** Writes the next generation into the slot that does not hold the current one and fsyncs. The
   *  caller then takes the new values (takeHeader) in the same synchronous step as its other changes,
   *  so an append never sees the new tail with the old usage. */
  private async persistHeader(v: Partial<HeaderState>): Promise<HeaderState> {
    const next: HeaderState = { ...this.hdr, syncedSeq: this.synced, durableSeq: this.durable, ...v, generation: this.hdr.generation + 1 };
    // an O_DSYNC write of the slot alone: durable when it returns, without flushing the data
    // region (an fdatasync would write out every appended record, which a restore journal
    // never needs on disk)
    this.hfh ??= await fsp.open(this.path, fs.constants.O_RDWR | fs.constants.O_DSYNC);
    await pwriteAll(this.hfh, [encodeSlot(next)], (next.generation % 2) * SLOT);
    return next;
  }

  /** The header slots' own handle (O_DSYNC), opened at the first header write. */
  private hfh: fsp.FileHandle | null = null;
  /** The records' O_DIRECT handle, for appends that ask for it. */
  private dio: DirectFile | null = null;

  /** Takes what persistHeader() wrote, but lastSeq and epoch (appends go on meanwhile). */
  private takeHeader(v: HeaderState): void {
    this.hdr.generation = v.generation;
    this.hdr.tail = v.tail;
    this.hdr.releasedSeq = v.releasedSeq;
    this.hdr.tailBatchFirst = v.tailBatchFirst;
    this.hdr.syncedSeq = v.syncedSeq;
    this.hdr.durableSeq = v.durableSeq;
  }

  private assertOpen(): void {
    if (this.closed) throw new InternalError(`journal ${this.path} is used after close()`);
  }
}

interface Segment {
  pos: number;
  len: number;
  bufs: Buffer[];
}

const combineOps = new Map<number, number>();

/** Checks a record's crc from the crcs of its data's whole blocks (filled into `crcs`) and its tail. */
function blockCrcCheck(r: Buffer, block: number, crcs: Uint32Array): boolean {
  let op = combineOps.get(block);
  if (op === undefined) combineOps.set(block, (op = combineOp(block)));
  let c = crc32(r.subarray(4, REC_HDR));
  let at = REC_HDR;
  for (let i = 0; i < crcs.length; i++, at += block) {
    const b = crc32(r.subarray(at, at + block));
    crcs[i] = b;
    c = crc32Combine(c, b, op);
  }
  if (at < r.length) c = crc32(r.subarray(at), c);
  return c === r.readUInt32LE(0);
}

function fillHeader(h: Buffer, salt: Buffer, seq: number, batchFirst: number, ts: number, offset: number, pos: number,
  volumeId: number, len: number, flags: number, kind: number, batchEnd: boolean, epoch: number): void {
  h.writeUInt32LE(REC_MAGIC, 4);
  salt.copy(h, 8);
  putU64(h, 16, seq);
  putU64(h, 24, batchFirst);
  putU64(h, 32, ts);
  putU64(h, 40, offset);
  putU64(h, 48, pos);
  h.writeUInt32LE(volumeId >>> 0, 56);
  h.writeUInt32LE(len, 60);
  h.writeUInt32LE(flags >>> 0, 64);
  h.writeUInt16LE(kind, 68);
  h.writeUInt16LE(batchEnd ? 1 : 0, 70);
  h.writeUInt32LE(epoch, 72);
}

function encodeSlot(h: HeaderState): Buffer {
  const b = Buffer.alloc(SLOT);
  SLOT_MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  putU64(b, 80, h.syncedSeq);
  putU64(b, 88, h.durableSeq);
  b.writeUInt32LE(crc32(b.subarray(80, 96)), 96);
  b.writeUInt32LE(DATA_START, 12);
  h.salt.copy(b, 16);
  putU64(b, 24, h.capacity);
  putU64(b, 32, h.generation);
  putU64(b, 40, h.tail);
  putU64(b, 48, h.releasedSeq);
  putU64(b, 56, h.lastSeq);
  putU64(b, 64, h.tailBatchFirst);
  b.writeUInt32LE(h.epoch, 72);
  b.writeUInt32LE(crc32(b.subarray(0, 76)), 76);
  return b;
}

function decodeSlot(b: Buffer): HeaderState | null {
  const version = b.length >= 100 ? b.readUInt32LE(8) : 0;
  if ((version !== 1 && version !== VERSION) || !b.subarray(0, 8).equals(SLOT_MAGIC) || b.readUInt32LE(12) !== DATA_START) return null;
  if (crc32(b.subarray(0, 76)) !== b.readUInt32LE(76)) return null;
  if (version === 2 && crc32(b.subarray(80, 96)) !== b.readUInt32LE(96)) return null;
  const h: HeaderState = {
    salt: Buffer.from(b.subarray(16, 24)),
    capacity: getU64(b, 24),
    generation: getU64(b, 32),
    tail: getU64(b, 40),
    releasedSeq: getU64(b, 48),
    lastSeq: getU64(b, 56),
    tailBatchFirst: getU64(b, 64),
    epoch: b.readUInt32LE(72),
    // version 1 knew neither: every record is taken as maybe not on the volumes, as it was then
    syncedSeq: version === 2 ? getU64(b, 80) : 0,
    durableSeq: version === 2 ? getU64(b, 88) : 0,
  };
  if (h.syncedSeq < 0 || h.durableSeq < 0 || h.syncedSeq > h.lastSeq || h.durableSeq > h.lastSeq) return null;
  const { capacity, generation, tail, releasedSeq, lastSeq } = h;
  if (h.tailBatchFirst < 0 || h.tailBatchFirst > releasedSeq) return null;
  if (capacity <= 0 || capacity % ALIGN !== 0 || generation < 0 || releasedSeq < 0 || lastSeq < releasedSeq) return null;
  if (tail < DATA_START || tail >= DATA_START + capacity || (tail - DATA_START) % ALIGN !== 0) return null;
  return h;
}

/** One line that names a damaged record: its seq (or seqs), where, and why. */
export function describeDamage(d: JournalDamage): string {
  return `${d.toSeq !== undefined ? `records seq ${d.seq}..${d.toSeq}` : `record seq ${d.seq}`} at ${d.pos}: ${d.reason}${d.end ? ' (at the end: a write torn by a crash, or damage)' : ''}`;
}

async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Sequential reads for the recovery scan through a 4 MiB window, so small records cost no syscall each. */
class WindowReader {
  private buf = Buffer.alloc(0);
  private at = 0;
  constructor(private readonly fh: fsp.FileHandle, private readonly limit: number) {}

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
