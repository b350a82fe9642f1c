/**
 * One run of a pair's copy on the secondary (an initial copy or a resync): the tracks to copy, the
 * consistent image saved first, then four workers that write runs of tracks read from the primary
 * (up to READ_AHEAD requests ahead) to the S-VOL. The stages overlap: the image is saved in waves
 * of 8 MiB in track order while the first requests to the primary are under way, and no track is
 * written before its old content is durable in the image (without references: its wave synced;
 * with references: the whole image, `ready`). With references, the S-VOL's changed tracks are hashed from the
 * reads of the image save and compared with the primary's hashes (references/resync-copy.ts).
 *
 * Every worker re-checks, after each await and right before it writes, that the copy was not
 * stopped and the pair is still in COPY (live): a revert or a suspension may have come meanwhile.
 */
import { trackBuffers } from '../util/buffer-pool.js';
import { E } from '../../errors.js';
import { mapAhead } from '../util/parallel.js';
import { TrackBitmap } from './track-bitmap.js';
import type { Volume } from '../array/volume.js';
import type { ConsistentImage, FilledWave } from './consistent-image.js';
import type { CopyStats } from './copy-stats.js';
import type { GroupRecords } from './group-records.js';
import type { Links } from './links.js';
import type { PairFiles } from './pair-files.js';
import type { Parts } from './parts.js';
import type { PeerCaller } from './peer.js';
import { copyGroupWithReferences, primaryHashes, type PrimaryHashes } from './references/resync-copy.js';
import { TrackIndex, trackHash } from './references/track-hashes.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';

/** The most one read request to the primary carries. */
const RUN_BYTES = 4 * 1024 * 1024;
/** Workers (and requests in flight). */
export const DEPTH = 4;
/** With references: the tracks whose hashes one request asks the primary for. */
const HASH_GROUP_BYTES = 4 * 1024 * 1024;
/**
 * The consistent image is saved in waves of this many bytes, in track order, each read while the
 * one before is written (two wave buffers). Without references each wave is synced and its tracks
 * may be overwritten from then on: small waves let the copy follow the image closely (a 1% resync
 * of 4 GiB is five waves, not one). bench/HISTORY.md (session 14) has the sizes measured.
 */
const IMAGE_WAVE_BYTES = 8 * 1024 * 1024;
/** Requests to the primary (of up to RUN_BYTES each) read ahead of the S-VOL writes: while the
 *  image is saved, and while the groups before are written. */
const READ_AHEAD = 8;

type Runs = Array<[number, number]>;

export class TrackCopy {
  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly files: PairFiles;
  private readonly links: Links;
  private readonly vol: Volume;
  private peer!: PeerCaller;
  private todo!: TrackBitmap;
  private keeper: ConsistentImage | null = null;
  private index: TrackIndex | null = null;
  private st!: CopyStats;
  /** The image is durable; with references, also the S-VOL's tracks hashed; both: `ready`. */
  private saved!: Promise<void>;
  private indexed!: Promise<void>;
  private ready!: Promise<void>;
  /** Runs of at most RUN_BYTES, taken in order by the workers. */
  private pieces: Runs = [];
  private next = 0;
  /** Without references: the groups of pieces, their reads (started READ_AHEAD ahead of the
   *  groups written), and how many groups are written. */
  private groups: Array<{ group: Runs; n: number }> = [];
  private reads: Array<Promise<Buffer[]>> = [];
  private nextGroup = 0;
  private written = 0;
  /** With references: groups of pieces, and the primary's hashes of each (asked for at once). */
  private hashed: Array<{ group: Runs; n: number }> = [];
  private hashesOf: Array<Promise<PrimaryHashes>> = [];
  private nextHashed = 0;
  private done = 0;
  private lastSave = performance.now();

  constructor(
    parts: Pick<Parts, 'site' | 'records' | 'files' | 'links'>,
    private readonly p: PairRow,
    private readonly t: { abort: boolean },
    private readonly refs: boolean,
    private readonly newStats: (p: PairRow, refs: boolean, bytes: number) => CopyStats,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.files = parts.files;
    this.links = parts.links;
    this.vol = this.site.array.volume(p.localVol);
  }

  /** Copies every track to copy; the tracks stay marked in this side's bitmap. */
  async run(): Promise<CopyStats> {
    this.peer = await this.links.peer(this.p.remoteArray);
    await this.plan();
    this.startImage();
    const ts = this.vol.trackSize;
    const perRun = Math.max(1, Math.floor(RUN_BYTES / ts));
    for (const [a, b] of this.todo.runs()) for (let s = a; s <= b; s += perRun) this.pieces.push([s, Math.min(b, s + perRun - 1)]);
    if (this.index) {
      const perGroup = Math.max(1, Math.floor(HASH_GROUP_BYTES / ts));
      while (this.next < this.pieces.length) this.hashed.push(this.takeGroup(perGroup));
      // asked for from the start (four at a time) so they arrive while the image is saved
      this.hashesOf = mapAhead(this.hashed.length, DEPTH, async (g) => {
        if (this.t.abort) throw E.aborted('copy stopped');
        return primaryHashes(this.links, this.p, this.peer, this.vol, this.hashed[g]!.group, this.st);
      });
    } else {
      while (this.next < this.pieces.length) this.groups.push(this.takeGroup(perRun));
      this.readAhead();
    }
    // every worker ends before this copy ends (a rejected Promise.all would let the others write
    // on behind a revert's back)
    const ends = await Promise.allSettled(Array.from({ length: DEPTH }, () => this.worker()));
    const failed = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
    await this.ready;
    await this.site.array.commit();
    this.records.rs.updatePair(this.p.id, { copyDone: this.done });
    return this.st;
  }

  /**
   * The tracks to copy: the primary's allocated tracks (initial copy) or both sides' bitmaps
   * (resync). Every track this copy may write is kept in this side's bitmap (durably, before the
   * first write) until the S-VOL is consistent again: whatever cuts the copy short, a revert or the
   * next resync still knows them, even if the primary has cleared its own bitmap by then.
   */
  private async plan(): Promise<void> {
    const { p, vol, peer } = this;
    if (p.resyncing) {
      const reply = await peer.call('repl.diffMap', { pair: p.id });
      this.todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
      this.todo.or(await this.files.bitmap(p));
    } else {
      const reply = await peer.call('repl.allocMap', { volume: p.remoteVol });
      this.todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
    }
    const mine = await this.files.bitmap(p);
    mine.or(this.todo);
    await mine.flush();
    const total = this.todo.count();
    this.records.rs.updatePair(p.id, { copyDone: 0, copyTotal: total });
    this.keeper = p.resyncing ? await this.files.keeper(p) : null;
    this.index = this.refs ? new TrackIndex() : null;
    this.st = this.newStats(p, this.refs, total * vol.trackSize);
  }

  /**
   * The consistent image first, in waves in track order: `saved` once it is all durable. Without
   * references each wave is synced and its tracks may be overwritten from then on (`through`):
   * the copy writes while the image's later waves are saved. With references, one fsync after the
   * last wave, and `indexed` once the hashes of the S-VOL's changed tracks are known (from the
   * reads of the last wave, before its write; tracks saved by an earlier run are read again); a
   * worker waits for `indexed` before it compares hashes and for `saved` before it writes (a
   * track may be copied from another changed track's old content).
   */
  private startImage(): void {
    const { keeper, index, vol, todo } = this;
    const seen = index ? (x: number, d: Buffer) => index.set(x, trackHash(d)) : undefined;
    let lastRead: () => void = () => undefined;
    const allRead = new Promise<void>((res) => (lastRead = res));
    this.saved = (async (): Promise<void> => {
      if (keeper) {
        const tracks: number[] = [];
        for (const [a, b] of todo.runs()) for (let x = a; x <= b; x++) if (!keeper.has(x)) tracks.push(x);
        this.st.imageTracks = tracks.length;
        this.st.imageMs = null;
        const perWave = Math.max(1, Math.floor(IMAGE_WAVE_BYTES / vol.trackSize));
        const waves: number[][] = [];
        for (let w = 0; w < tracks.length; w += perWave) waves.push(tracks.slice(w, w + perWave));
        // each wave is read while the one before is written and synced (two buffers)
        const fill = (k: number): Promise<FilledWave | null> => {
          const f = keeper.fill(vol, waves[k]!, seen);
          f.catch(() => undefined); // awaited in turn below, or given back after a failure
          return f;
        };
        let next: Promise<FilledWave | null> | null = waves.length ? fill(0) : null;
        try {
          for (let k = 0; k < waves.length; k++) {
            const last = k === waves.length - 1;
            const filled = await next!;
            next = last ? null : fill(k + 1);
            if (last) lastRead();
            // without references a wave's tracks may be overwritten once it is durable: each syncs
            await keeper.append(filled, last || !index);
            if (!index) this.passThrough(waves[k]![waves[k]!.length - 1]!);
            if (!last) await this.site.delay('image-wave'); // tests: the copy goes on while the rest is saved
          }
        } finally {
          // a wave read ahead of a failed write goes back unwritten
          if (next)
            void next.then(
              (w) => w && keeper.discard(w),
              () => undefined,
            );
        }
        this.st.imageMs = Date.now() - this.st.startedAt;
      }
      this.passThrough(Number.POSITIVE_INFINITY);
      lastRead();
    })();
    this.indexed = (async (): Promise<void> => {
      await Promise.race([allRead, this.saved]);
      if (index) await TrackIndex.build(vol, [...todo.runs()], index);
    })();
    this.ready = Promise.all([this.saved, this.indexed]).then(() => undefined);
    this.ready.catch(() => undefined); // awaited by the workers (and at the end when there are none)
    void this.indexed.then(
      () => {
        this.st.phase = 'copying';
      },
      () => undefined,
    );
  }

  /** Every track of the copy up to this one has its old content durable in the image (or had it before this copy). */
  private savedThrough = -1;
  private throughWaiters: Array<{ track: number; go: () => void }> = [];

  /** Resolves once `track` may be overwritten: the image wave that holds its old content is durable. */
  private through(track: number): Promise<void> {
    if (this.savedThrough >= track) return Promise.resolve();
    return new Promise((go) => this.throughWaiters.push({ track, go }));
  }

  private passThrough(track: number): void {
    this.savedThrough = track;
    const still: typeof this.throughWaiters = [];
    for (const w of this.throughWaiters) {
      if (w.track <= track) w.go();
      else still.push(w);
    }
    this.throughWaiters = still;
  }

  /** Stops a worker that must not go on: the copy was stopped or the pair left COPY. */
  private live(): void {
    if (this.t.abort) throw E.aborted('copy stopped');
    const cur = this.records.rs.pair(this.p.id);
    if (!cur || cur.state !== 'COPY') throw E.aborted(`pair left COPY (${cur?.state ?? 'deleted'})`);
  }

  private async worker(): Promise<void> {
    const live = (): void => this.live();
    while (this.index ? this.nextHashed < this.hashed.length : this.nextGroup < this.groups.length) {
      live();
      this.links.checkLink(this.p.remoteArray);
      if (this.index) {
        const g = this.nextHashed++;
        const hashes = await this.hashesOf[g]!;
        await this.indexed;
        await copyGroupWithReferences(this.site.array, this.vol, this.hashed[g]!.group, hashes, this.index, this.keeper, this.saved, this.st, (runs) => this.readRuns(runs), live);
        this.progress(this.hashed[g]!.n);
      } else {
        await this.copyGroup(this.nextGroup++);
      }
    }
  }

  /** Starts the reads of the groups up to READ_AHEAD past the last one written (memory stays bounded). */
  private readAhead(): void {
    const ts = this.vol.trackSize;
    while (this.reads.length < this.groups.length && this.reads.length < this.written + READ_AHEAD && !this.t.abort) {
      const runs = this.groups[this.reads.length]!.group.map(([a, b]): [number, number] => [a * ts, Math.min((b + 1) * ts, this.vol.size) - a * ts]);
      const read = this.readRuns(runs);
      read.catch(() => undefined); // surfaces in the worker that writes the group
      this.reads.push(read);
    }
  }

  /** Group g (runs up to RUN_BYTES together): one request, read ahead; the writes once the image is durable. */
  private async copyGroup(g: number): Promise<void> {
    const { vol } = this;
    const { group, n } = this.groups[g]!;
    this.readAhead();
    const read = this.reads[g];
    if (!read) throw E.aborted('copy stopped');
    const datas = await read;
    // a track is overwritten only once its old content is durable in the image (a failed save
    // rejects `saved`, which ends the wait too)
    await Promise.race([this.saved, this.through(group[group.length - 1]![1])]);
    this.live();
    const ts = vol.trackSize;
    // the image holds every track of the copy (saved before `ready`), so nothing is saved here
    await this.site.array.writeMany(
      group.map(([a], i) => ({ vol, offset: a * ts, data: datas[i]! })),
      this.p.resyncing ? 'resync' : 'copy',
    );
    // the volume writes have ended and nothing else holds the received payload
    trackBuffers.give(datas[0]);
    this.written++;
    this.readAhead();
    this.st.dataTracks += n;
    this.progress(n);
  }

  /** The next pieces, together at most `limit` tracks (at least one piece); n: their tracks. */
  private takeGroup(limit: number): { group: Runs; n: number } {
    const group: Runs = [];
    let n = 0;
    const { pieces } = this;
    while (this.next < pieces.length && (group.length === 0 || n + pieces[this.next]![1] - pieces[this.next]![0] + 1 <= limit)) {
      const pc = pieces[this.next++]!;
      group.push(pc);
      n += pc[1] - pc[0] + 1;
    }
    return { group, n };
  }

  /** Progress only: a copy that dies starts over from the maps, and the one commit that matters
   *  is the one before the primary is told the copy is done. */
  private progress(tracks: number): void {
    this.done += tracks;
    if (performance.now() - this.lastSave > 250) {
      this.lastSave = performance.now();
      this.records.rs.updatePair(this.p.id, { copyDone: this.done });
    }
  }

  /** Several runs (offset, length) in one request: a 1% change is mostly single tracks, and one
   *  request each would cost a round trip per track. */
  private async readRuns(runs: Runs): Promise<Buffer[]> {
    const { p, peer } = this;
    const t0 = performance.now();
    const one = runs.length === 1;
    const reply = one
      ? await peer.call('repl.readTracks', { volume: p.remoteVol, offset: runs[0]![0], length: runs[0]![1] }, { timeoutMs: 120_000 })
      : await peer.call('repl.readRuns', { volume: p.remoteVol, runs }, { timeoutMs: 120_000 });
    const data = reply.payload ?? Buffer.alloc(0);
    const want = runs.reduce((n, r) => n + r[1], 0);
    if (data.length !== want) throw E.peer(`short track read from ${p.remoteArray} (${data.length} of ${want})`);
    await this.links.shaper(p.remoteArray).transfer(want, t0);
    this.st.dataBytes += want;
    if (one) return [data];
    const out: Buffer[] = [];
    let at = 0;
    for (const [, len] of runs) {
      out.push(data.subarray(at, at + len));
      at += len;
    }
    return out;
  }
}
