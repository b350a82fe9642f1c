/**
 * The consistent image of an S-VOL while a resync overwrites it: before a track is overwritten for
 * the first time, its old content is appended here and made durable (copy-on-write). revert()
 * writes every saved track back, giving the S-VOL exactly as it was when the resync began
 * (= the image of the suspension).
 *
 * File layout (append-only), one record per track:
 *   header block of 512 bytes: u32 magic 'RCI2' | u32 track | u32 length | u32 crc32(data) | zeros,
 *   then the data, padded with zeros to a multiple of 512.
 * Every record starts and ends on a 512-byte boundary, so a save goes around the page cache
 * (O_DIRECT, util/file-io.ts DirectFile): the image is written once and read back only by a
 * revert, so copying it into the page cache would be pure cost (the README's benchmark table has
 * the figures). Files of the first layout (16-byte headers, magic 'RCIK', no padding) are still read.
 * Recovery reads records until the first short or bad one (a torn tail is dropped: its track was
 * not yet overwritten, since the overwrite waits for the save to be durable).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { DIRECT_ALIGN, DirectFile, alignedBuffer, pwriteMaybeDirect } from '../util/file-io.js';
import { crc32 } from '../util/crc32.js';
import { NOFOLLOW, fileMode } from '../array/home.js';
import type { Volume } from '../array/volume.js';

const MAGIC = 0x32494352; // 'RCI2'
const HDR = DIRECT_ALIGN;
const MAGIC_V1 = 0x5243494b; // 'RCIK': 16-byte headers, no padding
const HDR_V1 = 16;
const pad = (n: number): number => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;

export class ConsistentImage {
  /** track → where its saved data starts in the file, and its length */
  private index = new Map<number, { at: number; len: number }>();
  private size = 0;
  private readonly direct: DirectFile;

  private constructor(
    readonly file: string,
    private fh: fsp.FileHandle,
    readonly created: number,
  ) {
    this.direct = new DirectFile(file);
  }

  static exists(file: string): boolean {
    return fs.existsSync(file);
  }

  static async open(file: string): Promise<ConsistentImage> {
    const fresh = !fs.existsSync(file);
    const fh = await fsp.open(file, fs.constants.O_RDWR | NOFOLLOW | (fresh ? fs.constants.O_CREAT | fs.constants.O_TRUNC : 0), fileMode());
    const st = await fh.stat();
    const k = new ConsistentImage(file, fh, st.birthtimeMs || st.mtimeMs);
    if (!fresh) await k.scan(st.size);
    return k;
  }

  private async scan(fileSize: number): Promise<void> {
    const hdr = Buffer.alloc(HDR_V1);
    let pos = 0;
    while (pos + HDR_V1 <= fileSize) {
      await this.fh.read(hdr, 0, HDR_V1, pos);
      const magic = hdr.readUInt32LE(0);
      if (magic !== MAGIC && magic !== MAGIC_V1) break;
      const track = hdr.readUInt32LE(4);
      const len = hdr.readUInt32LE(8);
      const at = pos + (magic === MAGIC ? HDR : HDR_V1);
      const end = magic === MAGIC ? at + pad(len) : at + len;
      if (end > fileSize) break;
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, at);
      if (crc32(data) !== hdr.readUInt32LE(12)) break;
      if (!this.index.has(track)) this.index.set(track, { at, len });
      pos = end;
    }
    // a file of the first layout keeps growing in it: appends stay buffered (unaligned)
    this.size = pos;
    this.syncedSize = pos;
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
   * `seen` gets each saved track's content (a resync with references hashes it from there; a view
   * that is valid only during the call: the buffer is reused), and
   * `read` is called once all of it is read, before it is written. `sync: false` leaves the
   * fdatasync to the next save that syncs: the tracks count as saved only from then on, and the
   * caller overwrites none of them before (a resync with references saves its image in waves, one
   * sync at the end).
   */
  async save(vol: Volume, tracks: number[], opts: { seen?: (track: number, data: Buffer) => void; read?: () => void; sync?: boolean } = {}): Promise<void> {
    const { seen, read, sync = true } = opts;
    const todo = tracks.filter((t) => !this.index.has(t) && !this.pendingTracks.has(t));
    if (!todo.length) {
      read?.();
      if (sync && this.pending.length) await this.syncPending([]);
      return;
    }
    // the records are laid out in one page-aligned buffer: each track is read straight into its
    // place and the whole goes to the disk from there (no per-track buffers, no staging copy)
    const lens = todo.map((t) => Math.min(vol.trackSize, vol.size - t * vol.trackSize));
    const offs: number[] = []; // where each record's header starts in the buffer
    let total = 0;
    for (const len of lens) {
      offs.push(total);
      total += HDR + pad(len);
    }
    const wave = this.takeWave(total);
    const dataOf = (k: number): Buffer => wave.subarray(offs[k]! + HDR, offs[k]! + HDR + lens[k]!);
    try {
      await Promise.all(todo.map((t, k) => (vol.isAllocated(t) ? vol.read(t * vol.trackSize, lens[k]!, dataOf(k)) : Promise.resolve(dataOf(k).fill(0)))));
      for (let k = 0; k < todo.length; k++) {
        const t = todo[k]!;
        const h = offs[k]!;
        const len = lens[k]!;
        const data = dataOf(k);
        seen?.(t, data);
        wave.fill(0, h, h + HDR);
        wave.writeUInt32LE(MAGIC, h);
        wave.writeUInt32LE(t, h + 4);
        wave.writeUInt32LE(len, h + 8);
        wave.writeUInt32LE(crc32(data), h + 12);
        wave.fill(0, h + HDR + len, h + HDR + pad(len));
      }
      const places = todo.map((t, k): [number, { at: number; len: number }] => [t, { at: this.size + offs[k]! + HDR, len: lens[k]! }]);
      read?.();
      try {
        await pwriteMaybeDirect(this.fh, this.direct, wave.subarray(0, total), this.size);
      } catch (e) {
        this.dropPending();
        throw e;
      }
      this.size += total;
      if (sync) await this.syncPending(places);
      else {
        this.pending.push(...places);
        for (const [t] of places) this.pendingTracks.add(t);
      }
    } finally {
      this.giveWave(wave);
    }
  }

  /** Records written by saves that did not sync: not yet in the index (nor trusted). */
  private pending: Array<[number, { at: number; len: number }]> = [];
  private readonly pendingTracks = new Set<number>();
  /** The file's length at the last fdatasync: what a failed save falls back to. */
  private syncedSize = 0;

  private async syncPending(places: Array<[number, { at: number; len: number }]>): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (e) {
      this.dropPending();
      throw e;
    }
    for (const [t, p] of [...this.pending, ...places]) this.index.set(t, p);
    this.pending = [];
    this.pendingTracks.clear();
    this.syncedSize = this.size;
  }

  /** A save failed: the records not yet synced are forgotten, and the next save writes over them. */
  private dropPending(): void {
    this.pending = [];
    this.pendingTracks.clear();
    this.size = this.syncedSize;
  }

  /** The buffer one save lays its records out in: kept for the next save of this image. */
  private wave: Buffer | null = null;
  private takeWave(n: number): Buffer {
    const w = this.wave;
    if (w && w.length >= n) {
      this.wave = null;
      return w;
    }
    return alignedBuffer(n);
  }
  private giveWave(w: Buffer): void {
    if (!this.wave || this.wave.length < w.length) this.wave = w;
  }

  /** Writes every saved track back through `write`; returns the number of tracks restored. */
  async revert(write: (offset: number, data: Buffer) => Promise<void>, trackSize: number): Promise<number> {
    for (const [track, { at, len }] of this.index) {
      const data = Buffer.alloc(len);
      await this.fh.read(data, 0, len, at);
      await write(track * trackSize, data);
    }
    return this.index.size;
  }

  async close(): Promise<void> {
    this.wave = null;
    await this.direct.close();
    await this.fh.close();
  }

  async destroy(): Promise<void> {
    this.wave = null;
    await this.direct.close().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.file, { force: true });
  }
}
