/**
 * A volume (LDEV): one sparse image file plus an allocation map with one bit per track that
 * has ever been written (allocation.ts states the map's invariants).
 * Files: volumes/NAME.img (the image), volumes/NAME.alloc (the map).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { E, withPath } from '../../errors.js';
import type { TrackBitmap } from '../repl/track-bitmap.js';
import { allocate, allocationMapPath, openAllocationMap } from './allocation.js';
import { DirectFile, pwriteMaybeDirect, readFully } from '../util/file-io.js';
import { WriteQueue } from '../util/write-queue.js';
import { Writeback } from '../util/writeback.js';
import { NOFOLLOW, fileMode, mkdirMode } from './home.js';

export interface VolumeInfo {
  id: number;
  name: string;
  size: number;
  trackSize: number;
  tracks: number;
  path: string;
  allocatedTracks: number;
  allocatedBytes: number;
  created: number;
}

export class Volume {
  private constructor(
    readonly id: number,
    readonly name: string,
    readonly size: number,
    readonly trackSize: number,
    readonly imagePath: string,
    readonly created: number,
    private fh: fsp.FileHandle,
    readonly alloc: TrackBitmap,
  ) {
    this.direct = new DirectFile(imagePath);
    this.buffered = new WriteQueue(fh);
    this.writeback = new Writeback(fh);
  }

  /** Starts the disk on buffered writes as they come (writeback.ts), ahead of the next sync; the array enables it. */
  readonly writeback: Writeback;

  /** Buffered writes, adjacent ones that wait merged into one writev (write-queue.ts). */
  private readonly buffered: WriteQueue;

  /** O_DIRECT handle for bulk writes (restores, copies) that skip the page cache. */
  private readonly direct: DirectFile;

  get tracks(): number {
    return Math.ceil(this.size / this.trackSize);
  }

  static paths(dir: string, name: string): { image: string; alloc: string } {
    const image = path.join(dir, 'volumes', `${name}.img`);
    return { image, alloc: allocationMapPath(image) };
  }

  static async create(dir: string, id: number, name: string, size: number, trackSize: number, created: number): Promise<Volume> {
    const p = Volume.paths(dir, name);
    mkdirMode(path.dirname(p.image));
    const fh = await fsp.open(p.image, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, fileMode()).catch((e) => Promise.reject(withPath(e, p.image)));
    let alloc: TrackBitmap | null = null;
    try {
      await fh.truncate(size).catch((e) => Promise.reject(withPath(e, p.image)));
      const map = await openAllocationMap(p.alloc, Math.ceil(size / trackSize)).catch((e) => Promise.reject(withPath(e, p.alloc)));
      alloc = map;
      await map.flush().catch((e) => Promise.reject(withPath(e, p.alloc)));
      return new Volume(id, name, size, trackSize, p.image, created, fh, map);
    } catch (e) {
      // a create that fails (a full disk) leaves no file behind
      await alloc?.close().catch(() => undefined);
      await fh.close().catch(() => undefined);
      for (const f of [p.image, p.alloc, `${p.alloc}.tmp-${process.pid}`]) await fsp.rm(f, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  static async open(dir: string, id: number, name: string, size: number, trackSize: number, created: number): Promise<Volume> {
    const p = Volume.paths(dir, name);
    if (!fs.existsSync(p.image)) throw E.integrity(`the image of volume '${name}' is missing (${p.image})`);
    const fh = await fsp.open(p.image, fs.constants.O_RDWR | NOFOLLOW);
    const alloc = await openAllocationMap(p.alloc, Math.ceil(size / trackSize));
    return new Volume(id, name, size, trackSize, p.image, created, fh, alloc);
  }

  checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw E.outOfRange(`offset ${offset} is not a byte offset`);
    if (!Number.isSafeInteger(length) || length < 0) throw E.outOfRange(`length ${length} is not a byte count`);
    if (offset + length > this.size) {
      throw E.outOfRange(`${this.name}: offset ${offset} + length ${length} is past the end of the volume (${this.size} bytes)`);
    }
  }

  /**
   * Marks the tracks of several ranges ([offset, length]) allocated, with one write of the map for
   * all the fresh ones (writeMany marks a whole batch at once instead of one map write per write).
   */
  allocate(ranges: Iterable<readonly [number, number]>): void {
    allocate(this.alloc, this.trackSize, ranges, allocationMapPath(this.imagePath));
  }

  /**
   * Writes data at offset. Marks the tracks allocated (the map page written first) when they were
   * not. `logged`: the data is durable in a journal already, so sync() need not fsync for it
   * (checkpoint() does). `direct`: a write that nothing reads back soon (a restore, a copy) goes
   * around the page cache when it is aligned (file-io.ts DirectFile; write-path.ts WritePlan says which).
   */
  async write(offset: number, data: Buffer, logged = false, direct = false): Promise<void> {
    this.checkRange(offset, data.length);
    if (data.length === 0) return;
    this.allocate([[offset, data.length]]);
    this.markDirty(logged);
    try {
      if (direct) await pwriteMaybeDirect(this.fh, this.direct, data, offset);
      else {
        await this.buffered.write(offset, data);
        // a logged write's durable copy is its journal's: the volume waits for the checkpoint
        if (!logged) this.writeback.wrote(data.length);
      }
    } catch (e) {
      throw withPath(e, this.imagePath); // ENOSPC on a sparse image, EIO: the error names the file
    }
    this.markDirty(logged); // a sync that started during the write may not cover it
  }

  private markDirty(logged: boolean): void {
    if (logged) this.loggedDirty = true;
    else this.dirty = true;
  }

  /**
   * Reads length bytes at offset. `direct`: a read of data nobody reads again soon (the old content
   * of a track a resync saves in the consistent image) goes around the page cache when `into` is
   * aligned memory (file-io.ts DirectFile.read).
   */
  async read(offset: number, length: number, into?: Buffer, direct = false): Promise<Buffer> {
    this.checkRange(offset, length);
    const buf = into ?? Buffer.allocUnsafe(length);
    const want = buf.subarray(0, length);
    const named = (e: unknown): Promise<never> => Promise.reject(withPath(e, this.imagePath));
    if (direct && (await this.direct.read(want, offset).catch(named))) return buf;
    const done = await readFully(this.fh, want, offset).catch(named);
    want.fill(0, done); // past the end of the image: zeros
    return buf;
  }

  isAllocated(track: number): boolean {
    return this.alloc.get(track);
  }

  /** Written since the last fsync: writes that need it, and writes that a journal holds. */
  private dirty = false;
  private loggedDirty = false;

  /** Makes the data and the allocation map durable if a write needs it (logged ones wait for checkpoint()). */
  async sync(): Promise<void> {
    if (this.dirty) await this.fsync();
  }

  /** Makes everything written durable, logged writes included. */
  async checkpoint(): Promise<void> {
    if (this.dirty || this.loggedDirty) await this.fsync();
  }

  private async fsync(): Promise<void> {
    const logged = this.loggedDirty;
    this.dirty = false;
    this.loggedDirty = false;
    try {
      await Promise.all([this.writeback.datasync(), this.alloc.flush()]);
    } catch (e) {
      this.dirty = true;
      this.loggedDirty ||= logged;
      throw withPath(e, this.imagePath);
    }
  }

  info(): VolumeInfo {
    const allocated = this.alloc.count();
    return {
      id: this.id,
      name: this.name,
      size: this.size,
      trackSize: this.trackSize,
      tracks: this.tracks,
      path: this.imagePath,
      allocatedTracks: allocated,
      allocatedBytes: Math.min(allocated * this.trackSize, this.size),
      created: this.created,
    };
  }

  /** Closes the image. Logged writes need no fsync here: their journal keeps them until a checkpoint. */
  async close(): Promise<void> {
    await this.alloc.flush();
    await this.writeback.idle();
    await this.direct.close();
    await this.fh.close();
  }
}
