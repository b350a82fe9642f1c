/**
 * Large data-path buffers, reused instead of allocated per request: tracks a primary reads for a
 * copy, and the payloads a secondary receives. A fresh multi-MiB Buffer per request is external
 * memory that V8 counts towards its collection limits, and how often it then runs a full
 * collection grows with the size of the controller's own heap: a 512 MiB initial copy in 4 MiB
 * requests ran 4 full collections in each controller before the typed contract (zod schemas)
 * came in, and over 20 after it, at about 1.5 times the copy time. Reused buffers keep the same
 * few backing stores alive and leave the collector out of the data path.
 *
 * Ownership: take() gives a buffer to one owner; that owner calls give() once nothing refers to it
 * any more (the socket has written it, the volume write has ended). A buffer never given back is
 * simply collected. Sizes are rounded up to a power of two from `min` to MAX; others are plain
 * allocations that give() ignores, as it ignores a buffer it did not make or holds already.
 */
import { alignedBuffer } from './file-io.js';

/** What a pool's buffers are: plain memory, shared with workers, or page-aligned (O_DIRECT as they are). */
export type PoolMemory = 'plain' | 'shared' | 'aligned';

const MAX = 64 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, ArrayBufferLike[]>();
  private readonly mine = new WeakSet<ArrayBufferLike>();
  private readonly idle = new WeakSet<ArrayBufferLike>();
  private keptBytes = 0;

  /**
   * keep: at most this many bytes of idle buffers are kept for reuse; min: smaller sizes are not
   * pooled; memory: 'shared' buffers are SharedArrayBuffer memory (a worker can read them:
   * crc-offload.ts), 'aligned' ones start on a page boundary (file-io.ts alignedBuffer: a track
   * received into one goes to an S-VOL with O_DIRECT without the copy into a staging slab).
   */
  constructor(
    private readonly keep = 128 * 1024 * 1024,
    private readonly min = 1024 * 1024,
    private readonly memory: PoolMemory = 'plain',
  ) {}

  /** A buffer of n bytes (its contents are whatever was there before). */
  take(n: number): Buffer {
    if (n < this.min || n > MAX) return Buffer.allocUnsafe(n);
    const size = 2 ** Math.ceil(Math.log2(n));
    let ab = this.free.get(size)?.pop();
    if (ab) {
      this.idle.delete(ab);
      this.keptBytes -= size;
    } else {
      ab = this.memory === 'shared' ? new SharedArrayBuffer(size) : this.memory === 'aligned' ? alignedBuffer(size).buffer : new ArrayBuffer(size);
      this.mine.add(ab);
    }
    return Buffer.from(ab, 0, n);
  }

  /** Gives back a buffer from take() (or a view of it that starts at its first byte). */
  give(b: Buffer | undefined): void {
    if (!b || b.byteOffset !== 0) return;
    const ab = b.buffer;
    if (!this.mine.has(ab) || this.idle.has(ab) || this.keptBytes + ab.byteLength > this.keep) return;
    let list = this.free.get(ab.byteLength);
    if (!list) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.idle.add(ab);
    this.keptBytes += ab.byteLength;
  }

  /** Bytes of idle buffers kept (for tests). */
  get kept(): number {
    return this.keptBytes;
  }
}

/**
 * The process's pool for track data on the replication path: the primary's reads, and the replies
 * a secondary's copy and pulls receive (page-aligned: see the constructor). Their owners give them
 * back, so few are ever made.
 */
export const trackBuffers = new BufferPool(undefined, undefined, 'aligned');

/**
 * Payloads of requests a controller receives (`io write` chunks, a sync pair's pushed writes):
 * plain memory. Nobody gives them back (they are collected), and a fresh aligned buffer (a
 * WebAssembly memory) costs far more to make and to collect: 1 GiB of `io write` in 4 MiB chunks
 * into aligned buffers took 3.7 s against 2.8 s (bench/HISTORY.md, session 14).
 */
export const requestBuffers = new BufferPool();
