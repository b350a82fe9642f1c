/**
 * A log of whole tracks, one file per S-VOL and role: the drill's keep store (the old content of
 * tracks a restore overwrote, first record of a track wins) and its overlay (the view's own writes,
 * last record of a track wins).
 *
 * File layout (append-only), one record per track:
 *   header of 512 bytes: u32 magic 'RDL1' | u32 track | u32 length | u32 crc32(data) | zeros,
 *   then the data, padded with zeros to a multiple of 512.
 * append() writes its records in one write and fdatasyncs once: the records of one call are
 * durable together before it resolves. open() scans to the first short or bad record and cuts the
 * file there (a torn tail is a call that never resolved: a keep whose restore write never
 * started, or a view write that was never acknowledged). The index (track -> record) is rebuilt by
 * that scan: the file is its own map.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { crc32 } from '../util/crc32.js';
import { NOFOLLOW, fileMode } from '../array/home.js';

const MAGIC = 0x314c4452; // 'RDL1'
const HDR = 512;
const pad = (n: number): number => Math.ceil(n / HDR) * HDR;

export type LogWins = 'first' | 'last';

export class TrackLog {
  private index = new Map<number, { at: number; len: number }>();
  private size = 0;

  private constructor(
    readonly file: string,
    private readonly fh: fsp.FileHandle,
    private readonly wins: LogWins,
  ) {}

  static async open(file: string, wins: LogWins): Promise<TrackLog> {
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
    const hdr = Buffer.alloc(16);
    let pos = 0;
    while (pos + HDR <= fileSize) {
      await this.fh.read(hdr, 0, 16, pos);
      if (hdr.readUInt32LE(0) !== MAGIC) break;
      const track = hdr.readUInt32LE(4);
      const len = hdr.readUInt32LE(8);
      const at = pos + HDR;
      if (at + pad(len) > fileSize) break;
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, at);
      if (crc32(data) !== hdr.readUInt32LE(12)) break;
      if (this.wins === 'last' || !this.index.has(track)) this.index.set(track, { at, len });
      pos = at + pad(len);
    }
    this.size = pos;
    if (pos < fileSize) await this.fh.truncate(pos);
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
    let off = this.size;
    for (let i = 0; i < bufs.length;) {
      const batch = bufs.slice(i, i + 512);
      const { bytesWritten } = await this.fh.writev(batch, off);
      const want = batch.reduce((n, b) => n + b.length, 0);
      if (bytesWritten !== want) {
        await this.fh.truncate(this.size);
        throw new Error(`short write to ${this.file}`);
      }
      off += want;
      i += 512;
    }
    await this.fh.datasync();
    this.size = pos;
    for (const [t, p] of places) this.index.set(t, p);
  }

  /** The track's content held here, or null. */
  async read(track: number): Promise<Buffer | null> {
    const p = this.index.get(track);
    if (!p) return null;
    const data = Buffer.alloc(p.len);
    let done = 0;
    while (done < p.len) {
      const { bytesRead } = await this.fh.read(data, done, p.len - done, p.at + done);
      if (!bytesRead) throw new Error(`short read of ${this.file}`);
      done += bytesRead;
    }
    return data;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.close();
    await fsp.rm(this.file, { force: true });
  }
}
