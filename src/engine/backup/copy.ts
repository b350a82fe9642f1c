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
      while (!this.failure) {
        if (this.plan.rate) {
          // pace before claiming, so tracks not yet claimed are left to copy-on-write
          const wait = t0 + ((this.claimed * ts) / this.plan.rate) * 1000 - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          if (this.failure) break;
        }
        const t = this.plan.todo.nextSet(this.cursor);
        if (t < 0) break;
        const e = this.plan.todo.nextClear(t);
        const last = Math.min(e < 0 ? this.plan.tracks - 1 : e - 1, t + this.chunkTracks - 1);
        this.cursor = last + 1;
        this.claimed += last - t + 1;
        await this.claim(t, last);
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
        waits.push(this.claim(t, e));
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

  private async claim(first: number, last: number): Promise<void> {
    this.plan.todo.clearRange(first, last);
    const p = this.copyRun(first, last).catch((err: Error) => {
      this.abort(err);
    });
    for (let t = first; t <= last; t++) this.inflight.set(t, p);
    try {
      await p;
    } finally {
      for (let t = first; t <= last; t++) if (this.inflight.get(t) === p) this.inflight.delete(t);
    }
  }

  private async copyRun(first: number, last: number): Promise<void> {
    const { source, target, undo, sums } = this.plan;
    const ts = source.trackSize;
    const n = last - first + 1;
    const off = first * ts;
    const len = n * ts;
    let anySrc = false;
    for (let t = first; t <= last && !anySrc; t++) anySrc = source.isAllocated(t);
    const data = anySrc ? await source.read(off, len) : Buffer.alloc(len);
    const write = new Array<boolean>(n).fill(true);
    if (undo) {
      let anyTgt = false;
      for (let t = first; t <= last && !anyTgt; t++) anyTgt = target.isAllocated(t);
      const old = anyTgt ? await target.read(off, len) : Buffer.alloc(len);
      let saved = 0;
      for (let i = 0; i < n; i++) {
        const o = old.subarray(i * ts, (i + 1) * ts);
        if (o.equals(data.subarray(i * ts, (i + 1) * ts))) {
          write[i] = false;
          continue;
        }
        if (await undo.save(first + i, o)) saved++; // `old` is this run's own buffer
      }
      if (saved > 0) {
        this.stats.undoTracks += saved;
        if (this.plan.durable) await undo.sync();
      }
    }
    for (let i = 0; i < n; i++) sums.set(first + i, trackHash(data.subarray(i * ts, (i + 1) * ts)));
    for (let i = 0; i < n;) {
      if (!write[i]) {
        this.stats.tracksUnchanged++;
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && write[j + 1]) j++;
      await this.plan.writeTarget(off + i * ts, i === 0 && j === n - 1 ? data : data.subarray(i * ts, (j + 1) * ts));
      this.stats.tracksCopied += j - i + 1;
      this.stats.bytesCopied += (j - i + 1) * ts;
      i = j + 1;
    }
    this.processed += n;
  }
}
