/**
 * Early writeback: after every WRITEBACK_BYTES of buffered writes to a file, an fdatasync that no
 * write waits for sets the disk to work on what the page cache holds. The commit that ends a burst
 * (an NBD FLUSH, a group commit) then finds most of it on disk already, instead of starting the
 * whole write-out only then, and the pages stay in the page cache for their readers (a pull reads
 * the master journal right behind the appends; O_DIRECT would send it to the disk instead).
 * It is a hint, never a commit. But the kernel reports a write-back error once per open file, to
 * whichever fsync sees it first, so a failure of an early one is kept and thrown by the owner's
 * next own fdatasync (`datasync()`, which every sync of the file goes through): a commit never
 * succeeds over a page the disk refused. It runs only where a commit will fsync the file anyway
 * (`enabled`: the array's durability is fsync); with durability none the kernel writes back when
 * it likes.
 */
import type fsp from 'node:fs/promises';

/** What a writeback needs of a file (an open FileHandle). */
export type Syncable = Pick<fsp.FileHandle, 'datasync'>;

/** Bytes of buffered writes between two early fdatasyncs of a file. */
export const WRITEBACK_BYTES = 32 * 1024 * 1024;

export class Writeback {
  private pending = 0;
  private running: Promise<void> | null = null;
  /** An early fdatasync's failure, not yet reported. */
  private failure: Error | null = null;
  /** Early fdatasyncs started so far. */
  started = 0;
  /** Whether the file's data will be fsynced by a commit (set by its owner). */
  enabled: () => boolean = () => false;

  constructor(private readonly fh: Syncable) {}

  /** Counts bytes written; starts a background fdatasync when enough are pending and none runs. */
  wrote(bytes: number): void {
    this.pending += bytes;
    if (this.pending < WRITEBACK_BYTES || this.running || !this.enabled()) return;
    this.pending = 0;
    this.started += 1;
    this.running = this.fh
      .datasync()
      .catch((e: Error) => {
        this.failure ??= e;
      })
      .finally(() => {
        this.running = null;
      });
  }

  /**
   * The owner's fdatasync: after an early one in flight has ended, then the file's own; throws
   * the failure of an early one since the last call even when this one succeeds.
   */
  async datasync(): Promise<void> {
    await this.running;
    await this.fh.datasync();
    const f = this.failure;
    this.failure = null;
    if (f) throw f;
  }

  /** Waits for a background fdatasync in flight (before the file is closed). */
  async idle(): Promise<void> {
    await this.running;
  }
}
