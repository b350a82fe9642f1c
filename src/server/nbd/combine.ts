/**
 * The writes of one export, from all its connections, go to the array one call at a time; the
 * writes that arrive while one runs wait, and those that continue each other (offset = the end of
 * the previous) are then merged into one array write of at most MAX_MERGED bytes. The array's
 * write path serializes writes anyway (its write lock: journal order = data order), and each write
 * there costs a journal append, an allocation-map write and a volume write in turn: with nbdcopy's
 * 256 KiB requests the controller sat mostly idle waiting for those one by one (bench/nbd.ts,
 * --cpu-prof). NBD lets a server complete requests in flight in any order (doc/proto.md: a client
 * must not rely on the order of overlapping writes it has not seen replied), so merging changes no
 * meaning; a request is replied only once the write holding it has completed, so FLUSH still
 * covers every write replied before it.
 */

/** Merged writes stop growing here (a handful of journal records). */
export const MAX_MERGED = 4 * 1024 * 1024;

interface Pending {
  offset: number;
  data: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class WriteCombiner {
  private queue: Pending[] = [];
  private running = false;
  /** Where merged writes are assembled: reused (only one write runs at a time). */
  private scratch: Buffer | null = null;

  constructor(private readonly write: (offset: number, data: Buffer) => Promise<void>) {}

  submit(offset: number, data: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ offset, data, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** The first waiting write and every waiting one that continues it, taken out of the queue. */
  private takeRun(): Pending[] {
    const run = [this.queue.shift()!];
    let end = run[0]!.offset + run[0]!.data.length;
    let bytes = run[0]!.data.length;
    for (let found = true; found;) {
      found = false;
      const i = this.queue.findIndex((p) => p.offset === end && bytes + p.data.length <= MAX_MERGED);
      if (i >= 0) {
        const p = this.queue.splice(i, 1)[0]!;
        run.push(p);
        end += p.data.length;
        bytes += p.data.length;
        found = true;
      }
    }
    return run;
  }

  private merged(run: Pending[]): Buffer {
    if (run.length === 1) return run[0]!.data;
    this.scratch ??= Buffer.allocUnsafeSlow(MAX_MERGED);
    let at = 0;
    for (const p of run) at += p.data.copy(this.scratch, at);
    return this.scratch.subarray(0, at);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const run = this.takeRun();
        try {
          await this.write(run[0]!.offset, this.merged(run));
          for (const p of run) p.resolve();
        } catch (e) {
          for (const p of run) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
