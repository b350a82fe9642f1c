/**
 * P side: suspending a journal group (split, journal full, link down, a failed write) and the
 * watches that lead to it: the high-water mark (PFUL), the data-overflow watch (PFUS) and the
 * path-blockade watch (PSUE). A suspension folds every entry still in the master journal into the
 * differential bitmaps, so nothing unsent is lost: the tracks are resynchronised later.
 */
import { JOURNALING, type PairState } from './pair-state.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { Links } from './links.js';
import type { PairFiles } from './pair-files.js';
import type { PullServer } from './pull-serve.js';
import type { SyncWaiters } from './sync-waiters.js';

export const HIGH_WATER = 0.8;

export class PrimarySuspension {
  /** P side: when the master journal went over the high-water mark. */
  private overSince = new Map<string, number>();
  /** Set by the controller: tells the secondary of a suspension here (best effort, not awaited). */
  onPrimarySuspended: (p: PairRow, state: PairState, reason: string) => void = () => undefined;

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly journals: Journals,
    private readonly files: PairFiles,
    private readonly links: Links,
    private readonly waiters: SyncWaiters,
    private readonly serve: PullServer,
  ) {}

  /** A write left a master journal `pct` full: past the high-water mark, the watch starts. */
  crossed(journal: string, pct: number): void {
    if (pct >= HIGH_WATER && !this.overSince.has(journal)) this.overMark(journal, pct);
  }

  /** A master journal is over its high-water mark: the data-overflow watch starts, its pairs go PFUL. */
  overMark(journal: string, pct: number): void {
    this.overSince.set(journal, Date.now());
    this.site.log(`warning: journal ${journal} is ${(pct * 100).toFixed(0)}% full (PFUL)`);
    for (const q of this.records.groupPairs(journal)) if (q.state === 'PAIR') this.records.setState(q, 'PFUL', 'journal over 80%');
  }

  /**
   * Folds every entry of a journal into the differential bitmaps of the pairs whose volumes they
   * touch, then empties the journal. Nothing is dropped: the tracks are resynchronised later.
   */
  async foldJournal(journal: string): Promise<number> {
    const j = this.journals.journal(journal);
    const byVol = new Map<number, PairRow>();
    for (const p of this.records.groupPairs(journal)) {
      const v = this.site.array.volumes.get(p.localVol);
      if (v) byVol.set(v.id, p);
    }
    let folded = 0;
    let from = j.stats().oldestSeq;
    if (from !== null) {
      const touched = new Map<string, Set<number>>();
      for (;;) {
        const batch = await j.read(from, { maxBytes: 64 * 1024 * 1024 });
        if (!batch.length) break;
        for (const e of batch) {
          const p = byVol.get(e.volumeId);
          if (!p || e.data.length === 0) continue;
          const ts = this.site.array.trackSize;
          const s = touched.get(p.id) ?? new Set<number>();
          for (let t = Math.floor(e.offset / ts); t <= Math.floor((e.offset + e.data.length - 1) / ts); t++) s.add(t);
          touched.set(p.id, s);
          folded++;
        }
        from = batch[batch.length - 1]!.seq + 1;
      }
      for (const [id, s] of touched) await (await this.files.bitmap(this.records.pair(id))).setAndPersist([...s]);
    }
    await j.reset();
    this.serve.forgetReadAhead(journal);
    return folded;
  }

  /** P side: suspend a master journal's group (all its pairs in one transaction). Caller holds
   *  the array's write lock. The secondary is told at once (unless it asked for it). */
  async suspendPrimaryLocked(journal: string, state: 'PSUS' | 'PSUE' | 'PFUS', reason: string, opts: { keepEntries?: boolean; quiet?: boolean } = {}): Promise<void> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P');
    const moving = ps.filter((p) => p.state !== state);
    if (moving.length) this.records.setGroupState(moving, state, reason, { splitSeq: opts.keepEntries ? this.journals.journal(journal).lastSeq : null });
    if (!opts.keepEntries) {
      const n = await this.foldJournal(journal);
      if (n) this.site.log(`folded ${n} journal entries of ${journal} into the differential bitmaps`);
    }
    this.overSince.delete(journal);
    this.waiters.releaseWaiters(journal, 0, true);
    if (moving.length && !opts.quiet && ps[0]) this.onPrimarySuspended(ps[0], state, reason);
  }

  suspendPrimary(journal: string, state: 'PSUS' | 'PSUE' | 'PFUS', reason: string, opts: { keepEntries?: boolean; quiet?: boolean } = {}): Promise<void> {
    return this.site.array.locked(() => this.suspendPrimaryLocked(journal, state, reason, opts));
  }

  /** P side: after a planned split has drained, fold what is left and empty the journal. */
  async finishSplit(journal: string): Promise<void> {
    await this.site.array.locked(async () => {
      await this.foldJournal(journal);
      for (const p of this.records.groupPairs(journal)) if (p.splitSeq !== null) this.records.rs.updatePair(p.id, { splitSeq: null });
      this.records.invalidate();
    });
  }

  /**
   * Runs every half second: the high-water mark and data-overflow watch on master journals, and
   * the path-blockade watch on the primary side (a link that stays down suspends with PSUE).
   */
  async watch(): Promise<void> {
    for (const row of this.records.rs.journals()) {
      if (row.role !== 'master') continue;
      const ps = this.records.groupPairs(row.name).filter((p) => p.role === 'P');
      if (!ps.length) continue;
      const j = this.journals.open.get(row.name);
      if (!j) continue;
      const pct = j.stats().usedPct / 100;
      // over the mark with no watch running: a controller restarted (the time over the mark is
      // not kept), or the journal filled without a write crossing the mark here; watch from now
      if (pct >= HIGH_WATER && !this.overSince.has(row.name) && ps.some((p) => p.state === 'PAIR' || p.state === 'PFUL')) this.overMark(row.name, pct);
      const since = this.overSince.get(row.name);
      if (pct < HIGH_WATER) {
        // PFUL is stored: a pair marked before a restart returns to PAIR too
        this.overSince.delete(row.name);
        for (const p of ps) if (p.state === 'PFUL') this.records.setState(p, 'PAIR', 'journal below 80%');
      } else if (since !== undefined && Date.now() - since > row.overflowWatchMs && ps.some((p) => JOURNALING.has(p.state))) {
        this.site.log(`journal ${row.name} stayed over 80% for ${row.overflowWatchMs} ms: suspending (PFUS)`);
        await this.suspendPrimary(row.name, 'PFUS', 'journal over 80% past the data-overflow watch time');
      }
      const peer = ps[0]!.remoteArray;
      const link = this.links.linkOf(peer);
      if (!link.up && Date.now() - link.changed > row.blockadeWatchMs && ps.some((p) => JOURNALING.has(p.state) || p.state === 'PSUS')) {
        this.site.log(`link to ${peer} down for more than ${row.blockadeWatchMs} ms: suspending ${row.name} (PSUE)`);
        await this.suspendPrimary(row.name, 'PSUE', 'link down past the path-blockade watch time');
      }
    }
  }
}
