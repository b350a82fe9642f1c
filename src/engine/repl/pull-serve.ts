/**
 * P side of a pull: the primary only answers. A pull asks for the entries after a seq and reports
 * what the secondary restored, which frees that part of the master journal (after the P-VOLs are
 * durable: the journal is their write-ahead log). The next batch is read ahead while this one
 * travels. With references on, blocks the secondary already holds travel as references.
 */
import { E } from '../../errors.js';
import { type JournalFile, type JournalEntry } from '../journal/journal-file.js';
import { trackBuffers } from '../util/buffer-pool.js';
import { ReferenceIndexes } from './references/index-keeper.js';
import { BLOCK } from './references/wire.js';
import type { PairState } from './pair-state.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { Links } from './links.js';
import type { SyncWaiters } from './sync-waiters.js';
import type { PrimaryInfo, PullReplyEntry } from './peer.js';

export class PullServer {
  /** P side: what each master journal's secondary holds, for references instead of data (kept across restarts). */
  readonly refIndexes: ReferenceIndexes;
  /** P side: last time a secondary pulled from a master journal. */
  readonly lastPulled = new Map<string, number>();
  private ahead = new Map<string, { after: number; maxBytes: number; blockCrcs: number; entries: Promise<JournalEntry[]> }>();
  private releasing = new Map<string, Promise<void>>();

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly journals: Journals,
    private readonly links: Links,
    private readonly waiters: SyncWaiters,
    /** The first seq whose volume write has not ended (WriteHook): never served. */
    private readonly firstUnwritten: (journal: string) => number | undefined,
  ) {
    this.refIndexes = new ReferenceIndexes(site);
  }

  /** Forgets a batch read ahead (the journal was folded or reset). */
  forgetReadAhead(journal: string): void {
    this.ahead.delete(journal);
  }

  /** Waits for the releases under way (the controller stops). */
  async settle(): Promise<void> {
    await Promise.all(this.releasing.values());
    await this.refIndexes.settle();
  }

  /**
   * Answers a pull: entries after `after`, and frees what the secondary restored. With `refs`, an
   * entry's blocks that the secondary already holds travel as references (references/content-index.ts).
   * The reply's `written` gives the batch's read buffers back to the pool once the socket is done with them.
   */
  async servePull(
    journal: string,
    after: number,
    restored: number,
    maxBytes: number,
    from: string,
    refs = false,
  ): Promise<{ entries: PullReplyEntry[]; payload: Buffer[]; info: PrimaryInfo; written: () => void }> {
    const row = this.records.journalRow(journal);
    if (row.role !== 'master') throw E.state(`journal ${this.site.name}:${journal} is not a master journal`, 'pull from the journal that the P-VOLs use');
    await this.site.delay('serve-pull'); // the states this reply reports are read after it
    this.links.checkLink(from);
    this.lastPulled.set(journal, Date.now());
    const j = this.journals.journal(journal);
    this.releaseInBackground(journal, restored);
    this.waiters.releaseWaiters(journal, restored);
    // with references, the read also gives each block's crc32 (the fingerprints' first half)
    let entries = await this.readAhead(journal, j, after, maxBytes, refs ? BLOCK : 0);
    // never a record whose volume write has not ended (see unwritten)
    const stop = this.firstUnwritten(journal);
    if (stop !== undefined && entries.length && entries[entries.length - 1]!.seq >= stop) {
      entries = entries.filter((e) => e.seq < stop);
      this.ahead.delete(journal);
    }
    const names = new Map<number, string>();
    for (const v of this.site.array.volumes.values()) names.set(v.id, v.name);
    if (refs) {
      const idx = await this.refIndexes.forPull(journal, j, after, this.records.groupPairs(journal));
      const enc = idx.encode(entries, names);
      withCrcs(enc.entries, entries);
      this.refIndexes.afterPull(journal, idx, entries.length);
      return { entries: enc.entries, payload: enc.payload, info: this.primaryInfo(journal), written: () => giveBack(entries) };
    }
    this.refIndexes.forget(journal);
    const meta: PullReplyEntry[] = [];
    const bufs: Buffer[] = [];
    for (const e of entries) {
      meta.push({ seq: e.seq, ts: e.timestamp, vol: names.get(e.volumeId) ?? `#${e.volumeId}`, off: e.offset, len: e.data.length, crc: e.dataCrc });
      bufs.push(e.data);
    }
    // the entries' data go out back to back as they are (no joined copy of the batch)
    return { entries: meta, payload: bufs, info: this.primaryInfo(journal), written: () => giveBack(entries) };
  }

  /**
   * The entries a pull asks for, and the read of the batch after them started at once, so that the
   * disk read of the next batch overlaps the transfer and restore of this one. A batch read ahead
   * is used only if it is still in the journal (seqs never repeat: a reset or release shows as an
   * oldest seq beyond it).
   */
  async readAhead(journal: string, j: JournalFile, after: number, maxBytes: number, blockCrcs: number): Promise<JournalEntry[]> {
    const pre = this.ahead.get(journal);
    this.ahead.delete(journal);
    let entries: JournalEntry[] | null = null;
    if (pre && pre.after === after && pre.maxBytes === maxBytes && pre.blockCrcs === blockCrcs) {
      const got = await pre.entries.catch(() => null);
      const oldest = j.stats().oldestSeq;
      if (got && got.length && oldest !== null && oldest <= got[0]!.seq) entries = got;
    }
    entries ??= await j.read(after + 1, { maxBytes, blockCrcs, dataCrc: true, alloc: pooled });
    if (entries.length) {
      const next = entries[entries.length - 1]!.seq;
      if (next < j.lastSeq) {
        const p = j.read(next + 1, { maxBytes, blockCrcs, dataCrc: true, alloc: pooled });
        p.catch(() => undefined);
        this.ahead.set(journal, { after: next, maxBytes, blockCrcs, entries: p });
      }
    }
    return entries;
  }

  /**
   * Frees what the secondary restored. Not awaited by the pull: it first makes the P-VOLs durable
   * (the journal is their write-ahead log), which can take a while, and the pull need not wait.
   * Releases of one journal run one after the other.
   */
  releaseInBackground(journal: string, restored: number): void {
    const prev = this.releasing.get(journal) ?? Promise.resolve();
    const next = prev
      .then(async () => {
        const j = this.journals.open.get(journal);
        if (!j) return;
        const oldest = j.stats().oldestSeq;
        if (restored > 0 && oldest !== null && restored >= oldest) await j.release(Math.min(restored, j.lastSeq));
      })
      .catch((e: Error) => this.site.log(`release of ${journal} up to ${restored} failed: ${e.message}`));
    this.releasing.set(journal, next);
  }

  /** The data of one entry still in a master journal (a secondary repairing a stale reference). */
  async readEntryData(journal: string, seq: number, offset: number, length: number): Promise<Buffer> {
    if (this.records.journalRow(journal).role !== 'master') throw E.state(`journal ${this.site.name}:${journal} is not a master journal`, 'ask the journal that the P-VOLs use');
    const [e] = await this.journals.journal(journal).read(seq, { maxEntries: 1 });
    if (!e || e.seq !== seq) throw E.peer(`entry ${seq} is no longer in journal ${this.site.name}:${journal}`, 'pull again: the group was suspended or the entry released');
    if (offset + length > e.data.length) throw E.peer(`entry ${seq} of ${this.site.name}:${journal} has ${e.data.length} bytes, not ${offset + length}`);
    return Buffer.from(e.data.subarray(offset, offset + length));
  }

  primaryInfo(journal: string): PrimaryInfo {
    const st = this.journals.journal(journal).stats();
    const states: Record<string, PairState> = {};
    for (const p of this.records.groupPairs(journal)) states[p.id] = p.state;
    return { lastSeq: st.lastSeq, entries: st.entries, usedPct: st.usedPct, oldestTimestamp: st.oldestTimestamp, bytesPending: st.bytesPending, states };
  }

  ack(journal: string, restored: number): void {
    this.waiters.releaseWaiters(journal, restored);
  }
}

/** Journal reads of a pull go into the pool's buffers (a fresh 16 MiB buffer per pull is work for
 *  the garbage collector on the data path: buffer-pool.ts). */
const pooled = (n: number): Buffer => trackBuffers.take(n);

/** Gives a served batch's read buffers back (each run of records was read into one; the pool
 *  ignores a buffer it did not make and one it holds already). */
function giveBack(entries: JournalEntry[]): void {
  for (const e of entries) trackBuffers.give(Buffer.from(e.data.buffer, 0, e.data.buffer.byteLength));
}

/** Each reply entry gets the crc32 of its entry's data (the secondary's restore journal combines
 *  its record's crc from it instead of reading the data once more). */
function withCrcs(out: PullReplyEntry[], entries: JournalEntry[]): void {
  for (let i = 0; i < out.length; i++) {
    const e = entries[i];
    if (e && e.seq === out[i]!.seq && e.data.length === out[i]!.len) out[i]!.crc = e.dataCrc;
  }
}
