/**
 * A journal volume (layout.ts states its byte layout and invariants): the JournalFile owns the file
 * and its handles, and serialises what changes it: appends (append.ts encodes a batch), syncs,
 * releases, resets and header writes. create.ts makes the file, recovery.ts rebuilds the index at
 * open, read.ts reads records back, space.ts keeps the index of live records and the ring's
 * accounting.
 *
 * long: the JournalFile is the journal's one API; what can live apart already does (see above).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { E, InternalError } from '../../errors.js';
import { DirectFile, pwriteAll, pwriteMaybeDirect, readFully } from '../util/file-io.js';
import { Writeback } from '../util/writeback.js';
import { encodeBatch } from './append.js';
import { createJournalFile, removeCreateLeftovers } from './create.js';
import { ALIGN, DATA_START, DEFAULT_READ_BYTES, type HeaderState, type JournalAppendEntry, type JournalEntry, MAX_RECORD_DATA, SLOT, TWO32, decodeSlot, encodeSlot, recordSize } from './layout.js';
import { type RecordSource, readEntries } from './read.js';
import { type JournalDamage, type JournalRecovery, scanRecords } from './recovery.js';
import { type IndexEntry, RecordIndex, planPlacement } from './space.js';

export { DEFAULT_READ_BYTES, MAX_RECORD_DATA, recordSize, type JournalAppendEntry, type JournalEntry } from './layout.js';
export { describeDamage, type JournalDamage, type JournalRecovery } from './recovery.js';

export interface JournalStats {
  capacity: number;
  used: number;
  usedPct: number;
  entries: number;
  oldestSeq: number | null;
  newestSeq: number | null;
  lastSeq: number;
  oldestTimestamp: number | null;
  /** Host time (ms) of the newest entry held, or null when empty. */
  newestTimestamp: number | null;
  bytesPending: number;
}

export class JournalFile {
  /** What open() found; for a journal made by create(), an empty scan. */
  recovery: JournalRecovery;
  private index = new RecordIndex();
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
  /** Records the scan found damaged, in file order (also in recovery.damaged). */
  private damaged: JournalDamage[] = [];
  /** The header slots' own handle (O_DSYNC), opened at the first header write. */
  private hfh: fsp.FileHandle | null = null;
  /** The records' O_DIRECT handle, for appends that ask for it. */
  private dio: DirectFile | null = null;
  /** Starts the disk on buffered appends as they come (writeback.ts), ahead of the next sync; the owner enables it. */
  readonly writeback: Writeback;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private hdr: HeaderState,
    private head: number,
    recovery: JournalRecovery,
  ) {
    this.recovery = recovery;
    this.writeback = new Writeback(fh);
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
   *  and with ERR_RCOPY_NO_SPACE when the file system has not that much free space (create.ts). */
  static async create(file: string, capacity: number, opts: { preallocate?: boolean } = {}): Promise<JournalFile> {
    const { fh, hdr } = await createJournalFile(file, capacity, opts);
    return new JournalFile(file, fh, hdr, DATA_START, { records: 0, lastSeq: 0, stoppedAt: DATA_START });
  }

  /** Removes what interrupted creates left in `dir` (temporary files of other processes). */
  static removeLeftovers(dir: string): Promise<string[]> {
    return removeCreateLeftovers(dir);
  }

  /** Opens a journal and recovers its records: scans from the tail while records are whole, carry
   *  this journal's salt and increasing seqs; a bad or torn record ends the index there and is
   *  named in `recovery` (see recovery.ts for how damage is told from free space). */
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
      const found = await scanRecords(fh, hdr);
      j.index = new RecordIndex(found.idx, found.used);
      j.head = found.head;
      j.salvage = found.salvage;
      j.index.noteVolumes(found.salvage);
      j.damaged = found.damaged;
      j.hdr.lastSeq = found.lastSeq;
      j.recovery = found.recovery;
      // what the scan found is on disk before a header says so (a killed process leaves its
      // appends in the page cache); what the old header knew stays known until it is dealt with
      await fh.datasync();
      j.written = Math.max(j.index.last()?.seq ?? 0, hdr.releasedSeq);
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
    const seqs = this.checkBatch(entries);
    if (entries.length === 0) return { firstSeq, lastSeq: this.hdr.lastSeq };
    const sizes = entries.map((e) => recordSize(e.data.length));
    const plan = this.plan(sizes);
    if (!plan) {
      const need = sizes.reduce((a, b) => a + b, 0);
      throw E.journalFull(
        `journal ${this.path} is full: the batch needs ${need} bytes, ${this.hdr.capacity - this.index.used} of ${this.hdr.capacity} are free`,
        'the secondary must pull and restore so the primary can release entries, or the journal needs more capacity',
      );
    }
    const { segments, newIdx } = encodeBatch(entries, seqs, sizes, plan.places, { salt: this.hdr.salt, epoch: this.hdr.epoch });
    try {
      const dio = direct ? (this.dio ??= new DirectFile(this.path)) : null;
      await Promise.all(segments.map((sg) => pwriteMaybeDirect(this.fh, dio, sg.bufs, sg.pos)));
      if (!dio) this.writeback.wrote(plan.used);
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
    this.index.push(newIdx);
    this.index.used += plan.used;
    this.head = plan.head;
    this.hdr.lastSeq = seqs[seqs.length - 1]!;
    this.written = this.hdr.lastSeq;
    return { firstSeq: seqs[0]!, lastSeq: this.hdr.lastSeq };
  }

  /** The seqs of a batch to append (the caller's, or the next ones); refuses an entry that
   *  cannot be a record. */
  private checkBatch(entries: JournalAppendEntry[]): number[] {
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
        throw E.journalSeq(`journal ${this.path}: seq ${s} is not greater than ${seq}`);
      }
      seqs.push((seq = s));
    }
    return seqs;
  }

  /** Where records of these sizes would go, or null when they do not all fit. */
  private plan(sizes: number[]): ReturnType<typeof planPlacement> {
    return planPlacement({ head: this.head, tail: this.tail, used: this.index.used, dataEnd: this.dataEnd }, sizes);
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
    await this.writeback.datasync();
    if (upto > this.synced) this.synced = upto;
  }

  /** Entries with seq >= fromSeq in order, at most maxEntries and maxBytes of data (default 64 MiB),
   *  but at least one when there is one. Each is checked against its crc; a bad one throws.
   *  `blockCrcs`: a block size; each entry also gets the crc32 of each of its whole blocks, which
   *  check the record too (combined), so a reader that needs them pays for one pass, not two. */
  async read(fromSeq: number, opts: { maxBytes?: number; maxEntries?: number; blockCrcs?: number; dataCrc?: boolean; alloc?: (n: number) => Buffer } = {}): Promise<JournalEntry[]> {
    this.assertOpen();
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_BYTES;
    const maxEntries = opts.maxEntries ?? Infinity;
    const pick: IndexEntry[] = [];
    let bytes = 0;
    for (const e of this.index.from(fromSeq)) {
      if (pick.length >= maxEntries) break;
      if (pick.length > 0 && bytes + e.len > maxBytes) break;
      pick.push(e);
      bytes += e.len;
    }
    return this.readPicked(pick, opts.blockCrcs ?? 0, opts.dataCrc, opts.alloc);
  }

  /** What the records from `fromSeq` on wrote, [volume id, byte offset, length] in seq order, from
   *  the index (no data is read): what a reference index must forget (references/index-keeper.ts). */
  touched(fromSeq: number): Array<[number, number, number]> {
    this.assertOpen();
    const out: Array<[number, number, number]> = [];
    for (const e of this.index.from(fromSeq)) out.push([e.vol, e.off, e.len]);
    return out;
  }

  /** The entries of `pick` (in seq order), read and checked; stops at one released meanwhile. */
  private readPicked(pick: IndexEntry[], block: number, dataCrc = false, alloc?: (n: number) => Buffer): Promise<JournalEntry[]> {
    return readEntries(this.source, pick, block, dataCrc, alloc);
  }

  /** What reading records back needs (read.ts). */
  private readonly source: RecordSource = {
    fh: () => this.fh,
    path: () => this.path,
    salt: () => this.hdr.salt,
    releasedSeq: () => this.hdr.releasedSeq,
  };

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
    const todo = (middle ? this.salvage : this.index.live()).filter((e) => e.seq >= from);
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

  /** Whether a restart would re-apply (redo) a record that wrote to volume `volumeId`. */
  redoPending(volumeId: number): boolean {
    return this.index.lastSeqOf(volumeId) > this.durableSeq;
  }

  /**
   * Records in the header that what this journal logs holds every entry up to `upto` durably (the
   * caller made it so: the volumes were fsynced after those writes landed), so a restart
   * re-applies none of them. For a volume about to take a write this journal does not log.
   */
  markDurable(upto: number): Promise<void> {
    return this.underHeaderLock(async () => {
      this.assertOpen();
      const d = Math.min(upto, this.hdr.lastSeq);
      if (d <= this.durableSeq) return;
      // in memory only once the header says so: a failed write leaves the guard armed
      this.takeHeader(await this.persistHeader({ durableSeq: d }));
      this.durable = d;
    });
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
      const { k, freed, bytes, lastFreed, next } = this.index.releasable(uptoSeq);
      const released = Math.max(this.hdr.releasedSeq, Math.min(uptoSeq, this.hdr.lastSeq));
      if (k === 0 && released === this.hdr.releasedSeq) return;
      let tail = lastFreed ? lastFreed.pos + recordSize(lastFreed.len) : this.tail;
      if (tail === this.dataEnd) tail = DATA_START;
      const tailBatchFirst = next && next.bf !== next.seq ? next.bf : 0;
      this.takeHeader(await this.persistHeader({ tail, releasedSeq: released, tailBatchFirst }));
      this.index.release(k, freed, bytes);
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
        await this.writeback.datasync();
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
    this.index.clear();
    this.salvage = [];
    this.damaged = [];
  }

  stats(): JournalStats {
    const first = this.index.first();
    const last = this.index.last();
    const used = this.index.used;
    return {
      capacity: this.hdr.capacity,
      used,
      usedPct: (used / this.hdr.capacity) * 100,
      entries: this.index.count,
      oldestSeq: first?.seq ?? null,
      newestSeq: last?.seq ?? null,
      lastSeq: this.hdr.lastSeq,
      oldestTimestamp: first?.ts ?? null,
      newestTimestamp: last?.ts ?? null,
      bytesPending: this.index.bytesPending,
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
        await this.writeback.datasync();
        if (upto > this.synced) this.synced = upto;
        this.takeHeader(await this.persistHeader({}));
      });
    } catch {
      /* the header keeps what it said: the next open re-applies more, and checks less */
    }
    this.closed = true;
    await this.writeback.idle();
    await this.hfh?.close();
    await this.dio?.close();
    await this.fh.close();
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
