/**
 * Early writeback: after every WRITEBACK_BYTES of buffered writes to a file, an fdatasync that no
 * write waits for sets the disk to work on what the page cache holds. The commit that ends a burst
 * (an NBD FLUSH, a group commit) then finds most of it on disk already, instead of starting the
 * whole write-out only then, and the pages stay in the page cache for their readers (a pull reads
 * the master journal right behind the appends; O_DIRECT would send it to the disk instead).
 * It is a hint, never a commit: a failure is left to the real sync, which reports it. It runs
 * only where a commit will fsync the file anyway (`enabled`: the array's durability is fsync);
 * with durability none the kernel writes back when it likes.
 */
import type fsp from 'node:fs/promises';

/** Bytes of buffered writes between two early fdatasyncs of a file. */
export const WRITEBACK_BYTES = 32 * 1024 * 1024;

export class Writeback {
  private pending = 0;
  private running: Promise<void> | null = null;
  /** Early fdatasyncs started so far. */
  started = 0;
  /** Whether the file's data will be fsynced by a commit (set by its owner). */
  enabled: () => boolean = () => false;

  constructor(private readonly fh: fsp.FileHandle) {}

  /** Counts bytes written; starts a background fdatasync when enough are pending and none runs. */
  wrote(bytes: number): void {
    this.pending += bytes;
    if (this.pending < WRITEBACK_BYTES || this.running || !this.enabled()) return;
    this.pending = 0;
    this.started += 1;
    this.running = this.fh
      .datasync()
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
      });
  }

  /** Waits for a background fdatasync in flight (before the file is closed). */
  async idle(): Promise<void> {
    await this.running;
  }
}
