/**
 * A log of whole tracks, one file per S-VOL and role: the drill's keep store (the old content of
 * tracks a restore overwrote, first record of a track wins) and its overlay (the view's own writes,
 * last record of a track wins).
 *
 * File layout (append-only), one record per track or per run of consecutive tracks:
 *   header of 512 bytes: u32 magic 'RDL1' | u32 track | u32 length | u32 crc32(data) | u32 count |
 *   u32 track size | zeros, then the data, padded with zeros to a multiple of 512. count 0 (or 1)
 *   is one track of `length` bytes; count n > 1 is tracks track..track+n-1, each of `track size`
 *   bytes but the last (a keep store writes a batch's consecutive tracks as one run: appendRuns).
 * append() writes its records in one write and fdatasyncs once: the records of one call are
 * durable together before it resolves. open() scans to the first short or bad record and cuts the
 * file there (a torn tail is a call that never resolved: a keep whose restore write never
 * started, or a view write that was never acknowledged). The index (track -> record) is rebuilt by
 * that scan: the file is its own map.
 *
 * Compaction (last-wins logs: an overlay whose tracks are written again and again): when the dead
 * records (replaced by a later one of their track) pass both the live bytes and COMPACT_FLOOR, the
 * live records are copied, in file order, to FILE.compact, made durable, and renamed over the file
 * (the directory synced). The file is whole before and after the rename; a FILE.compact left by a
 * crash is removed at open. So an overlay holds at most about twice the distinct tracks written
 * (plus the floor), whatever the number of rewrites. Reads that began on the old file finish on it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from '../util/crc32.js';
import { NOFOLLOW, fileMode } from '../array/home.js';
import { DirectFile, pwriteMaybeDirect, syncDir } from '../util/file-io.js';
import { trackBuffers } from '../util/buffer-pool.js';

const MAGIC = 0x314c4452; // 'RDL1'
const HDR = 512;
const pad = (n: number): number => Math.ceil(n / HDR) * HDR;
/** Dead bytes a last-wins log may hold before it is compacted (and never more than its live bytes beyond that). */
export const COMPACT_FLOOR = 1 << 20;
const recBytes = (len: number): number => HDR + pad(len);

export type LogWins = 'first' | 'last';

/** A run of consecutive tracks to keep: its first track, the track size, and how to read its data (a buffer of trackBuffers or its own: given back once written). */
export interface KeepRun {
  first: number;
  trackSize: number;
  read: () => Promise<Buffer>;
}

/** A promise whose rejection is handled later (awaited), never reported as unhandled meanwhile. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export class TrackLog {
  private index = new Map<number, { at: number; len: number }>();
  private size = 0;
  /** Bytes of the records in the index (the rest of the file is dead: replaced records). */
  private live = 0;
  /** Reads in flight (a compaction closes the old file once they are done). */
  private readonly reading = new Set<Promise<unknown>>();
  /** O_DIRECT writes of a keep store (first wins: never compacted, so the file stays the same). */
  private readonly direct: DirectFile | null;

  private constructor(
    readonly file: string,
    private fh: fsp.FileHandle,
    private readonly wins: LogWins,
  ) {
    this.direct = wins === 'first' ? new DirectFile(file) : null;
  }

  static async open(file: string, wins: LogWins): Promise<TrackLog> {
    await fsp.rm(`${file}.compact`, { force: true });
    const fh = await fsp.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT | NOFOLLOW, fileMode());
    const log = new TrackLog(file, fh, wins);
    try {
      await log.scan((await fh.stat()).size);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return log;
  }

  private async scan(fileSize: number): Promise<void> {
    const hdr = Buffer.alloc(24);
    let pos = 0;
    while (pos + HDR <= fileSize) {
      await this.fh.read(hdr, 0, 24, pos);
      if (hdr.readUInt32LE(0) !== MAGIC) break;
      const track = hdr.readUInt32LE(4);
      const len = hdr.readUInt32LE(8);
      const at = pos + HDR;
      if (at + pad(len) > fileSize) break;
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, at);
      if (crc32(data) !== hdr.readUInt32LE(12)) break;
      const count = hdr.readUInt32LE(16) || 1;
      const ts = count > 1 ? hdr.readUInt32LE(20) : len;
      for (let i = 0; i < count; i++) if (this.wins === 'last' || !this.index.has(track + i)) this.place(track + i, { at: at + i * ts, len: Math.min(ts, len - i * ts) });
      pos = at + pad(len);
    }
    this.size = pos;
    if (pos < fileSize) await this.fh.truncate(pos);
  }

  /** Indexes a record, counting the live bytes (a replaced record becomes dead). */
  private place(track: number, p: { at: number; len: number }): void {
    const old = this.index.get(track);
    if (old) this.live -= recBytes(old.len);
    this.index.set(track, p);
    this.live += recBytes(p.len);
  }

  has(track: number): boolean {
    return this.index.has(track);
  }

  /** The tracks held. */
  get tracks(): number {
    return this.index.size;
  }

  /** The bytes of the file (what the log costs on disk). */
  get bytes(): number {
    return this.size;
  }

  /** Appends whole tracks as one durable step (one write, one fdatasync). */
  async append(entries: ReadonlyArray<{ track: number; data: Buffer }>): Promise<void> {
    const todo = this.wins === 'first' ? entries.filter((e) => !this.index.has(e.track)) : entries;
    if (!todo.length) return;
    const bufs: Buffer[] = [];
    const places: Array<[number, { at: number; len: number }]> = [];
    let pos = this.size;
    for (const { track, data } of todo) {
      const h = Buffer.alloc(HDR);
      h.writeUInt32LE(MAGIC, 0);
      h.writeUInt32LE(track, 4);
      h.writeUInt32LE(data.length, 8);
      h.writeUInt32LE(crc32(data), 12);
      bufs.push(h, data);
      if (pad(data.length) > data.length) bufs.push(Buffer.alloc(pad(data.length) - data.length));
      places.push([track, { at: pos + HDR, len: data.length }]);
      pos += HDR + pad(data.length);
    }
    await this.writeDurably(bufs);
    this.size = pos;
    for (const [t, p] of places) this.place(t, p);
    if (this.size - this.live > Math.max(this.live, COMPACT_FLOOR)) await this.compact();
  }

  /**
   * A keep store's append: runs of consecutive whole tracks (none held yet, each of trackSize
   * bytes but a volume's short last one), one record per run, as one durable step (one fdatasync
   * at the end). A run's data is read (`read`) while the run before it is written.
   */
  async appendRuns(runs: ReadonlyArray<KeepRun>): Promise<void> {
    if (this.wins !== 'first') throw new Error('runs are for a keep store');
    if (!runs.length) return;
    const places: Array<[number, { at: number; len: number }]> = [];
    let pos = this.size;
    let next: Promise<Buffer> | null = quiet(runs[0]!.read());
    try {
      for (let r = 0; r < runs.length; r++) {
        const { first, trackSize } = runs[r]!;
        const data = await next!;
        next = r + 1 < runs.length ? quiet(runs[r + 1]!.read()) : null;
        const count = Math.ceil(data.length / trackSize);
        const h = Buffer.alloc(HDR);
        h.writeUInt32LE(MAGIC, 0);
        h.writeUInt32LE(first, 4);
        h.writeUInt32LE(data.length, 8);
        h.writeUInt32LE(crc32(data), 12);
        h.writeUInt32LE(count, 16);
        h.writeUInt32LE(trackSize, 20);
        const bufs = [h, data];
        if (pad(data.length) > data.length) bufs.push(Buffer.alloc(pad(data.length) - data.length));
        await pwriteMaybeDirect(this.fh, this.direct, bufs, pos);
        trackBuffers.give(data);
        for (let i = 0; i < count; i++) places.push([first + i, { at: pos + HDR + i * trackSize, len: Math.min(trackSize, data.length - i * trackSize) }]);
        pos += HDR + pad(data.length);
      }
      await this.fh.datasync();
    } catch (e) {
      await next?.catch(() => undefined);
      await this.fh.truncate(this.size).catch(() => undefined);
      throw e;
    }
    this.size = pos;
    for (const [t, p] of places) if (!this.index.has(t)) this.place(t, p);
  }

  /**
   * Writes buffers at the end of the file and fdatasyncs; a failed write is cut off again. A keep
   * store writes around the page cache (O_DIRECT, file-io.ts: its records are 512-aligned), as
   * the restore's own S-VOL writes do: nothing reads kept tracks back soon.
   */
  private async writeDurably(bufs: Buffer[]): Promise<void> {
    try {
      await pwriteMaybeDirect(this.fh, this.direct, bufs, this.size);
    } catch (e) {
      await this.fh.truncate(this.size).catch(() => undefined);
      throw e;
    }
    await this.fh.datasync();
  }

  /** Copies the live records to a new file and renames it over this one (see the file's comment). */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.compact`;
    const fh = await fsp.open(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | NOFOLLOW, fileMode());
    const index = new Map<number, { at: number; len: number }>();
    let pos = 0;
    try {
      const recs = [...this.index].sort((a, b) => a[1].at - b[1].at);
      for (let i = 0; i < recs.length;) {
        // up to 4 MiB of records per read and write
        const batch: typeof recs = [];
        let n = 0;
        for (; i < recs.length && (n === 0 || n + recBytes(recs[i]![1].len) <= 4 << 20); i++) {
          batch.push(recs[i]!);
          n += recBytes(recs[i]![1].len);
        }
        const bufs = await Promise.all(batch.map(([, p]) => this.readAll(this.fh, p.at - HDR, recBytes(p.len))));
        const { bytesWritten } = await fh.writev(bufs, pos);
        if (bytesWritten !== n) throw new Error(`short write to ${tmp}`);
        for (const [t, p] of batch) {
          index.set(t, { at: pos + HDR, len: p.len });
          pos += recBytes(p.len);
        }
      }
      await fh.datasync();
      await fsp.rename(tmp, this.file);
    } catch {
      // not compacted: the log stays whole as it was (the append that asked is durable)
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      return;
    }
    const old = this.fh;
    this.fh = fh;
    this.index = index;
    this.size = this.live = pos;
    await Promise.allSettled([...this.reading]);
    await old.close().catch(() => undefined);
    // the rename made durable before the next append counts on it
    await syncDir(path.dirname(this.file));
  }

  private async readAll(fh: fsp.FileHandle, at: number, len: number): Promise<Buffer> {
    const data = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(data, done, len - done, at + done);
      if (!bytesRead) throw new Error(`short read of ${this.file}`);
      done += bytesRead;
    }
    return data;
  }

  /** The track's content held here, or null. */
  async read(track: number): Promise<Buffer | null> {
    const p = this.index.get(track);
    if (!p) return null;
    // the file and place as of now: a compaction meanwhile closes this file only after this read
    const r = this.readAll(this.fh, p.at, p.len);
    this.reading.add(r);
    try {
      return await r;
    } finally {
      this.reading.delete(r);
    }
  }

  async close(): Promise<void> {
    await this.direct?.close().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.close();
    await fsp.rm(this.file, { force: true });
  }
}
