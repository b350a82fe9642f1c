/**
 * The consistent image of an S-VOL while a resync overwrites it: before a track is overwritten for
 * the first time, its old content is appended here and made durable (copy-on-write). revert()
 * writes every saved track back, giving the S-VOL exactly as it was when the resync began
 * (= the image of the suspension).
 *
 * File layout (append-only): records of  u32 magic | u32 track | u32 length | u32 crc32(data) | data.
 * Recovery reads records until the first short or bad one (a torn tail is dropped: its track was
 * not yet overwritten, since the overwrite waits for the save to be durable).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { pwriteAll } from '../file-io.js';
import { crc32 } from '../journal-file.js';
import type { Volume } from '../volume.js';

const MAGIC = 0x5243494b; // 'RCIK'
const HDR = 16;

export class ImageKeeper {
  private index = new Map<number, number>(); // track → file offset of its record
  private size = 0;

  private constructor(
    readonly file: string,
    private fh: fsp.FileHandle,
    readonly created: number,
  ) {}

  static exists(file: string): boolean {
    return fs.existsSync(file);
  }

  static async open(file: string): Promise<ImageKeeper> {
    const fresh = !fs.existsSync(file);
    const fh = await fsp.open(file, fresh ? 'w+' : 'r+');
    const st = await fh.stat();
    const k = new ImageKeeper(file, fh, st.birthtimeMs || st.mtimeMs);
    if (!fresh) await k.scan(st.size);
    return k;
  }

  private async scan(fileSize: number): Promise<void> {
    const hdr = Buffer.alloc(HDR);
    let pos = 0;
    while (pos + HDR <= fileSize) {
      await this.fh.read(hdr, 0, HDR, pos);
      if (hdr.readUInt32LE(0) !== MAGIC) break;
      const track = hdr.readUInt32LE(4);
      const len = hdr.readUInt32LE(8);
      if (pos + HDR + len > fileSize) break;
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, pos + HDR);
      if (crc32(data) !== hdr.readUInt32LE(12)) break;
      if (!this.index.has(track)) this.index.set(track, pos);
      pos += HDR + len;
    }
    this.size = pos;
    await this.fh.truncate(pos);
  }

  get tracks(): number {
    return this.index.size;
  }

  has(track: number): boolean {
    return this.index.has(track);
  }

  /**
   * Saves the current content of the given tracks of vol (those not saved yet), durably.
   * `seen` gets each saved track's content (a resync with references hashes it from there).
   */
  async save(vol: Volume, tracks: number[], seen?: (track: number, data: Buffer) => void): Promise<void> {
    const todo = tracks.filter((t) => !this.index.has(t));
    if (!todo.length) return;
    const bufs: Buffer[] = [];
    const places: Array<[number, number]> = [];
    let pos = this.size;
    const datas = await Promise.all(
      todo.map((t) => {
        const off = t * vol.trackSize;
        const len = Math.min(vol.trackSize, vol.size - off);
        return vol.isAllocated(t) ? vol.read(off, len) : Promise.resolve(Buffer.alloc(len));
      }),
    );
    for (let k = 0; k < todo.length; k++) {
      const t = todo[k]!;
      const len = datas[k]!.length;
      const data = datas[k]!;
      seen?.(t, data);
      const h = Buffer.alloc(HDR);
      h.writeUInt32LE(MAGIC, 0);
      h.writeUInt32LE(t, 4);
      h.writeUInt32LE(len, 8);
      h.writeUInt32LE(crc32(data), 12);
      bufs.push(h, data);
      places.push([t, pos]);
      pos += HDR + len;
    }
    await pwriteAll(this.fh, bufs, this.size);
    await this.fh.datasync();
    this.size = pos;
    for (const [t, p] of places) this.index.set(t, p);
  }

  /** Writes every saved track back through `write`; returns the number of tracks restored. */
  async revert(write: (offset: number, data: Buffer) => Promise<void>, trackSize: number): Promise<number> {
    const hdr = Buffer.alloc(HDR);
    for (const [track, pos] of this.index) {
      await this.fh.read(hdr, 0, HDR, pos);
      const len = hdr.readUInt32LE(8);
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, pos + HDR);
      await write(track * trackSize, data);
    }
    return this.index.size;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  async destroy(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.file, { force: true });
  }
}
