/**
 * TrackBitmap: one bit per track, for differential bitmaps, allocation maps and copy progress.
 * In memory a Uint32Array (bit t is bit t%32 of word t/32); a cached count is kept up to date by
 * every change. Bits past nbits are always zero.
 *
 * Persistent form (openFile), integers little-endian:
 *   [0, 4096)   header: 0 u32 crc32 of [4, 64) | 4 magic 'RCBM' | 8 u32 version | 12 u32 bit bytes per
 *               page (4080) | 16 u64 nbits | 24 u32 page count | rest zero
 *   then one 4 KiB page per 32640 bits, page p at 4096 * (1 + p):
 *               0 u32 crc32 of [4, 4096) | 4 magic 'RCBP' | 8 u32 p | 12 u32 0 | 16..4096 the bits
 * Invariants:
 *   - Every page on disk is written whole with its crc; the file is created whole (temp + rename).
 *   - A change marks its page dirty; flush() writes only dirty pages (a snapshot taken when it starts)
 *     and fsyncs. setAndPersist() returns once its bits are on disk; concurrent callers share a flush.
 *   - Pages are written synchronously (setAndWrite, flush; only the fsync is asynchronous), so a
 *     page on file is never older than one written before it.
 *   - On any doubt when opening (bad header crc, bad page, short file) every bit is taken as set and
 *     `recovery.recoveredAllSet` says so: safe for differential and allocation maps. A map that
 *     records progress must therefore store "still to do" bits, never "done" bits.
 *
 * long: one data structure and its file format; its word-level operations belong together.
 */
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import { E, InternalError } from '../../errors.js';
import { crc32 } from '../util/crc32.js';
import { CREATE_FLAGS, NOFOLLOW, fileMode } from '../array/home.js';

const PAGE = 4096;
const PAGE_HDR = 16;
const PAGE_WORDS = (PAGE - PAGE_HDR) / 4; // 1020
export const BITS_PER_PAGE = PAGE_WORDS * 32; // 32640
const FILE_MAGIC = 0x4d424352; // 'RCBM'
const PAGE_MAGIC = 0x50424352; // 'RCBP'
const VERSION = 1;
const MAX_BITS = 2 ** 32 - 64;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new InternalError('bitmap files assume a little-endian machine');

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Mask of bits lo..hi (inclusive) within one word. */
function mask(lo: number, hi: number): number {
  return ((0xffffffff >>> (31 - (hi - lo))) << lo) >>> 0;
}

/** The tracks [first, last] that a byte range touches, or null for an empty range. */
export function trackRange(offset: number, length: number, trackSize: number): [number, number] | null {
  if (length <= 0) return null;
  return [Math.floor(offset / trackSize), Math.floor((offset + length - 1) / trackSize)];
}

export interface BitmapRecovery {
  recoveredAllSet: boolean;
  reason?: string;
}

export class TrackBitmap {
  readonly nbits: number;
  private readonly words: Uint32Array;
  private readonly usedWords: number;
  private ones = 0;
  // persistence (openFile); null for an in-memory map
  private fh: fsp.FileHandle | null = null;
  private filePath = '';
  private readonly dirty = new Set<number>();
  private inflight = new Set<number>();
  private activeFlush: Promise<void> | null = null;
  private pendingFlush: Promise<void> | null = null;
  recovery: BitmapRecovery = { recoveredAllSet: false };

  constructor(nbits: number) {
    if (!Number.isSafeInteger(nbits) || nbits < 0 || nbits > MAX_BITS) throw new InternalError(`bitmap size ${nbits} is not valid`);
    this.nbits = nbits;
    this.usedWords = Math.ceil(nbits / 32);
    this.words = new Uint32Array(Math.max(1, Math.ceil(nbits / BITS_PER_PAGE)) * PAGE_WORDS);
  }

  get pageCount(): number {
    return this.words.length / PAGE_WORDS;
  }
  get persistent(): boolean {
    return this.fh !== null;
  }
  get recoveredAllSet(): boolean {
    return this.recovery.recoveredAllSet;
  }

  private check(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.nbits) throw E.outOfRange(`track ${t} is outside 0..${this.nbits - 1}`);
  }
  private touch(word: number): void {
    if (this.fh) this.dirty.add(Math.floor(word / PAGE_WORDS));
  }

  get(t: number): boolean {
    this.check(t);
    return (this.words[t >>> 5]! & (1 << (t & 31))) !== 0;
  }

  /** Sets one bit; true when it was clear before. */
  set(t: number): boolean {
    this.check(t);
    const w = t >>> 5;
    const m = 1 << (t & 31);
    if (this.words[w]! & m) return false;
    this.words[w]! |= m;
    this.ones++;
    this.touch(w);
    return true;
  }

  /** Clears one bit; true when it was set before. */
  clear(t: number): boolean {
    this.check(t);
    const w = t >>> 5;
    const m = 1 << (t & 31);
    if (!(this.words[w]! & m)) return false;
    this.words[w]! &= ~m;
    this.ones--;
    this.touch(w);
    return true;
  }

  /** Sets firstTrack..lastTrack inclusive. */
  setRange(first: number, last: number): void {
    this.updateRange(first, last, true);
  }
  /** Clears firstTrack..lastTrack inclusive. */
  clearRange(first: number, last: number): void {
    this.updateRange(first, last, false);
  }

  private updateRange(first: number, last: number, on: boolean): void {
    if (last < first) return;
    this.check(first);
    this.check(last);
    const fw = first >>> 5;
    const lw = last >>> 5;
    for (let w = fw; w <= lw; w++) {
      const m = mask(w === fw ? first & 31 : 0, w === lw ? last & 31 : 31);
      const old = this.words[w]!;
      const nw = (on ? old | m : old & ~m) >>> 0;
      if (nw !== old) {
        this.words[w] = nw;
        this.ones += on ? popcount32((nw ^ old) >>> 0) : -popcount32((nw ^ old) >>> 0);
        this.touch(w);
      }
    }
  }

  setAll(): void {
    for (let w = 0; w < this.usedWords; w++)
      if (this.words[w] !== 0xffffffff) {
        this.words[w] = 0xffffffff;
        this.touch(w);
      }
    this.maskTail();
    this.ones = this.nbits;
  }

  clearAll(): void {
    if (this.ones === 0) return;
    for (let w = 0; w < this.usedWords; w++)
      if (this.words[w] !== 0) {
        this.words[w] = 0;
        this.touch(w);
      }
    this.ones = 0;
  }

  count(): number {
    return this.ones;
  }

  /** The first set bit at or after `from`, or -1. */
  nextSet(from: number): number {
    if (from < 0) from = 0;
    if (from >= this.nbits) return -1;
    let w = from >>> 5;
    let x = this.words[w]! & (0xffffffff << (from & 31));
    while (x === 0) {
      if (++w >= this.usedWords) return -1;
      x = this.words[w]!;
    }
    return w * 32 + (31 - Math.clz32(x & -x));
  }

  /** The first clear bit at or after `from`, or -1. */
  nextClear(from: number): number {
    if (from < 0) from = 0;
    if (from >= this.nbits) return -1;
    let w = from >>> 5;
    let x = ~this.words[w]! & (0xffffffff << (from & 31));
    while (x === 0) {
      if (++w >= this.usedWords) return -1;
      x = ~this.words[w]!;
    }
    const t = w * 32 + (31 - Math.clz32(x & -x));
    return t < this.nbits ? t : -1;
  }

  /** Runs of set bits as [first, lastInclusive], in order. */
  *runs(): Generator<[number, number]> {
    let s = this.nextSet(0);
    while (s !== -1) {
      const e = this.nextClear(s);
      if (e === -1) {
        yield [s, this.nbits - 1];
        return;
      }
      yield [s, e - 1];
      s = this.nextSet(e);
    }
  }

  /** this |= other; both must have the same size. */
  or(other: TrackBitmap): void {
    if (other.nbits !== this.nbits) throw new InternalError(`or() of bitmaps of ${this.nbits} and ${other.nbits} bits`);
    for (let w = 0; w < this.usedWords; w++) {
      const old = this.words[w]!;
      const nw = (old | other.words[w]!) >>> 0;
      if (nw !== old) {
        this.words[w] = nw;
        this.ones += popcount32((nw ^ old) >>> 0);
        this.touch(w);
      }
    }
  }

  /** The bits as bytes: bit t is bit t%8 of byte t/8. A copy. */
  toBuffer(): Buffer {
    return Buffer.from(new Uint8Array(this.words.buffer, this.words.byteOffset, Math.ceil(this.nbits / 8)));
  }

  static fromBuffer(buf: Uint8Array, nbits: number): TrackBitmap {
    const b = new TrackBitmap(nbits);
    b.loadBytes(buf, 0, Math.min(buf.length, Math.ceil(nbits / 8)));
    return b;
  }

  /** Copies bytes into the bit array at byte offset `at`, then masks the tail and recounts. */
  private loadBytes(src: Uint8Array, at: number, len: number): void {
    new Uint8Array(this.words.buffer, this.words.byteOffset).set(src.subarray(0, len), at);
    this.maskTail();
    this.recount();
  }

  private maskTail(): void {
    const r = this.nbits & 31;
    if (r !== 0) this.words[this.usedWords - 1]! &= mask(0, r - 1);
    this.words.fill(0, this.usedWords);
  }

  private recount(): void {
    let n = 0;
    for (let w = 0; w < this.usedWords; w++) if (this.words[w] !== 0) n += popcount32(this.words[w]!);
    this.ones = n;
  }

  // ---- persistence -------------------------------------------------------------------------

  /** Opens (or creates, all clear) the bitmap file of `nbits` bits. */
  static async openFile(file: string, nbits: number): Promise<TrackBitmap> {
    const bm = new TrackBitmap(nbits);
    bm.filePath = file;
    let data: Buffer | null = null;
    try {
      data = await fsp.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (data === null) {
      await bm.writeWholeFile();
    } else {
      const reason = bm.load(data);
      if (reason) {
        bm.setAll();
        bm.recovery = { recoveredAllSet: true, reason };
        await bm.writeWholeFile();
      }
    }
    bm.fh = await fsp.open(file, fs.constants.O_RDWR | NOFOLLOW);
    return bm;
  }

  /** Loads a file image; returns why it cannot be trusted, or undefined. */
  private load(data: Buffer): string | undefined {
    if (data.length < PAGE) return 'the file is shorter than its header';
    if (data.readUInt32LE(4) !== FILE_MAGIC || data.readUInt32LE(0) !== crc32(data.subarray(4, 64))) return 'the header is corrupt';
    const fileBits = data.readUInt32LE(16) + data.readUInt32LE(20) * 2 ** 32;
    if (data.readUInt32LE(8) !== VERSION || data.readUInt32LE(12) !== PAGE - PAGE_HDR || data.readUInt32LE(24) !== this.pageCount) {
      return 'the header does not match this bitmap format';
    }
    if (fileBits !== this.nbits) {
      throw E.integrity(`bitmap ${this.filePath} has ${fileBits} bits, expected ${this.nbits}`, 'the volume size does not match its bitmap file');
    }
    if (data.length < PAGE * (1 + this.pageCount)) return `the file is short (${data.length} bytes)`;
    const bytes = new Uint8Array(this.words.buffer, this.words.byteOffset);
    for (let p = 0; p < this.pageCount; p++) {
      const pg = data.subarray(PAGE * (1 + p), PAGE * (2 + p));
      if (pg.readUInt32LE(4) !== PAGE_MAGIC || pg.readUInt32LE(8) !== p || pg.readUInt32LE(0) !== crc32(pg.subarray(4))) {
        return `page ${p} is corrupt or torn`;
      }
      bytes.set(pg.subarray(PAGE_HDR), p * PAGE_WORDS * 4);
    }
    this.maskTail();
    this.recount();
    return undefined;
  }

  private encodePage(p: number, into: Buffer): void {
    into.fill(0, 0, PAGE_HDR);
    into.writeUInt32LE(PAGE_MAGIC, 4);
    into.writeUInt32LE(p, 8);
    into.set(new Uint8Array(this.words.buffer, this.words.byteOffset + p * PAGE_WORDS * 4, PAGE_WORDS * 4), PAGE_HDR);
    into.writeUInt32LE(crc32(into.subarray(4, PAGE)), 0);
  }

  /** Writes the whole map to a temp file and renames it over the file. */
  private async writeWholeFile(): Promise<void> {
    const img = Buffer.alloc(PAGE * (1 + this.pageCount));
    img.writeUInt32LE(FILE_MAGIC, 4);
    img.writeUInt32LE(VERSION, 8);
    img.writeUInt32LE(PAGE - PAGE_HDR, 12);
    img.writeUInt32LE(this.nbits % 2 ** 32, 16);
    img.writeUInt32LE(Math.floor(this.nbits / 2 ** 32), 20);
    img.writeUInt32LE(this.pageCount, 24);
    img.writeUInt32LE(crc32(img.subarray(4, 64)), 0);
    for (let p = 0; p < this.pageCount; p++) this.encodePage(p, img.subarray(PAGE * (1 + p), PAGE * (2 + p)));
    const tmp = `${this.filePath}.tmp-${process.pid}`;
    const fh = await fsp.open(tmp, CREATE_FLAGS, fileMode());
    try {
      await fh.writeFile(img);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.filePath);
    const d = await fsp.open(path.dirname(this.filePath), 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    this.dirty.clear();
  }

  private requireFile(): fsp.FileHandle {
    if (!this.fh) throw new InternalError('this bitmap has no file (use TrackBitmap.openFile)');
    return this.fh;
  }

  /** Writes the pages changed before this call and fsyncs. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.requireFile();
    if (this.pendingFlush) return this.pendingFlush; // not started yet: it will see our pages
    const p: Promise<void> = (this.activeFlush ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.pendingFlush = null;
        this.activeFlush = p;
        return this.doFlush();
      })
      .finally(() => {
        if (this.activeFlush === p) this.activeFlush = null;
      });
    this.pendingFlush = p;
    return p;
  }

  private async doFlush(): Promise<void> {
    const fh = this.requireFile();
    const pages = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    this.inflight = new Set(pages);
    try {
      // written at once, like setAndWrite's: page writes land in the order their pages were encoded
      for (let i = 0; i < pages.length;) {
        let j = i + 1;
        while (j < pages.length && pages[j] === pages[j - 1]! + 1) j++;
        const buf = Buffer.allocUnsafe((j - i) * PAGE);
        for (let k = i; k < j; k++) this.encodePage(pages[k]!, buf.subarray((k - i) * PAGE, (k - i + 1) * PAGE));
        writeAllSync(fh.fd, buf, PAGE * (1 + pages[i]!));
        i = j;
      }
      if (pages.length > 0) await fh.datasync();
    } catch (err) {
      for (const p of pages) this.dirty.add(p);
      throw err;
    } finally {
      this.inflight = new Set();
    }
  }

  /** Sets the bits and returns once they are on disk. Bits that are already set and durable cost
   *  nothing; the rest share one write + fsync with concurrent callers. */
  async setAndPersist(tracks: Iterable<number> | number): Promise<void> {
    this.requireFile();
    let needFlush = false;
    for (const t of typeof tracks === 'number' ? [tracks] : tracks) {
      this.set(t);
      const p = Math.floor((t >>> 5) / PAGE_WORDS);
      if (this.dirty.has(p) || this.inflight.has(p)) needFlush = true;
    }
    if (needFlush) await this.flush();
  }

  /** One page buffer for setAndWrite (written synchronously, so never shared by two writes). */
  private pageBuf: Buffer | null = null;

  /**
   * Sets the bits and writes their pages to the file before it returns, without fsync: safe
   * against a killed process (the page cache survives it); flush() later makes them durable.
   * The write is synchronous (pwrite of a 4 KiB page into the page cache, microseconds): a host
   * write into fresh tracks of a volume needs its allocation bits written before its data, and a
   * round trip through the thread pool per map write cost more of the controller's main thread
   * than the volume writes themselves (bench/nbd.ts, profiled). Every page write of this map is
   * synchronous (flush()'s too), so they land in the order their pages were encoded: a page on
   * file always carries every bit set before it was written. Throws the write's error.
   */
  setAndWrite(tracks: Iterable<number> | number): void {
    const fh = this.requireFile();
    let last = -1;
    for (const t of typeof tracks === 'number' ? [tracks] : tracks) {
      this.set(t);
      const p = Math.floor((t >>> 5) / PAGE_WORDS);
      if (p === last) continue;
      if (last >= 0) this.writePageSync(fh, last);
      last = p;
    }
    if (last >= 0) this.writePageSync(fh, last);
  }

  private writePageSync(fh: fsp.FileHandle, p: number): void {
    const buf = (this.pageBuf ??= Buffer.allocUnsafe(PAGE));
    this.encodePage(p, buf);
    writeAllSync(fh.fd, buf, PAGE * (1 + p));
  }

  /** Flushes dirty pages and closes the file. */
  async close(): Promise<void> {
    if (!this.fh) return;
    await this.flush();
    const fh = this.fh;
    this.fh = null;
    await fh.close();
  }
}

/** Writes all of buf at pos (positional, synchronous). */
function writeAllSync(fd: number, buf: Buffer, pos: number): void {
  for (let done = 0; done < buf.length;) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, pos + done);
    if (n <= 0) throw new InternalError('bitmap write wrote nothing');
    done += n;
  }
}
