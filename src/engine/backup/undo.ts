/**
 * The undo file of one backup generation: backups/bk-NNNNNN.undo in the array directory.
 *
 * A backup volume holds the image of the newest backup written into it. Before a later backup
 * overwrites a track of the backup volume, the old content of that track (what the older
 * generation holds there) is appended here, so the older generation can still be rebuilt: the
 * backup volume, overlaid by the undo files of that generation and of every newer one, the first
 * hit winning (see manager.ts).
 *
 * Layout, integers little-endian:
 *   [0, 64)   header: 0 u32 crc32 of [4, 64) | 4 magic 'RCBU' | 8 u32 version (1) | 12 u32 track size
 *   then records, each  0 u32 crc32 of [4, 16 + len) | 4 magic 'RCUR' | 8 u32 track | 12 u32 len | data
 * Invariants:
 *   - Records are only appended; for a track the FIRST record wins (a merge that was interrupted can
 *     leave later duplicates, which are ignored).
 *   - An append is made durable (sync()) before the backup volume track it saves is overwritten, so a
 *     torn record at the tail belongs to an overwrite that never happened. Opening scans to the first
 *     bad record and cuts the file there.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { E } from '../../errors.js';
import { GroupSync } from '../util/group-sync.js';
import { crc32 } from '../util/crc32.js';
import { pwriteAll } from '../util/file-io.js';
import { NOFOLLOW, fileMode } from '../array/home.js';

const HDR = 64;
const REC_HDR = 16;
const FILE_MAGIC = 0x55424352; // 'RCBU'
const REC_MAGIC = 0x52554352; // 'RCUR'
const VERSION = 1;

export class UndoFile {
  /** track -> offset of its data in the file */
  private readonly index = new Map<number, number>();
  private end = HDR;
  private readonly syncer: GroupSync;

  private constructor(
    readonly file: string,
    readonly trackSize: number,
    private fh: fsp.FileHandle,
  ) {
    this.syncer = new GroupSync(() => this.fh.datasync());
  }

  /** Opens (or, with create, creates) an undo file; a torn tail is cut off. */
  static async open(file: string, trackSize: number, opts: { create?: boolean; durable?: boolean } = {}): Promise<UndoFile> {
    if (!fs.existsSync(file)) {
      if (!opts.create) throw E.integrity(`the undo file ${file} of a backup generation is missing`, 'the older generation cannot be rebuilt; delete it with rcopy backup delete');
      const h = Buffer.alloc(HDR);
      h.writeUInt32LE(FILE_MAGIC, 4);
      h.writeUInt32LE(VERSION, 8);
      h.writeUInt32LE(trackSize, 12);
      h.writeUInt32LE(crc32(h.subarray(4, HDR)), 0);
      const fh = await fsp.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, fileMode());
      await pwriteAll(fh, h, 0);
      if (opts.durable !== false) await fh.sync();
      return new UndoFile(file, trackSize, fh);
    }
    const fh = await fsp.open(file, fs.constants.O_RDWR | NOFOLLOW);
    const u = new UndoFile(file, trackSize, fh);
    try {
      await u.scan();
    } catch (e) {
      await fh.close();
      throw e;
    }
    return u;
  }

  private async scan(): Promise<void> {
    const size = (await this.fh.stat()).size;
    const h = Buffer.alloc(HDR);
    await this.fh.read(h, 0, HDR, 0);
    if (size < HDR || h.readUInt32LE(4) !== FILE_MAGIC || h.readUInt32LE(0) !== crc32(h.subarray(4, HDR))) {
      throw E.integrity(`the undo file ${this.file} has a corrupt header`);
    }
    if (h.readUInt32LE(12) !== this.trackSize) throw E.integrity(`the undo file ${this.file} has track size ${h.readUInt32LE(12)}, expected ${this.trackSize}`);
    let pos = HDR;
    const rh = Buffer.alloc(REC_HDR);
    const data = Buffer.allocUnsafe(this.trackSize);
    while (pos + REC_HDR <= size) {
      await this.fh.read(rh, 0, REC_HDR, pos);
      const len = rh.readUInt32LE(12);
      if (rh.readUInt32LE(4) !== REC_MAGIC || len !== this.trackSize || pos + REC_HDR + len > size) break;
      await this.fh.read(data, 0, len, pos + REC_HDR);
      const c = crc32(data, crc32(rh.subarray(4, REC_HDR)));
      if (c !== rh.readUInt32LE(0)) break;
      const t = rh.readUInt32LE(8);
      if (!this.index.has(t)) this.index.set(t, pos + REC_HDR);
      pos += REC_HDR + len;
    }
    if (pos !== size) await this.fh.truncate(pos);
    this.end = pos;
  }

  get count(): number {
    return this.index.size;
  }

  has(track: number): boolean {
    return this.index.has(track);
  }

  tracks(): IterableIterator<number> {
    return this.index.keys();
  }

  /** The saved content of a track (a whole track). */
  async read(track: number, into?: Buffer): Promise<Buffer> {
    const at = this.index.get(track);
    if (at === undefined) throw E.integrity(`undo file ${this.file} has no track ${track}`);
    const buf = into ?? Buffer.allocUnsafe(this.trackSize);
    let done = 0;
    while (done < this.trackSize) {
      const { bytesRead } = await this.fh.read(buf, done, this.trackSize - done, at + done);
      if (bytesRead === 0) throw E.integrity(`undo file ${this.file} is short at track ${track}`);
      done += bytesRead;
    }
    return buf;
  }

  /** Appends the content of a track unless one is already saved (`data` must not change until it
   *  resolves). Not durable until sync(). */
  async save(track: number, data: Buffer): Promise<boolean> {
    return (await this.saveMany([[track, data]])) === 1;
  }

  /** Appends the content of several tracks, those not saved already, in one write; how many were
   *  appended. Headers and data go out together (writev): no track is copied into a record buffer. */
  async saveMany(tracks: ReadonlyArray<readonly [number, Buffer]>): Promise<number> {
    const iov: Buffer[] = [];
    const pos = this.end;
    for (const [track, data] of tracks) {
      if (this.index.has(track)) continue;
      if (data.length !== this.trackSize) throw E.integrity(`undo record of ${data.length} bytes, expected ${this.trackSize}`);
      const hdr = Buffer.allocUnsafe(REC_HDR);
      hdr.writeUInt32LE(REC_MAGIC, 4);
      hdr.writeUInt32LE(track, 8);
      hdr.writeUInt32LE(data.length, 12);
      hdr.writeUInt32LE(crc32(data, crc32(hdr.subarray(4))), 0);
      this.index.set(track, this.end + REC_HDR);
      this.end += REC_HDR + data.length;
      iov.push(hdr, data);
    }
    if (iov.length > 0) await pwriteAll(this.fh, iov, pos);
    return iov.length / 2;
  }

  /** Makes every append that completed before the call durable; concurrent callers share an fsync. */
  async sync(): Promise<void> {
    await this.syncer.sync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
