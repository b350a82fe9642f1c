/**
 * Initial copy and resync, run by the receiving side (role S) of a pair in COPY: the copy tasks,
 * one per pair, retried while the peer fails and until the path-blockade watch time.
 *
 * Initial copy: every allocated track of the P-VOL. Resync: the union of both sides'
 * differential bitmaps. One run of a copy is a TrackCopy (track-copy.ts); during a resync each
 * track's old content is first saved in the consistent image, so the S-VOL can be reverted until
 * the group's resync completes. Meanwhile host writes on the primary are journaled; the pull
 * applies them after the copy. A copy killed half way starts over from the maps. A pair whose data
 * is all here is marked `copied`, and its group switches to PAIR as one (group-switch.ts).
 * Every copy and resync reports logical, data, reference and equal bytes (statsOf).
 */
import { E, type RcopyError, storageError } from '../../errors.js';
import type { ReferenceSettings } from './references/settings.js';
import { savings } from './references/wire.js';
import type { PairRow } from './repl-store.js';
import type { Parts } from './parts.js';
import { GroupSwitch } from './group-switch.js';
import { newCopyStats, type CopyStats } from './copy-stats.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import { TrackCopy } from './track-copy.js';

export class CopyManager {
  private tasks = new Map<string, { abort: boolean; done: Promise<void> }>();
  private stats = new Map<string, CopyStats>();
  /** Per journal group: references on/off for the resync that `pair resync` started. */
  private override = new Map<string, boolean>();
  /** Ends a group's copy as one (group-switch.ts). */
  readonly groupSwitch: GroupSwitch;

  private readonly site: Site;
  private readonly records: GroupRecords;

  constructor(
    private readonly parts: Pick<Parts, 'site' | 'records' | 'files' | 'links'>,
    /** The journal groups' references setting (the pull manager's: one owner). */
    readonly references: ReferenceSettings,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.groupSwitch = new GroupSwitch(parts, (id) => this.statsOf(id));
  }

  /** The counters of the pair's running copy, or of its last finished one (kept across restarts). */
  statsOf(id: string): CopyStats | null {
    return this.stats.get(id) ?? this.records.rs.keptCopyStats<CopyStats>(id);
  }

  /** Sets whether the next resync of a group compares hashes and sends references (undefined: the group's setting). */
  setReferences(journal: string, refs: boolean | undefined): void {
    if (refs === undefined) this.override.delete(journal);
    else this.override.set(journal, refs);
  }

  private newStats(p: PairRow, refs: boolean, bytes: number): CopyStats {
    const st = newCopyStats(p.id, p.resyncing ? 'resync' : 'initial', refs, bytes, this.site.array.trackSize);
    this.stats.set(p.id, st);
    return st;
  }

  running(id: string): boolean {
    return this.tasks.has(id);
  }

  groupCopying(journal: string): boolean {
    return this.records.groupPairs(journal).some((p) => this.tasks.has(p.id));
  }

  /** Starts the initial copies that should run and do not (after a restart: they start over).
   *  A resync cut short is never resumed by itself: its group waits in PSUE (takeover.ts, recoverAfterRestart). */
  startPending(): void {
    for (const p of this.records.pairs()) if (p.role === 'S' && p.state === 'COPY' && !p.resyncing && !this.tasks.has(p.id)) this.start(p.id);
  }

  start(id: string): void {
    if (this.tasks.has(id)) return;
    const t = { abort: false, done: Promise.resolve() };
    this.tasks.set(id, t);
    t.done = this.runWithRetry(id, t)
      .catch((e: unknown) => this.site.log(`copy of ${id} stopped without recording its state: ${(e as Error).message}`))
      .finally(() => {
        this.tasks.delete(id);
        const p = this.records.rs.pair(id);
        if (p && !this.groupCopying(p.localJournal)) this.override.delete(p.localJournal);
      });
  }

  async abort(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t) return;
    t.abort = true;
    await t.done;
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.tasks.keys()].map((id) => this.abort(id)));
  }

  /** A deleted pair's counters go with it. */
  forget(id: string): void {
    this.stats.delete(id);
  }

  private async runWithRetry(id: string, t: { abort: boolean }): Promise<void> {
    let failingSince: number | null = null;
    while (!t.abort) {
      const p = this.records.rs.pair(id);
      if (!p || p.role !== 'S' || p.state !== 'COPY') return;
      try {
        // a pair whose data is all here (copied) only waits for its group to switch
        if (p.copied) await this.groupSwitch.finishGroup(p.localJournal);
        else await this.run(p, t);
        return;
      } catch (e) {
        if (t.abort) return;
        // a local ENOSPC/EIO is kind 'failed' (PSUE now), named with its file; only peer errors retry
        const err = (storageError(e, { array: this.site.name }) ?? e) as RcopyError;
        failingSince ??= Date.now();
        const watch = this.records.journalRow(p.localJournal).blockadeWatchMs;
        this.site.log(`copy of ${id} failed: ${err.code ?? ''} ${err.message}`);
        const cur = this.records.rs.pair(id);
        if (!cur || cur.state !== 'COPY') return; // the group left COPY meanwhile (revert, suspension)
        if (err.kind !== 'peer' || Date.now() - failingSince > watch) {
          // a copy never stays in COPY because its end could not be written (array/reserve.ts)
          await this.site.array.recordOnFullDisk(err, () => this.groupSwitch.failGroup(cur, p.resyncing ? `resync interrupted: ${err.message}` : `initial copy interrupted: ${err.message}`));
          return;
        }
        await new Promise((res) => setTimeout(res, Math.min(1000, watch / 4)));
      }
    }
  }

  private async run(p: PairRow, t: { abort: boolean }): Promise<void> {
    const refs = p.resyncing && (this.override.get(p.localJournal) ?? this.references.enabled(p.localJournal));
    const st = await new TrackCopy(this.parts, p, t, refs, (q, r, bytes) => this.newStats(q, r, bytes)).run();
    st.phase = 'done';
    st.finishedAt = Date.now();
    Object.assign(st, savings(st));
    this.records.rs.keepCopyStats(p.id, st);
    // this pair's data is all here, durably: marked so (a restart or retry does not copy again);
    // the group switches once every pair of it is copied
    const cur = this.records.rs.pair(p.id);
    if (t.abort || !cur || cur.state !== 'COPY') throw E.aborted(`pair left COPY (${cur?.state ?? 'deleted'})`);
    this.records.rs.updatePair(p.id, { copied: true });
    this.records.invalidate();
    this.site.fault('copied-before-switch');
    await this.groupSwitch.finishGroup(p.localJournal);
  }
}
