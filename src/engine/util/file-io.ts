/**
 * Positional writes in pieces of at most IO_CHUNK bytes, several in flight. A single multi-MiB
 * write(2) into pages the page cache does not hold yet can be several times slower than the same
 * bytes in smaller calls, depending on the machine's memory pressure; 512 KiB pieces cost little
 * when big calls are fast and avoid the slow case. bench/file-io.ts compares both with dd (its
 * figures are in the README's benchmark table).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { InternalError } from '../../errors.js';
import { forEachLimit } from './parallel.js';

/** The largest single write call (give or take IO_SLACK). */
export const IO_CHUNK = 512 * 1024;
/**
 * A rest this short after the last whole piece goes with that piece instead of alone: a master
 * journal's batch of two 256 KiB NBD writes is 513 KiB with its headers, and its last KiB cost a
 * call of its own (and a hand-over to the thread pool) for every batch.
 */
export const IO_SLACK = 64 * 1024;
/** Pieces of one pwriteAll in flight at once. */
const IO_DEPTH = 4;

/** Writes `data` (one buffer, or several back to back) at `pos`, all of it, in pieces of `chunk` bytes (IO_CHUNK). */
export async function pwriteAll(fh: fsp.FileHandle, data: Buffer | readonly Buffer[], pos: number, chunk = IO_CHUNK): Promise<void> {
  const pieces = cut(Array.isArray(data) ? (data as readonly Buffer[]) : [data as Buffer], pos, chunk, IO_SLACK);
  if (pieces.length === 1) return writePiece(fh, pieces[0]!.bufs, pieces[0]!.pos);
  await forEachLimit(pieces.length, IO_DEPTH, (i) => writePiece(fh, pieces[i]!.bufs, pieces[i]!.pos));
}

/**
 * Splits the buffers into pieces of at most `chunk` bytes, each with its file position; a last rest
 * of at most `slack` bytes joins the piece before it (pieces then go up to chunk + slack bytes).
 */
export function cut(bufs: readonly Buffer[], pos: number, chunk: number, slack = 0): Array<{ bufs: Buffer[]; pos: number }> {
  const out: Array<{ bufs: Buffer[]; pos: number }> = [];
  let cur: Buffer[] = [];
  let curLen = 0;
  let at = pos;
  for (const b of bufs) {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, chunk - curLen);
      cur.push(off === 0 && n === b.length ? b : b.subarray(off, off + n));
      curLen += n;
      off += n;
      if (curLen === chunk) {
        out.push({ bufs: cur, pos: at });
        at += curLen;
        cur = [];
        curLen = 0;
      }
    }
  }
  const last = out[out.length - 1];
  if (last && curLen > 0 && curLen <= slack) last.bufs.push(...cur);
  else if (curLen > 0 || out.length === 0) out.push({ bufs: cur, pos: at });
  return out;
}

/** Reads until `buf` is full or the file ends; the number of bytes read. */
export async function readFully(fh: fsp.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writePiece(fh: fsp.FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const n0 = rest.length === 1 ? (await fh.write(rest[0]!, 0, rest[0]!.length, pos)).bytesWritten : (await fh.writev(rest, pos)).bytesWritten;
    if (n0 <= 0) throw new InternalError('a write wrote nothing');
    pos += n0;
    let n = n0;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

/**
 * Direct I/O (O_DIRECT) for bulk writes that nobody reads back soon: restores and copies onto an
 * S-VOL, and the restore journal. They skip the kernel's copy into fresh page-cache pages, which
 * is what makes buffered bulk writes slow (the README's benchmark table has the figures). The
 * data goes through aligned staging slabs (a WebAssembly memory, whose base is page-aligned,
 * which a Node Buffer's is not); the copy into them is a plain memcpy, and data that already sits
 * in aligned memory (alignedBuffer) skips it.
 * Writes that are not aligned to DIRECT_ALIGN, files on file systems without O_DIRECT (tmpfs), and
 * RCOPY_DIRECT_IO=off use the page cache as before. Direct and buffered writes of one file stay
 * coherent: the kernel writes back and drops cached pages of the range before a direct write.
 */
export const DIRECT_ALIGN = 512;
const DIRECT_CHUNK = 1024 * 1024;
/** The largest write of aligned memory (no staging slab): one call, one thread-pool job. */
const ALIGNED_CHUNK = 8 * 1024 * 1024;
const DIRECT_SLABS = 16;
const DIRECT_DEPTH = 4;

class SlabPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(b: Buffer) => void> = [];
  constructor() {
    const mem = new WebAssembly.Memory({ initial: (DIRECT_SLABS * DIRECT_CHUNK) / 65536, maximum: (DIRECT_SLABS * DIRECT_CHUNK) / 65536 });
    for (let i = 0; i < DIRECT_SLABS; i++) this.free.push(Buffer.from(mem.buffer, i * DIRECT_CHUNK, DIRECT_CHUNK));
  }
  acquire(): Promise<Buffer> | Buffer {
    return this.free.pop() ?? new Promise((res) => this.waiting.push(res));
  }
  release(b: Buffer): void {
    const w = this.waiting.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}
let slabs: SlabPool | null = null;

/** Memory that starts on a page boundary (alignedBuffer's): its aligned parts go to O_DIRECT as they are. */
const aligned = new WeakSet<ArrayBufferLike>();

/**
 * A buffer of `size` bytes whose memory starts on a page boundary (a WebAssembly memory's), for
 * data that is written with O_DIRECT: parts of it at offsets and lengths that are multiples of
 * DIRECT_ALIGN go to the disk without the copy into a staging slab. Zeroed when made.
 */
export function alignedBuffer(size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / 65536));
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
  aligned.add(mem.buffer);
  return Buffer.from(mem.buffer, 0, size);
}

const isAligned = (b: Buffer): boolean => aligned.has(b.buffer) && b.byteOffset % DIRECT_ALIGN === 0 && b.length % DIRECT_ALIGN === 0;

/** A second handle on a file, opened with O_DIRECT on first use; off for good after any refusal. */
export class DirectFile {
  private fh: Promise<fsp.FileHandle | null> | null = null;
  private off: boolean;
  constructor(readonly path: string) {
    this.off = process.env.RCOPY_DIRECT_IO === 'off' || typeof fs.constants.O_DIRECT !== 'number';
  }

  /**
   * Writes data at pos with O_DIRECT when it can: returns false (nothing written) when it cannot,
   * and the caller writes through the page cache instead.
   */
  async write(data: Buffer | readonly Buffer[], pos: number): Promise<boolean> {
    if (this.off) return false;
    const bufs = Array.isArray(data) ? (data as readonly Buffer[]) : [data as Buffer];
    let len = 0;
    for (const b of bufs) len += b.length;
    if (len === 0 || pos % DIRECT_ALIGN !== 0 || len % DIRECT_ALIGN !== 0) return false;
    const fh = await this.handle();
    if (!fh) return false;
    try {
      if (bufs.every(isAligned)) {
        // no staging: big pieces, each one hand-over to the thread pool (a consistent image's wave
        // is one or two, not one per MiB queued behind the copy's own reads and writes)
        const pieces = cut(bufs, pos, ALIGNED_CHUNK);
        await forEachLimit(pieces.length, DIRECT_DEPTH, (i) => writePiece(fh, pieces[i]!.bufs, pieces[i]!.pos));
        return true;
      }
      const pieces = cut(bufs, pos, DIRECT_CHUNK);
      const pool = (slabs ??= new SlabPool());
      await forEachLimit(pieces.length, DIRECT_DEPTH, async (i) => {
        const p = pieces[i]!;
        const slab = await pool.acquire();
        try {
          let n = 0;
          for (const b of p.bufs) n += b.copy(slab, n);
          await writePiece(fh, [slab.subarray(0, n)], p.pos);
        } finally {
          pool.release(slab);
        }
      });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      this.off = true; // the file system took the open but not the write
      return false;
    }
  }

  /**
   * Reads `into.length` bytes at pos with O_DIRECT when it can: `into` must be aligned memory
   * (alignedBuffer's) at an aligned offset and length. Returns false (nothing read) when it cannot;
   * the caller reads through the page cache instead. A range with dirty cached pages is written
   * back by the kernel before the direct read, so the read sees every earlier write.
   */
  async read(into: Buffer, pos: number): Promise<boolean> {
    if (this.off || into.length === 0 || pos % DIRECT_ALIGN !== 0 || !isAligned(into)) return false;
    const fh = await this.handle();
    if (!fh) return false;
    let done: number;
    try {
      done = await readFully(fh, into, pos);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      this.off = true; // the file system took the open but not the read: the caller reads it all again
      return false;
    }
    into.fill(0, done); // past the end of the file: zeros, as a sparse image reads
    return true;
  }

  /** The O_DIRECT handle, opened on first use; null (and off for good) when the open is refused. */
  private async handle(): Promise<fsp.FileHandle | null> {
    const fh = await (this.fh ??= fsp.open(this.path, fs.constants.O_RDWR | fs.constants.O_DIRECT).catch(() => null));
    if (!fh) this.off = true;
    return fh;
  }

  async close(): Promise<void> {
    const fh = await this.fh;
    this.fh = null;
    await fh?.close();
  }
}

/** pwriteAll, with O_DIRECT through `direct` when the write is aligned and the file allows it. */
export async function pwriteMaybeDirect(fh: fsp.FileHandle, direct: DirectFile | null, data: Buffer | readonly Buffer[], pos: number): Promise<void> {
  if (direct && (await direct.write(data, pos))) return;
  await pwriteAll(fh, data, pos);
}

/** Makes a directory's entries durable (a file created, renamed or removed in it). */
export async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
