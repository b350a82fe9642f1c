/**
 * Buffered writes into one file, at most DEPTH in flight: the ones that arrive while DEPTH run wait,
 * and when a slot frees, the oldest waiting write goes with every waiting write that continues it
 * (one starts where the previous one ends) as one positional `writev`. An NBD client keeps dozens of
 * adjacent writes in flight (nbdcopy: 64 of 256 KiB per connection); each one handed to the thread
 * pool on its own cost the controller's main thread more than the bytes did (bench/nbd.ts, profiled
 * with --cpu-prof: the samples sat in the hand-over, `writeBuffer`). A write that arrives when a slot
 * is free starts at once, so a lone write waits for nothing.
 *
 * Invariants:
 *   - Every write resolves once all its bytes are written, or rejects with its own error: when a
 *     merged writev fails, its writes are written again one by one, each with its own outcome (a
 *     full disk under a sparse image fails only those that do not fit).
 *   - Writes that overlap and are queued at the same time land in no particular order, as two
 *     writes handed to the thread pool at once would: callers keep overlapping writes apart
 *     (write-path.ts waits for the writes in flight that a write overlaps).
 */
import type fsp from 'node:fs/promises';
import { pwriteAll } from './file-io.js';

/** Writes in flight at once (the bytes go to the page cache: CPU-bound, two cores are enough). */
const DEPTH = 2;
/** The most bytes one merged writev carries (one call: the fewer hand-overs, the better). */
const MERGE_MAX = 2 * 1024 * 1024;
/** The most buffers one merged writev carries (well under IOV_MAX). */
const MERGE_BUFS = 256;

interface Queued {
  pos: number;
  data: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class WriteQueue {
  private running = 0;
  /** Waiting writes, oldest first (removed ones are null until the next compaction). */
  private waiting: Array<Queued | null> = [];
  private head = 0;
  /** Waiting writes by their start. */
  private readonly byPos = new Map<number, Queued>();

  /** Positional write calls made, and writes they carried (a merged call carries several). */
  readonly stats = { calls: 0, writes: 0 };

  constructor(private readonly fh: fsp.FileHandle) {}

  /** Writes data at pos (all of it). */
  write(pos: number, data: Buffer): Promise<void> {
    if (this.running < DEPTH) return this.run([{ pos, data, resolve: noop, reject: noop }]);
    return new Promise<void>((resolve, reject) => {
      const q = { pos, data, resolve, reject };
      this.waiting.push(q);
      if (!this.byPos.has(pos)) this.byPos.set(pos, q);
    });
  }

  private async run(batch: Queued[]): Promise<void> {
    this.running += 1;
    this.stats.calls += 1;
    this.stats.writes += batch.length;
    try {
      if (batch.length === 1) await pwriteAll(this.fh, batch[0]!.data, batch[0]!.pos);
      else await this.writeMerged(batch);
    } finally {
      this.running -= 1;
      this.next();
    }
  }

  private async writeMerged(batch: Queued[]): Promise<void> {
    try {
      await pwriteAll(
        this.fh,
        batch.map((q) => q.data),
        batch[0]!.pos,
        MERGE_MAX,
      );
    } catch {
      for (const q of batch) await pwriteAll(this.fh, q.data, q.pos).then(q.resolve, q.reject);
      return;
    }
    for (const q of batch) q.resolve();
  }

  /** Starts the oldest waiting write with the waiting writes that continue it. */
  private next(): void {
    const first = this.take();
    if (!first) return;
    const batch = [first];
    let end = first.pos + first.data.length;
    let bytes = first.data.length;
    for (let q = this.byPos.get(end); q && bytes + q.data.length <= MERGE_MAX && batch.length < MERGE_BUFS; q = this.byPos.get(end)) {
      this.remove(q);
      batch.push(q);
      end += q.data.length;
      bytes += q.data.length;
    }
    const p = this.run(batch);
    if (batch.length === 1) p.then(first.resolve, first.reject);
    else void p.catch(noop); // each write settled in writeMerged
  }

  private take(): Queued | null {
    while (this.head < this.waiting.length) {
      const q = this.waiting[this.head++];
      if (q) {
        this.remove(q);
        return q;
      }
    }
    return null;
  }

  private remove(q: Queued): void {
    if (this.byPos.get(q.pos) === q) this.byPos.delete(q.pos);
    const i = this.waiting.indexOf(q, this.head);
    if (i >= 0) this.waiting[i] = null;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }
}

function noop(): void {}
