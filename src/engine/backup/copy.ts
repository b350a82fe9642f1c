/**
 * The copy of one running backup: source volume -> backup volume, as of the moment it was accepted.
 *
 * `todo` holds one bit per image track still to copy (full: tracks allocated in the source or the
 * backup volume; incremental: tracks changed since the previous backup). Workers take the next run of
 * set bits (at most 1 MiB), clear them (the claim) and copy them; several runs are in flight.
 * A write to the source while the copy runs calls cow() first: tracks it touches that are still to
 * copy are claimed and copied before the write proceeds (copy-on-write), tracks being copied are
 * waited for. So the backup volume gets the source as of acceptance, whatever hosts write meanwhile.
 *
 * When an older generation lives in the backup volume (`undo` is its undo file), the old content of a
 * track is saved there (and made durable, if the array is durable) before the track is overwritten;
 * tracks whose content did not change are neither saved nor written.
 */
import { E } from '../../errors.js';
import { TrackBitmap } from '../repl/track-bitmap.js';
import { trackHash, type TrackSums } from './image.js';
import type { UndoFile } from './undo.js';
import type { Volume } from '../array/volume.js';

export interface CopyPlan {
  source: Volume;
  target: Volume;
  /** image tracks (the source's tracks) */
  tracks: number;
  todo: TrackBitmap;
  /** the undo file of the newest good generation held by the backup volume, if any */
  undo: UndoFile | null;
  /** digests of the backup volume's tracks; updated for every copied track */
  sums: TrackSums;
  /** fsync undo records before overwriting */
  durable: boolean;
  /** bytes per second to stay under, if any */
  rate?: number;
  /** writes into the backup volume (through the array, origin 'copy', no commit) */
  writeTarget: (offset: number, data: Buffer) => Promise<void>;
  chunkBytes?: number;
  depth?: number;
}

export interface CopyStats {
  tracksToCopy: number;
  tracksCopied: number;
  bytesCopied: number;
  tracksUnchanged: number;
  cowTracks: number;
  undoTracks: number;
}

export class ActiveCopy {
  /** Tracks written to the source since acceptance (they stay set in the change bitmap). */
  readonly writtenSince: TrackBitmap;
  readonly stats: CopyStats;
  private readonly inflight = new Map<number, Promise<void>>();
  private failure: Error | null = null;
  private cursor = 0;
  private processed = 0;
  private claimed = 0;
  private readonly chunkTracks: number;

  constructor(readonly plan: CopyPlan) {
    this.writtenSince = new TrackBitmap(plan.tracks);
    this.chunkTracks = Math.max(1, Math.floor((plan.chunkBytes ?? 1024 * 1024) / plan.source.trackSize));
    this.stats = { tracksToCopy: plan.todo.count(), tracksCopied: 0, bytesCopied: 0, tracksUnchanged: 0, cowTracks: 0, undoTracks: 0 };
  }

  get failed(): Error | null {
    return this.failure;
  }

  abort(err: Error): void {
    this.failure ??= err;
  }

  /** Copies everything still to do; resolves when no track is left or in flight. */
  async run(onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<CopyStats> {
    const ts = this.plan.source.trackSize;
    const total = this.stats.tracksToCopy * ts;
    const t0 = performance.now();
    let lastReport = 0;
    const worker = async (): Promise<void> => {
      // this worker's buffers, reused batch after batch (a batch's I/O has ended before the next)
      const bufs = { data: Buffer.allocUnsafe(this.chunkTracks * ts), old: Buffer.allocUnsafe(this.chunkTracks * ts) };
      while (!this.failure) {
        if (this.plan.rate) {
          // pace before claiming, so tracks not yet claimed are left to copy-on-write
          const wait = t0 + ((this.claimed * ts) / this.plan.rate) * 1000 - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          if (this.failure) break;
        }
        const runs = this.nextBatch();
        if (runs.length === 0) break;
        await this.claim(runs, bufs);
        const now = performance.now();
        if (onProgress && now - lastReport > 200) {
          lastReport = now;
          onProgress(this.processed * ts, total);
        }
      }
    };
    await Promise.all(Array.from({ length: this.plan.depth ?? 4 }, () => worker()));
    // copy-on-write runs may still be going
    while (this.inflight.size > 0) await Promise.allSettled([...new Set(this.inflight.values())]);
    if (this.failure) throw this.failure;
    if (this.plan.todo.count() !== 0) throw E.integrity('backup copy ended with tracks left to copy');
    onProgress?.(total, total);
    return this.stats;
  }

  /** Before a write to tracks [first, last] of the source lands: copy what it would overwrite. */
  async cow(first: number, last: number): Promise<void> {
    if (this.failure) return;
    last = Math.min(last, this.plan.tracks - 1);
    const waits: Array<Promise<void>> = [];
    for (let t = first; t <= last;) {
      if (this.plan.todo.get(t)) {
        let e = t;
        while (e + 1 <= last && e + 1 - t < this.chunkTracks && this.plan.todo.get(e + 1)) e++;
        this.stats.cowTracks += e - t + 1;
        waits.push(this.claim([[t, e]]));
        t = e + 1;
      } else {
        const p = this.inflight.get(t);
        if (p) waits.push(p);
        t++;
      }
    }
    // a failed copy fails the backup, never the host write
    await Promise.allSettled(waits);
  }

  /**
   * The next runs of tracks to copy, up to chunkTracks tracks in all: one run where the tracks to
   * copy are contiguous (a full backup), several where they are scattered (an incremental after
   * random writes), so that a batch reads them all at once and saves their old content in one write.
   */
  private nextBatch(): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    let left = this.chunkTracks;
    while (left > 0) {
      const t = this.plan.todo.nextSet(this.cursor);
      if (t < 0) break;
      const e = this.plan.todo.nextClear(t);
      const last = Math.min(e < 0 ? this.plan.tracks - 1 : e - 1, t + left - 1);
      this.cursor = last + 1;
      runs.push([t, last]);
      left -= last - t + 1;
    }
    for (const [a, b] of runs) this.claimed += b - a + 1;
    return runs;
  }

  private async claim(runs: Array<[number, number]>, bufs?: Buffers): Promise<void> {
    for (const [a, b] of runs) this.plan.todo.clearRange(a, b);
    const p = this.copyBatch(runs, bufs).catch((err: Error) => {
      this.abort(err);
    });
    for (const [a, b] of runs) for (let t = a; t <= b; t++) this.inflight.set(t, p);
    try {
      await p;
    } finally {
      for (const [a, b] of runs) for (let t = a; t <= b; t++) if (this.inflight.get(t) === p) this.inflight.delete(t);
    }
  }

  /** Copies the runs of one batch: every read at once, the old tracks saved in one append, then
   *  the writes. `bufs` (a worker's) is used when given, else fresh buffers (copy-on-write). */
  private async copyBatch(runs: Array<[number, number]>, bufs?: Buffers): Promise<void> {
    const { source, target, undo, sums } = this.plan;
    const ts = source.trackSize;
    const n = runs.reduce((k, [a, b]) => k + b - a + 1, 0);
    const data = bufs ? bufs.data.subarray(0, n * ts) : Buffer.allocUnsafe(n * ts);
    const old = undo ? (bufs ? bufs.old.subarray(0, n * ts) : Buffer.allocUnsafe(n * ts)) : null;
    // where each run's tracks sit in the batch's buffers
    const at: number[] = [];
    const reads: Array<Promise<unknown>> = [];
    let k = 0;
    for (const [a, b] of runs) {
      at.push(k);
      const len = (b - a + 1) * ts;
      const into = data.subarray(k * ts, k * ts + len);
      reads.push(anyAllocated(source, a, b) ? source.read(a * ts, len, into) : Promise.resolve(into.fill(0)));
      if (old) {
        const oi = old.subarray(k * ts, k * ts + len);
        reads.push(anyAllocated(target, a, b) ? target.read(a * ts, len, oi) : Promise.resolve(oi.fill(0)));
      }
      k += b - a + 1;
    }
    await Promise.all(reads);
    const write = new Array<boolean>(n).fill(true);
    if (undo && old) {
      const saves: Array<[number, Buffer]> = [];
      runs.forEach(([a, b], r) => {
        for (let t = a; t <= b; t++) {
          const i = at[r]! + t - a;
          const o = old.subarray(i * ts, (i + 1) * ts);
          if (o.equals(data.subarray(i * ts, (i + 1) * ts))) write[i] = false;
          else saves.push([t, o]);
        }
      });
      const saved = await undo.saveMany(saves); // `old` is not reused before this resolves
      if (saved > 0) {
        this.stats.undoTracks += saved;
        if (this.plan.durable) await undo.sync();
      }
    }
    const writes: Array<Promise<void>> = [];
    runs.forEach(([a, b], r) => {
      for (let t = a; t <= b; t++) sums.set(t, trackHash(data.subarray((at[r]! + t - a) * ts, (at[r]! + t - a + 1) * ts)));
      for (let t = a; t <= b;) {
        const i = at[r]! + t - a;
        if (!write[i]) {
          this.stats.tracksUnchanged++;
          t++;
          continue;
        }
        let e = t;
        while (e + 1 <= b && write[i + e + 1 - t]) e++;
        writes.push(this.plan.writeTarget(t * ts, data.subarray(i * ts, (i + e - t + 1) * ts)));
        this.stats.tracksCopied += e - t + 1;
        this.stats.bytesCopied += (e - t + 1) * ts;
        t = e + 1;
      }
    });
    await Promise.all(writes);
    this.processed += n;
  }
}

interface Buffers {
  data: Buffer;
  old: Buffer;
}

function anyAllocated(v: Volume, first: number, last: number): boolean {
  for (let t = first; t <= last; t++) if (v.isAllocated(t)) return true;
  return false;
}
