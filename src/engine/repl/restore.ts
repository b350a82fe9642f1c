/**
 * The secondary's restore: entries pulled into the restore journal are applied to the S-VOLs
 * strictly in sequence order across the whole journal group, one batch at a time, then committed,
 * then the restored seq is recorded. After a crash, entries from the recorded restored seq on are
 * applied again, in order (idempotent). While a resync's copy is not yet passed (splitSeq), a
 * restore first saves each track's old content into the consistent image, so a revert stays exact.
 */
import { storageError } from '../../errors.js';
import { recordRestored } from './consistency-time.js';
import type { VolumeWrite } from '../array/write-path.js';
import type { JournalEntry } from '../journal/journal-file.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { Links } from './links.js';
import type { PairFiles } from './pair-files.js';
import { JOURNALING, PULLING, type PairState } from './pair-state.js';
import type { Parts } from './parts.js';
import type { Site } from './site.js';

/** The most a pull asks for at once, and the most a restore applies in one batch. */
export const PULL_BATCH = 16 * 1024 * 1024;

export class Restorer {
  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly journals: Journals;
  private readonly files: PairFiles;
  private readonly links: Links;

  constructor(
    parts: Pick<Parts, 'site' | 'records' | 'journals' | 'files' | 'links'>,
    /** Suspends the secondary's group (PullManager.suspendSecondary): a restore that cannot write. */
    private readonly suspend: (journal: string, state: PairState, reason: string) => Promise<void>,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.journals = parts.journals;
    this.files = parts.files;
    this.links = parts.links;
  }

  private restores = new Map<string, Promise<number>>();

  /**
   * Run before each batch's volume writes, once its writes are known: a running drill keeps the
   * tracks the batch overwrites (engine/drill/drills.ts). A hook must not throw for its own
   * trouble (the restore would stop): it ends its own work instead.
   */
  readonly beforeBatch: Array<(journal: string, writes: ReadonlyArray<VolumeWrite>) => Promise<void>> = [];

  /**
   * Queues a restore of the journal after any running one (restores never run side by side).
   * `pulled` is the batch just appended to the restore journal: when it is next in order, it is
   * applied from memory instead of being read back.
   */
  chainRestore(journal: string, pulled?: JournalEntry[]): Promise<number> {
    const prev = this.restores.get(journal) ?? Promise.resolve(0);
    const p = prev.catch(() => 0).then(() => this.restore(journal, pulled));
    this.restores.set(journal, p);
    this.beforeTail.set(journal, prev);
    this.running.add(journal);
    if (pulled?.length) this.queuedTo.set(journal, Math.max(this.queuedTo.get(journal) ?? 0, pulled[pulled.length - 1]!.seq));
    const settle = (): void => {
      if (this.restores.get(journal) === p) this.running.delete(journal);
    };
    p.then(settle, settle);
    p.catch((e) => this.restoreFailed(journal, e)); // callers that do not wait still get the group suspended
    return p;
  }

  /** The restore the newest one waits for. */
  private beforeTail = new Map<string, Promise<number>>();

  /** Resolves once at most one restore of the journal is pending (the newest): a pull that stores
   *  its batch while the previous one is restored keeps no more than two batches in memory. */
  async room(journal: string): Promise<void> {
    await this.beforeTail.get(journal)?.catch(() => 0);
  }

  /** Journals whose restore chain has not settled yet. */
  private running = new Set<string>();
  /** The last seq of any pulled batch queued for restore (each such batch is applied from memory). */
  private queuedTo = new Map<string, number>();

  /**
   * What a pull cycle waits for before it rebuilds references from the S-VOLs: the restore chain
   * already running when it covers everything in the restore journal (`lastSeq`), else a new
   * restore of what is there. So a batch appended while the previous one is being restored is
   * applied from memory by its own restore, not read back by one queued before it was appended.
   */
  catchUp(journal: string, lastSeq: number): Promise<number> {
    const tail = this.restores.get(journal);
    if (tail && this.running.has(journal) && lastSeq <= (this.queuedTo.get(journal) ?? 0)) return tail;
    return this.chainRestore(journal);
  }

  private failing = new Set<string>();

  /**
   * A restore that cannot write (ENOSPC or EIO on an S-VOL) suspends the group at once (PSUE, the
   * reason named) and tells the primary, instead of waiting for the primary's journal to fill.
   * The entries stay in the restore journal: every pull cycle retries them (chainRestore in doOnce),
   * so once there is space the S-VOL is whole again at the last entry pulled.
   */
  async restoreFailed(journal: string, e: unknown): Promise<void> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'S' && JOURNALING.has(p.state));
    if (!ps.length || this.failing.has(journal)) return; // suspendSecondary restores first: no recursion
    this.failing.add(journal);
    try {
      const why = `restore failed: ${storageError(e, { array: this.site.name })?.message ?? (e as Error)?.message ?? String(e)}`;
      this.site.log(`${journal}: ${why}: suspending (PSUE)`);
      // room to record the suspension on the full disk (the array's reserve)
      await this.site.array.recordOnFullDisk(e, () => this.suspend(journal, 'PSUE', why));
      const row = this.records.journalRow(journal);
      if (row.peerArray && row.peerJournal) {
        const peer = await this.links.peer(row.peerArray);
        await peer.call('repl.primarySuspend', { journal: row.peerJournal, state: 'PSUE', reason: `secondary ${why}` }, { timeoutMs: 10_000 });
      }
    } catch (err) {
      this.site.log(`${journal}: suspension after the failed restore: ${(err as Error).message}`);
    } finally {
      this.failing.delete(journal);
    }
  }

  /** Waits for the group's running restore (a pull loop stops). */
  async settled(journal: string): Promise<void> {
    await this.restores.get(journal)?.catch(() => 0);
  }

  /**
   * Applies the restore journal's entries after the restored seq, in order, to the S-VOLs: one
   * batch at a time, its writes side by side (overlapping ones in order), then one commit, then
   * the restored seq.
   */
  private async restore(journal: string, pulled?: JournalEntry[]): Promise<number> {
    const jf = this.journals.journal(journal);
    let applied = 0;
    // entries restored before a crash that came between recording the restored seq and freeing
    // them would otherwise stay in the restore journal for good (never drained)
    const done = this.records.journalRow(journal).restoredSeq;
    const oldest = jf.stats().oldestSeq;
    if (oldest !== null && oldest <= done) await jf.release(Math.min(done, jf.lastSeq));
    for (;;) {
      if (!this.restorable(journal)) break;
      const restored = this.records.journalRow(journal).restoredSeq;
      const fromMemory = !!pulled?.length && pulled[0]!.seq === restored + 1;
      const batch = fromMemory ? pulled! : await jf.read(restored + 1, { maxBytes: PULL_BATCH });
      if (!batch.length) break;
      const writes: VolumeWrite[] = [];
      for (const e of batch) if (e.data.length) writes.push({ vol: this.site.array.volumeById(e.volumeId), offset: e.offset, data: e.data });
      await this.keepImage(journal, writes);
      for (const f of this.beforeBatch) await f(journal, writes);
      await this.site.array.writeMany(writes, 'restore');
      await this.site.array.commit();
      const last = batch[batch.length - 1]!.seq;
      recordRestored(this.records.rs, journal, last, batch[batch.length - 1]!.timestamp);
      this.site.fault('restored-before-release');
      await jf.release(last);
      applied += batch.length;
      // what was appended after the pulled batch has its own restore queued (catchUp), which
      // applies it from memory: reading it back here would only race that one
      if (fromMemory || (pulled?.length && last >= pulled[pulled.length - 1]!.seq)) break;
    }
    return applied;
  }

  /**
   * Whether entries already in the restore journal may be applied now. They are a consistent
   * prefix, so they go on in journal mode and also while the group is suspended without a
   * writable S-VOL (a restore that failed for lack of space finishes once there is room, so the
   * S-VOLs never stay at a half-applied batch). Never onto a writable S-VOL (takeover, split
   * --rw), never during a copy, and never while a revert holds the group.
   */
  private restorable(journal: string): boolean {
    if (this.held.has(journal)) return false;
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'S');
    return ps.length > 0 && ps.every((p) => !p.writable && (PULLING.has(p.state) || p.state === 'PSUE' || p.state === 'PFUS' || p.state === 'SSUS'));
  }

  private held = new Set<string>();

  /** Runs fn with the group's restores stopped (the running one finished first): a revert. */
  async hold<T>(journal: string, fn: () => Promise<T>): Promise<T> {
    this.held.add(journal);
    try {
      await this.restores.get(journal)?.catch(() => 0);
      return await fn();
    } finally {
      this.held.delete(journal);
    }
  }

  /**
   * Between a resync's switch to PAIR and the restore passing the copy's end (splitSeq), the
   * S-VOLs are not yet consistent and the kept image is still the group's consistent image: a
   * restore saves each track's old content in it first and marks the track in this side's bitmap,
   * so a revert stays exact and the next resync knows every track that differs.
   */
  private async keepImage(journal: string, writes: VolumeWrite[]): Promise<void> {
    const keeping = this.records.groupPairs(journal).filter((p) => p.role === 'S' && p.splitSeq !== null && this.files.hasImage(p));
    if (!keeping.length || !writes.length) return;
    for (const p of keeping) {
      const vol = this.site.array.volume(p.localVol);
      const tracks = new Set<number>();
      for (const w of writes) {
        if (w.vol !== vol || w.data.length === 0) continue;
        for (let t = Math.floor(w.offset / vol.trackSize); t <= Math.floor((w.offset + w.data.length - 1) / vol.trackSize); t++) tracks.add(t);
      }
      if (!tracks.size) continue;
      const list = [...tracks];
      await (await this.files.bitmap(p)).setAndPersist(list);
      await (await this.files.keeper(p)).save(vol, list);
    }
  }

  /**
   * Drops the kept images of pairs whose resync has been restored past the copy's end: the S-VOLs
   * are consistent again, at a newer point. The image file goes first (no revert to it can start
   * after that), then the tracks the resync kept in this side's bitmap, then the record.
   */
  async dropImages(journal: string): Promise<void> {
    const restored = this.records.journalRow(journal).restoredSeq;
    for (const p of this.records.groupPairs(journal)) {
      if (p.role === 'S' && p.splitSeq !== null && restored >= p.splitSeq && p.state !== 'COPY') {
        await this.site.delay('drop-image');
        await this.files.dropImage(p);
        const b = await this.files.bitmap(p);
        b.clearAll();
        await b.flush();
        this.records.rs.updatePair(p.id, { splitSeq: null, imageTime: null });
        this.records.invalidate();
      }
    }
  }
}
