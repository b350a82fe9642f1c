/**
 * Initial copy and resync, run by the receiving side (role S) of a pair in COPY.
 *
 * Initial copy: every allocated track of the P-VOL. Resync: the union of both sides'
 * differential bitmaps. Tracks are read from the primary in groups of runs of up to 4 MiB per
 * request, four requests in flight, shaped by the link, and written side by side (writeMany).
 * During a resync each track's old content is first saved in the consistent image
 * (copy-on-write, in waves of 64 MiB with one fsync each), so the S-VOL can be reverted until the
 * resync completes; the save runs while the first requests to the primary are under way, and no
 * track is written before the whole image is durable. Meanwhile host writes on the primary are
 * journaled; the pull applies them after the copy. A copy killed half way starts over from the
 * maps (bitmaps are cleared only at the end).
 *
 * A resync with references (DESIGN.md §2.4, dedup-resync.ts) hashes the S-VOL's changed tracks
 * (from the reads of the image save) and asks the primary for its hashes of the same tracks, per
 * group of runs, every group's request sent from the start (four at a time): equal tracks are
 * skipped, zero tracks written as zeros, tracks the S-VOL holds at another changed track copied
 * locally (checked against the hash; a stale one is read from the primary), the rest read as data.
 * Every copy and resync reports logical, data, reference and equal bytes (statsOf).
 */
import { RcopyError, storageError } from '../../errors.js';
import { mapAhead } from '../parallel.js';
import { TrackBitmap } from '../bitmap.js';
import { TrackIndex, trackHash } from './references/track-hashes.js';
import { ReferenceSettings } from './references/settings.js';
import { savings } from './references/wire.js';
import type { PairRow } from './repl-store.js';
import type { Parts } from './parts.js';
import { GroupSwitch } from './group-switch.js';
import { newCopyStats, type CopyStats } from './copy-stats.js';
import { copyGroupWithReferences, primaryHashes } from './references/resync-copy.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { PairFiles } from './pair-files.js';
import type { Links } from './links.js';

const RUN_BYTES = 4 * 1024 * 1024;
const DEPTH = 4;
/** With references: the tracks whose hashes one request asks the primary for. */
const HASH_GROUP_BYTES = 4 * 1024 * 1024;


export class CopyManager {
  private tasks = new Map<string, { abort: boolean; done: Promise<void> }>();
  private stats = new Map<string, CopyStats>();
  /** Per journal group: references on/off for the resync that `pair resync` started. */
  private override = new Map<string, boolean>();
  readonly references: ReferenceSettings;
  /** Ends a group's copy as one (group-switch.ts). */
  readonly groupSwitch: GroupSwitch;

  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly files: PairFiles;
  private readonly links: Links;

  constructor(parts: Pick<Parts, 'site' | 'records' | 'files' | 'links'>) {
    this.site = parts.site;
    this.records = parts.records;
    this.files = parts.files;
    this.links = parts.links;
    this.references = new ReferenceSettings(parts.records.rs.store);
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
   *  A resync cut short is never resumed by itself: its group waits in PSUE (pair-ops). */
  startPending(): void {
    for (const p of this.records.pairs()) if (p.role === 'S' && p.state === 'COPY' && !p.resyncing && !this.tasks.has(p.id)) this.start(p.id);
  }

  start(id: string): void {
    if (this.tasks.has(id)) return;
    const t = { abort: false, done: Promise.resolve() };
    this.tasks.set(id, t);
    t.done = this.runWithRetry(id, t).finally(() => {
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
          if (err.code === 'ERR_RCOPY_NO_SPACE') this.site.array.useReserve(); // room to record the PSUE
          await this.groupSwitch.failGroup(cur, p.resyncing ? `resync interrupted: ${err.message}` : `initial copy interrupted: ${err.message}`);
          return;
        }
        await new Promise((res) => setTimeout(res, Math.min(1000, watch / 4)));
      }
    }
  }

  private async run(p: PairRow, t: { abort: boolean }): Promise<void> {
    const vol = this.site.array.volume(p.localVol);
    const peer = await this.links.peer(p.remoteArray);
    let todo: TrackBitmap;
    if (p.resyncing) {
      const reply = await peer.call('repl.diffMap', { pair: p.id });
      todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
      todo.or(await this.files.bitmap(p));
    } else {
      const reply = await peer.call('repl.allocMap', { volume: p.remoteVol });
      todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
    }
    // every track this copy may write is kept in this side's bitmap (durably, before the first
    // write) until the S-VOL is consistent again: whatever cuts the copy short, a revert or the
    // next resync still knows them, even if the primary has cleared its own bitmap by then
    const mine = await this.files.bitmap(p);
    mine.or(todo);
    await mine.flush();
    const total = todo.count();
    this.records.rs.updatePair(p.id, { copyDone: 0, copyTotal: total });
    const keeper = p.resyncing ? await this.files.keeper(p) : null;
    const refs = p.resyncing && (this.override.get(p.localJournal) ?? this.references.enabled(p.localJournal));
    // references: what the S-VOL's changed tracks hold now (hashed here, nothing on the link);
    // the tracks saved in the image below are hashed from the data read for the save
    const index = refs ? new TrackIndex() : null;
    const seen = index ? (t: number, d: Buffer) => index.set(t, trackHash(d)) : undefined;
    // The consistent image first, in waves of 64 MiB (one fsync each): `saved` once it is all
    // durable. With references, `indexed` once the hashes of the S-VOL's changed tracks are known
    // (from the reads of the last wave, before its write; tracks saved by an earlier run are read
    // again). This runs while the workers below already fetch from the primary (track data or its
    // hashes): a worker waits for `indexed` before it compares hashes and for `saved` before it
    // writes to the S-VOL, so the save, the comparison and the transfer overlap.
    let lastRead: () => void = () => undefined;
    const allRead = new Promise<void>((res) => (lastRead = res));
    const saved = (async (): Promise<void> => {
      if (keeper) {
        const tracks: number[] = [];
        for (const [a, b] of todo.runs()) for (let x = a; x <= b; x++) if (!keeper.has(x)) tracks.push(x);
        const perWave = Math.max(1, Math.floor((64 * 1024 * 1024) / vol.trackSize));
        for (let w = 0; w < tracks.length; w += perWave) {
          const last = w + perWave >= tracks.length;
          await keeper.save(vol, tracks.slice(w, w + perWave), { seen, read: last ? lastRead : undefined });
        }
      }
      lastRead();
    })();
    const indexed = (async (): Promise<void> => {
      await Promise.race([allRead, saved]);
      if (index) await TrackIndex.build(vol, [...todo.runs()], index);
    })();
    const ready = Promise.all([saved, indexed]).then(() => undefined);
    ready.catch(() => undefined); // awaited by the workers (and below when there are none)
    const ts = vol.trackSize;
    const perRun = Math.max(1, Math.floor(RUN_BYTES / ts));
    const pieces: Array<[number, number]> = [];
    for (const [a, b] of todo.runs()) for (let s = a; s <= b; s += perRun) pieces.push([s, Math.min(b, s + perRun - 1)]);
    const st = this.newStats(p, refs, total * ts);
    const hashGroup = Math.max(1, Math.floor(HASH_GROUP_BYTES / ts));
    void indexed.then(() => {
      st.phase = 'copying';
    }, () => undefined);
    let next = 0;
    let done = 0;
    let lastSave = performance.now();
    const shaper = () => this.links.shaper(p.remoteArray);
    const readTracks = async (off: number, len: number): Promise<Buffer> => {
      const t0 = performance.now();
      const reply = await peer.call('repl.readTracks', { volume: p.remoteVol, offset: off, length: len }, { timeoutMs: 120_000 });
      const data = reply.payload ?? Buffer.alloc(0);
      if (data.length !== len) throw new RcopyError('ERR_RCOPY_PEER', `short track read from ${p.remoteArray} (${data.length} of ${len})`, { kind: 'peer' });
      await shaper().transfer(len, t0);
      st.dataBytes += len;
      return data;
    };
    // several runs in one request (a 1% change is mostly single tracks: one request each would
    // cost a round trip per track)
    const readRuns = async (runs: Array<[number, number]>): Promise<Buffer[]> => {
      if (runs.length === 1) return [await readTracks(runs[0]![0], runs[0]![1])];
      const t0 = performance.now();
      const reply = await peer.call('repl.readRuns', { volume: p.remoteVol, runs }, { timeoutMs: 120_000 });
      const data = reply.payload ?? Buffer.alloc(0);
      const want = runs.reduce((n, r) => n + r[1], 0);
      if (data.length !== want) throw new RcopyError('ERR_RCOPY_PEER', `short track read from ${p.remoteArray} (${data.length} of ${want})`, { kind: 'peer' });
      await shaper().transfer(want, t0);
      st.dataBytes += want;
      const out: Buffer[] = [];
      let at = 0;
      for (const [, len] of runs) {
        out.push(data.subarray(at, at + len));
        at += len;
      }
      return out;
    };
    const progress = async (tracks: number): Promise<void> => {
      done += tracks;
      // progress only: a copy that dies starts over from the maps, and the one commit that
      // matters is the one before the primary is told the copy is done
      if (performance.now() - lastSave > 250) {
        lastSave = performance.now();
        this.records.rs.updatePair(p.id, { copyDone: done });
      }
    };
    /** The next pieces, together at most `limit` tracks (at least one piece); n: their tracks. */
    const takeGroup = (limit: number): { group: Array<[number, number]>; n: number } => {
      const group: Array<[number, number]> = [];
      let n = 0;
      while (next < pieces.length && (group.length === 0 || n + pieces[next]![1] - pieces[next]![0] + 1 <= limit)) {
        const pc = pieces[next++]!;
        group.push(pc);
        n += pc[1] - pc[0] + 1;
      }
      return { group, n };
    };
    // with references: the groups of runs, and the primary's hashes of each, asked for from the
    // start (four requests at a time) so that they arrive while the image is saved; a worker then
    // waits only for the hashes of its own group
    const hashed: Array<{ group: Array<[number, number]>; n: number }> = [];
    if (index) while (next < pieces.length) hashed.push(takeGroup(hashGroup));
    const hashesOf = mapAhead(hashed.length, DEPTH, async (g) => {
      if (t.abort) throw new RcopyError('ERR_RCOPY_ABORTED', 'copy stopped', { kind: 'failed' });
      return primaryHashes(this.links, p, peer, vol, hashed[g]!.group, st);
    });
    let nextHashed = 0;
    // checked again after every await and right before anything is written to the S-VOL: a
    // revert or suspension may have happened while this worker waited for the primary
    const live = (): void => {
      if (t.abort) throw new RcopyError('ERR_RCOPY_ABORTED', 'copy stopped', { kind: 'failed' });
      const cur = this.records.rs.pair(p.id);
      if (!cur || cur.state !== 'COPY') throw new RcopyError('ERR_RCOPY_ABORTED', `pair left COPY (${cur?.state ?? 'deleted'})`, { kind: 'failed' });
    };
    const worker = async (): Promise<void> => {
      while (index ? nextHashed < hashed.length : next < pieces.length) {
        live();
        this.links.checkLink(p.remoteArray);
        if (index) {
          const g = nextHashed++;
          const hashes = await hashesOf[g]!;
          await indexed;
          await copyGroupWithReferences(this.site.array, vol, hashed[g]!.group, hashes, index, keeper, saved, st, readRuns, live);
          await progress(hashed[g]!.n);
        } else {
          // runs up to RUN_BYTES together: one request, one save in the image, then the writes
          const { group, n } = takeGroup(perRun);
          const runs = group.map(([a, b]): [number, number] => [a * ts, Math.min((b + 1) * ts, vol.size) - a * ts]);
          const datas = await readRuns(runs);
          await ready;
          live();
          if (keeper) {
            const tracks: number[] = [];
            for (const [a, b] of group) for (let x = a; x <= b; x++) tracks.push(x);
            await keeper.save(vol, tracks);
          }
          live();
          await this.site.array.writeMany(runs.map(([offset], i) => ({ vol, offset, data: datas[i]! })), p.resyncing ? 'resync' : 'copy');
          st.dataTracks += n;
          await progress(n);
        }
      }
    };
    // every worker ends before this copy ends (a rejected Promise.all would let the others write
    // on behind a revert's back)
    const ends = await Promise.allSettled(Array.from({ length: DEPTH }, () => worker()));
    const failed = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
    await ready;
    await this.site.array.commit();
    this.records.rs.updatePair(p.id, { copyDone: done });
    st.phase = 'done';
    st.finishedAt = Date.now();
    Object.assign(st, savings(st));
    this.records.rs.keepCopyStats(p.id, st);
    // this pair's data is all here, durably: marked so (a restart or retry does not copy again);
    // the group switches once every pair of it is copied
    const cur = this.records.rs.pair(p.id);
    if (t.abort || !cur || cur.state !== 'COPY') throw new RcopyError('ERR_RCOPY_ABORTED', `pair left COPY (${cur?.state ?? 'deleted'})`, { kind: 'failed' });
    this.records.rs.updatePair(p.id, { copied: true });
    this.records.invalidate();
    this.site.fault('copied-before-switch');
    await this.groupSwitch.finishGroup(p.localJournal);
  }
}
