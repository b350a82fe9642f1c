/**
 * The secondary's side of journal transfer: one pull loop per restore journal, and restore.
 *
 * A pull asks the primary for entries after the last sequence number held here and carries the
 * last one restored, so the primary can free that space. Pulled entries are appended to the
 * restore journal (durable) first, then applied to the S-VOLs strictly in sequence order across
 * the whole group; the restored seq is recorded after the volumes are durable. After a crash,
 * entries from the recorded restored seq on are applied again, in order (idempotent).
 *
 * Timing is the secondary's choice: fixed (`interval`), or adaptive from what the primary
 * reports: back-to-back while entries are waiting, then backing off from 20 ms to 1 s while the
 * primary's journal is idle (a busy or old journal resets the back-off).
 *
 * References (DESIGN.md §2.4, references/wire.ts): with the group's references on, the primary sends
 * blocks the S-VOLs already hold (or zero blocks) as references. Every entry here is restored
 * before the next pull, so the S-VOLs are what the primary's index assumes; each entry's full data
 * is rebuilt from its segments (reference blocks checked against their SHA-256, stale ones fetched
 * from the primary's master journal) before it goes into the restore journal, so the restore
 * journal always holds full data and restore does not know about references.
 *
 * long: the loop, one pull cycle and the secondary's suspension share the loop's state (read-ahead,
 * counters); restore, reconciliation and counters already live in their own files.
 */
import { E, type RcopyError, storageError, withPath } from '../../errors.js';
import type { Volume } from '../array/volume.js';
import { trackBuffers } from '../util/buffer-pool.js';
import { ReferenceSettings, linkFactsOf } from './references/settings.js';
import { addCounts, emptyCounts, reconstruct, savings, segsWireBytes } from './references/wire.js';
import type { Parts } from './parts.js';
import { PULL_BATCH, Restorer } from './restore.js';
import { Reconciler } from './reconcile.js';
import { KEEP_EVERY_MS, KEPT, newPullStats, restoreKept, type PullStats } from './pull-stats.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { PairFiles } from './pair-files.js';
import type { Links } from './links.js';
import type { PairRow } from './repl-store.js';
import { JOURNALING, PULLING, type PairState } from './pair-state.js';
import type { PrimaryInfo, PullReplyEntry } from './peer.js';

interface PullReply {
  result: { entries: PullReplyEntry[]; info: PrimaryInfo };
  payload: Buffer | null;
}

interface Loop {
  stop: boolean;
  wake: () => void;
  done: Promise<void>;
}

const mapState: Partial<Record<PairState, PairState>> = { PSUS: 'SSUS', PSUE: 'PSUE', PFUS: 'PFUS' };

export class PullManager {
  private loops = new Map<string, Loop>();
  private stats = new Map<string, PullStats>();
  private busy = new Map<string, Promise<unknown>>();
  /** Pairs whose copy is running (the copy manager sets this): the group is not restored meanwhile. */
  /** Applies what is pulled, in order (restore.ts). */
  readonly restorer: Restorer;
  copying: (journal: string) => boolean = () => false;
  /** Told of each pull round that got a reply: its journal and seconds from request to stored (the ops metrics set it). */
  onRound: (journal: string, seconds: number) => void = () => undefined;

  readonly references: ReferenceSettings;
  private readonly reconciler: Reconciler;

  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly journals: Journals;
  private readonly files: PairFiles;
  private readonly links: Links;

  constructor(parts: Pick<Parts, 'site' | 'records' | 'journals' | 'files' | 'links'>) {
    this.site = parts.site;
    this.records = parts.records;
    this.journals = parts.journals;
    this.files = parts.files;
    this.links = parts.links;
    this.references = new ReferenceSettings(parts.records.rs.store, (j) => linkFactsOf(parts, j));
    this.reconciler = new Reconciler(parts);
    this.restorer = new Restorer(parts, (journal, state, reason) => this.suspendSecondary(journal, state, reason));
  }

  stat(journal: string): PullStats {
    let s = this.stats.get(journal);
    if (!s) {
      const row = this.records.rs.journal(journal);
      s = newPullStats(journal, row);
      restoreKept(s, this.records.rs.keptPullCounters(journal)); // what earlier runs of this controller counted
      this.stats.set(journal, s);
    }
    const row = this.records.rs.journal(journal);
    s.enabled = !!row?.pullEnabled;
    s.mode = row?.pullIntervalMs ? 'fixed' : 'adaptive';
    s.intervalMs = row?.pullIntervalMs ?? null;
    s.restoredSeq = row?.restoredSeq ?? 0;
    s.pulledSeq = this.journals.open.get(journal)?.lastSeq ?? 0;
    s.running = this.loops.has(journal);
    s.references = this.references.enabled(journal);
    return s;
  }

  startAll(): void {
    for (const j of this.records.rs.journals()) if (j.role === 'restore' && j.pullEnabled) this.run(j.name);
  }

  /** Starts (or re-times) the pull of a restore journal; persistent across restarts. `refs`
   *  (when given) sets whether the group sends references instead of data. */
  start(journal: string, intervalMs: number | null, refs?: boolean): void {
    const row = this.records.journalRow(journal);
    if (row.role !== 'restore') {
      throw E.state(`journal ${this.site.name}:${journal} is not a restore journal`, 'pull runs on the secondary, on the journal named second in --journal P:J1,S:J2');
    }
    this.records.rs.updateJournal(journal, { pullEnabled: true, pullIntervalMs: intervalMs });
    if (refs !== undefined) this.references.set(journal, refs);
    this.run(journal);
    this.loops.get(journal)?.wake();
  }

  async stop(journal: string, persist = true): Promise<void> {
    if (persist) this.records.rs.updateJournal(journal, { pullEnabled: false });
    const l = this.loops.get(journal);
    if (l) {
      l.stop = true;
      l.wake();
      await l.done;
      this.ahead.delete(journal);
      await this.restorer.settled(journal);
    }
    this.keepCounters(journal, true);
  }

  private keptAt = new Map<string, number>();

  /** Writes a journal's pull counters to the store (at most every KEEP_EVERY_MS unless `now`). */
  private keepCounters(journal: string, now = false): void {
    const s = this.stats.get(journal);
    if (!s || !this.records.rs.journal(journal)) return;
    if (!now && Date.now() - (this.keptAt.get(journal) ?? 0) < KEEP_EVERY_MS) return;
    this.keptAt.set(journal, Date.now());
    const doc: Record<string, number> = { since: s.countingSince };
    for (const k of KEPT) doc[k] = s[k];
    this.records.rs.keepPullCounters(journal, doc);
  }

  /** Forgets a deleted journal's counters (the store drops the kept ones with the journal). */
  forget(journal: string): void {
    this.stats.delete(journal);
    this.keptAt.delete(journal);
  }

  async stopAll(): Promise<void> {
    const looping = [...this.loops.keys()];
    await Promise.all(looping.map((j) => this.stop(j, false)));
    // stop() kept the counters of the loops; those of pulls run once are kept here
    for (const j of this.stats.keys()) if (!looping.includes(j)) this.keepCounters(j, true);
  }

  kick(journal: string): void {
    this.loops.get(journal)?.wake();
  }

  private run(journal: string): void {
    if (this.loops.has(journal)) return;
    let wake: () => void = () => undefined;
    const loop: Loop = { stop: false, wake: () => wake(), done: Promise.resolve() };
    this.loops.set(journal, loop);
    let backoff = 20;
    loop.done = (async () => {
      while (!loop.stop) {
        let waitMs = 1000;
        const s = this.stat(journal);
        try {
          const r = await this.once(journal, { wait: false });
          if (r.skipped) {
            waitMs = 200;
            await this.reconciler.check(journal);
          } else if (s.intervalMs) waitMs = s.intervalMs;
          else if (r.entries > 0 || r.waiting > 0) {
            waitMs = 0;
            backoff = 20;
          } else {
            const busy = r.info && (r.info.usedPct > 50 || (r.info.oldestTimestamp !== null && Date.now() - r.info.oldestTimestamp > 2000));
            backoff = busy ? 20 : Math.min(1000, backoff * 2);
            waitMs = backoff;
          }
        } catch (e) {
          waitMs = Math.min(1000, this.records.journalRow(journal).blockadeWatchMs / 4);
          // (a suspension that cannot be recorded, SQLITE_FULL, must not end the loop)
          await this.onFailure(journal, e as Error).catch((e2: Error) => this.site.log(`${journal}: ${e2.message}`));
        }
        s.nextWaitMs = waitMs;
        if (loop.stop) break;
        if (waitMs > 0)
          await new Promise<void>((res) => {
            const t = setTimeout(res, waitMs);
            wake = () => {
              clearTimeout(t);
              res();
            };
          });
        else await new Promise((res) => setImmediate(res));
      }
      this.loops.delete(journal);
    })();
  }

  private async onFailure(journal: string, e: Error): Promise<void> {
    const s = this.stat(journal);
    s.lastError = `${(e as RcopyError).code ?? 'Error'}: ${e.message}`;
    s.failingSince ??= Date.now();
    const row = this.records.journalRow(journal);
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'S' && JOURNALING.has(p.state) && p.state !== 'COPY');
    if (ps.length && Date.now() - s.failingSince > row.blockadeWatchMs) {
      this.site.log(`pulls of ${journal} failing for more than ${row.blockadeWatchMs} ms (${s.lastError}): suspending (PSUE)`);
      await this.suspendSecondary(journal, 'PSUE', 'link or primary unreachable past the path-blockade watch time');
    }
  }

  /** One pull and restore cycle (serialised per journal). */
  once(journal: string, opts: { wait?: boolean } = {}): Promise<{ entries: number; bytes: number; waiting: number; info: PrimaryInfo | null; skipped?: boolean }> {
    const prev = this.busy.get(journal) ?? Promise.resolve();
    const p = prev.catch(() => undefined).then(() => this.doOnce(journal, opts.wait !== false));
    this.busy.set(
      journal,
      p.catch(() => undefined),
    );
    return p;
  }

  /**
   * One cycle. The fetch of the next batch overlaps the restore of the previous one; the batch is
   * rebuilt (references read from the S-VOLs) only after that restore has finished, because the
   * primary resolves references as of the seq the pull starts after. With `wait`, the cycle also
   * waits for its own restore (pull once, drains, sync groups).
   */
  // long: one pull cycle, each await followed by the check that the group's state is still the one
  // it decided on (still()); split into functions, those checks would hide between them
  private async doOnce(journal: string, wait: boolean): Promise<{ entries: number; bytes: number; waiting: number; info: PrimaryInfo | null; skipped?: boolean }> {
    const row = this.records.journalRow(journal);
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'S');
    // every decision below is checked against the group's state as it is after each await: a
    // reply that arrives after a suspension, takeover or revert must not undo it
    const ep = this.records.epoch(journal);
    const still = (): boolean => this.records.epoch(journal) === ep && this.records.groupPairs(journal).some((p) => p.role === 'S' && PULLING.has(p.state));
    // restore what is already here even if nothing can be pulled (runs while we fetch)
    const before = this.restorer.catchUp(journal, this.journals.journal(journal).lastSeq);
    const quit = async <T extends { skipped?: boolean }>(v: T): Promise<T> => {
      await before;
      await this.restorer.dropImages(journal);
      // pulls that are not tried do not fail: a blockade watch starts afresh with the next failure
      if (v.skipped) this.stat(journal).failingSince = null;
      return v;
    };
    if (!ps.length || !row.peerArray || !row.peerJournal) return quit({ entries: 0, bytes: 0, waiting: 0, info: null, skipped: true });
    if (ps.some((p) => p.state === 'COPY') || this.copying(journal)) return quit({ entries: 0, bytes: 0, waiting: 0, info: null, skipped: true });
    if (!ps.some((p) => JOURNALING.has(p.state))) return quit({ entries: 0, bytes: 0, waiting: 0, info: null, skipped: true });
    const s = this.stat(journal);
    const jf = this.journals.journal(journal);
    let t0 = performance.now();
    const peer = await this.links.peer(row.peerArray);
    const refs = this.references.enabled(journal);
    const peerArray = row.peerArray;
    const ask = (after: number): Promise<PullReply> =>
      peer.call<PullReply['result']>(
        'repl.pull',
        { journal: row.peerJournal, after, restored: this.records.journalRow(journal).restoredSeq, maxBytes: PULL_BATCH, from: this.site.name, refs },
        { timeoutMs: 120_000 },
      );
    // the request sent ahead by the previous cycle, if it asked for what comes next
    const pre = this.ahead.get(journal);
    this.ahead.delete(journal);
    let replyP: Promise<PullReply>;
    if (pre && pre.after === jf.lastSeq && pre.peerArray === peerArray && pre.refs === refs) {
      replyP = pre.reply;
      t0 = pre.t0;
    } else replyP = ask(jf.lastSeq);
    const reply = await replyP;
    const payload = reply.payload ?? Buffer.alloc(0);
    const { entries, info } = reply.result;
    const sync = ps.some((p) => p.mode === 'sync');
    if (!wait && !sync && entries.length && info.lastSeq > entries[entries.length - 1]!.seq) {
      // more is waiting: ask for it now, so that its transfer overlaps storing and restoring
      // this batch (the reply is used only if this batch gets appended whole)
      const after = entries[entries.length - 1]!.seq;
      const next = { after, peerArray, refs, t0: performance.now(), reply: ask(after) };
      next.reply.catch(() => undefined);
      this.ahead.set(journal, next);
    }
    // the S-VOLs hold everything up to `after` before references are read from them; a batch
    // that reads nothing from them is stored while the previous one is restored (two writes at once)
    if (wait || sync || !entries.length || entries.some((e) => e.segs?.some((sg) => sg[0] === 2))) {
      await before;
      await this.restorer.dropImages(journal);
    }
    if (!still()) {
      this.ahead.delete(journal);
      return quit({ entries: 0, bytes: 0, waiting: 0, info, skipped: true });
    }
    let refWire = 0;
    for (const e of entries) if (e.segs) refWire += segsWireBytes(e.segs);
    await this.links.shaper(row.peerArray).transfer(payload.length + refWire, t0);
    s.failingSince = null;
    s.lastError = null;
    s.primary = info;
    s.lastPullAt = Date.now();
    s.pulls++;
    if (entries.length) {
      const volByRemote = new Map<string, Volume>();
      for (const p of ps) volByRemote.set(p.remoteVol, this.site.array.volume(p.localVol));
      // full data first (references copied from the S-VOLs and checked), then the restore journal
      const counts = emptyCounts();
      counts.referenceWireBytes = refWire;
      const peerJournal = row.peerJournal;
      const datas = await reconstruct(
        entries,
        payload,
        {
          readVol: async (vol, off, len) => {
            const v = volByRemote.get(vol);
            return v ? v.read(off, len) : null;
          },
          fetch: async (seq, off, len) => {
            const r = await peer.call('repl.readEntryData', { journal: peerJournal, seq, offset: off, length: len }, { timeoutMs: 120_000 });
            const data = r.payload ?? Buffer.alloc(0);
            await this.links.shaper(row.peerArray!).transfer(data.length);
            return data;
          },
        },
        counts,
      );
      if (counts.staleReferences) this.site.log(`pull of ${journal}: ${counts.staleReferences} stale reference block(s) fetched as data`);
      const batch = [];
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        const v = volByRemote.get(e.vol);
        // an entry of a volume not paired here (or an empty one) keeps its place in the sequence
        if (v === undefined || e.len === 0) batch.push({ seq: e.seq, timestamp: e.ts, volumeId: 0, offset: 0, data: Buffer.alloc(0) });
        else batch.push({ seq: e.seq, timestamp: e.ts, volumeId: v.id, offset: e.off, data: datas[i]!, dataCrc: crcOf(e, datas[i]!) });
      }
      // Not fsynced on purpose: the primary keeps every entry until this side reports it
      // restored, so after a crash the part of the restore journal that did not survive is
      // pulled again (the next pull asks after the last whole record found by recovery).
      // Written around the page cache: it is read back only by a recovery.
      await this.restorer.room(journal);
      if (!still()) {
        this.ahead.delete(journal);
        return quit({ entries: 0, bytes: 0, waiting: 0, info, skipped: true });
      }
      try {
        if (batch.length) await jf.append(batch, { direct: true });
      } catch (e) {
        // the restore journal cannot take the batch (a full disk under a sparse journal): the
        // group suspends at once with the reason, as a restore that cannot write does
        if (!storageError(e)) throw e;
        this.ahead.delete(journal);
        await this.restorer.restoreFailed(journal, withPath(e, this.journals.journalPath(journal)));
        return quit({ entries: 0, bytes: 0, waiting: 0, info, skipped: true });
      }
      s.entries += entries.length;
      s.bytes += payload.length;
      addCounts(s, counts);
      Object.assign(s, savings(s));
      const el = (performance.now() - t0) / 1000;
      if (el > 0) s.bytesPerSecond = Math.round(0.7 * s.bytesPerSecond + 0.3 * (counts.logicalBytes / el));
      // appended: what a suspension meanwhile restores is a consistent prefix either way
      const restoring = still() ? this.restorer.chainRestore(journal, batch) : Promise.resolve(0);
      // the batch's data (views of the payload) is on the restore journal and, once this restore
      // has ended, on the S-VOLs or no longer wanted: the payload goes back to the pool for the next reply
      const giveBack = (): void => trackBuffers.give(payload);
      restoring.then(giveBack, giveBack);
      if (wait || sync) await restoring;
      else restoring.catch(() => undefined);
      if (sync) {
        peer.call('repl.ack', { journal: row.peerJournal, restored: this.records.journalRow(journal).restoredSeq }).catch(() => undefined);
      }
    }
    this.onRound(journal, (performance.now() - t0) / 1000);
    this.keepCounters(journal);
    // the primary suspended the group (split, journal full, its own blockade): mirror it once drained
    const remote = Object.entries(info.states);
    const lastPulled = entries.length ? entries[entries.length - 1]!.seq : jf.lastSeq;
    const drained = lastPulled >= info.lastSeq || info.entries === 0;
    for (const [id, st] of remote) {
      const p = this.records.rs.pair(id);
      const to = mapState[st];
      if (p && p.role === 'S' && p.localJournal === journal && to && PULLING.has(p.state) && drained && still()) {
        const split = st === 'PSUS';
        await this.suspendSecondary(journal, to, split ? 'split on the primary' : st === 'PFUS' ? 'journal full on the primary' : 'suspended by the primary', { from: PULLING });
        break;
      }
    }
    return { entries: entries.length, bytes: payload.length, waiting: entries.length ? Math.max(0, info.lastSeq - lastPulled) : 0, info };
  }

  /** A pull request sent ahead of its cycle (see doOnce). */
  private ahead = new Map<string, { after: number; peerArray: string; refs: boolean; t0: number; reply: Promise<PullReply> }>();

  /** Pulls and restores until the restored seq reaches `upto` (or the primary has nothing more). */
  async drain(journal: string, upto: number, timeoutMs: number): Promise<boolean> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (this.records.journalRow(journal).restoredSeq >= upto) return true;
      const r = await this.once(journal);
      if (r.skipped) return this.records.journalRow(journal).restoredSeq >= upto;
      if (r.entries === 0 && r.info && r.info.lastSeq <= this.records.journalRow(journal).restoredSeq) return true;
      if (r.entries === 0 && r.info && r.info.entries === 0) return true;
    }
    return false;
  }

  /**
   * S side: suspends the group (every S pair of it in `from`, default all, in one transaction).
   * Everything already in the restore journal is applied first (it is a consistent prefix), so
   * the S-VOL holds the image of this moment; a pull in flight is dropped (epoch).
   */
  async suspendSecondary(journal: string, state: PairState, reason: string, opts: { writable?: boolean; from?: ReadonlySet<PairState> } = {}): Promise<void> {
    this.records.bump(journal);
    this.ahead.delete(journal);
    await this.restorer.dropImages(journal);
    await this.restorer.chainRestore(journal).catch((e) => {
      this.site.log(`restore before suspension failed: ${(e as Error).message}`);
      if (storageError(e)?.code === 'ERR_RCOPY_NO_SPACE') this.site.array.useReserve(); // room to record the state
    });
    await this.restorer.dropImages(journal);
    const now = Date.now();
    const moving = this.records.groupPairs(journal).filter((p) => p.role === 'S' && (!opts.from || opts.from.has(p.state)));
    if (!moving.length) return;
    this.records.setGroupState(moving, state, reason, (p) => {
      const patch: Partial<PairRow> = { writable: opts.writable ?? (state === 'SSWS' ? true : p.writable) };
      if (p.imageTime === null || !this.files.hasImage(p)) patch.imageTime = now;
      return patch;
    });
    this.stat(journal).failingSince = null;
  }
}

/** The primary's crc32 of an entry's data when it sent a valid one for all of it, else none (the
 *  restore journal then computes it). A wrong one is found when the record is read back. */
function crcOf(e: PullReplyEntry, data: Buffer): number | undefined {
  return typeof e.crc === 'number' && Number.isInteger(e.crc) && e.crc >= 0 && e.crc < 2 ** 32 && data.length === e.len ? e.crc : undefined;
}
