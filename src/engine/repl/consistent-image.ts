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

/** A wave of records laid out in an aligned buffer by fill(), not yet in the file (append()). */
export interface FilledWave {
  buf: Buffer;
  total: number;
  tracks: number[];
  lens: number[];
  offs: number[];
}

/**
 * The buffers waves are laid out in, kept for the next wave (of any image: a resync reads one
 * wave while it writes the one before, so two are kept, of at most KEPT_BYTES each: a copy's wave
 * is 8 MiB, track-copy.ts). Fresh ones are page-aligned memory outside V8's heap, which V8 counts
 * as external memory: a fresh one per wave was a garbage collection every few waves.
 */
const spareWaves: Buffer[] = [];
const KEPT_WAVES = 2;
const KEPT_BYTES = 16 * 1024 * 1024;
function takeWave(n: number): Buffer {
  const i = spareWaves.findIndex((w) => w.length >= n);
  return i >= 0 ? spareWaves.splice(i, 1)[0]! : alignedBuffer(n);
}
function giveWave(w: Buffer): void {
  if (w.length > KEPT_BYTES || spareWaves.includes(w)) return;
  spareWaves.push(w);
  spareWaves.sort((a, b) => b.length - a.length);
  spareWaves.length = Math.min(spareWaves.length, KEPT_WAVES);
}

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
   * Saves the current content of the given tracks of vol (those not saved yet), durably: fill()
   * then append(). `seen` gets each saved track's content (a resync with references hashes it
   * from there; a view that is valid only during the call: the buffer is reused), and `read` is
   * called once all of it is read, before it is written. `sync: false` leaves the fdatasync to
   * the next save that syncs: the tracks count as saved only from then on, and the caller
   * overwrites none of them before (a resync with references saves its image in waves, one sync
   * at the end).
   */
  async save(vol: Volume, tracks: number[], opts: { seen?: (track: number, data: Buffer) => void; read?: () => void; sync?: boolean } = {}): Promise<void> {
    const wave = await this.fill(vol, tracks, opts.seen);
    opts.read?.();
    await this.append(wave, opts.sync ?? true);
  }

  /**
   * Reads the current content of the given tracks (those not saved, pending or in another filled
   * wave) and lays their records out in one page-aligned buffer: each track is read straight into
   * its place, and append() writes the whole from there (no per-track buffers, no staging copy).
   * Nothing is in the file yet; null when there is nothing to save. A wave can be filled while the
   * one before is appended (a resync reads ahead); appends go one at a time, in order.
   */
  async fill(vol: Volume, tracks: number[], seen?: (track: number, data: Buffer) => void): Promise<FilledWave | null> {
    const todo = tracks.filter((t) => !this.index.has(t) && !this.pendingTracks.has(t) && !this.claimed.has(t));
    if (!todo.length) return null;
    const lens = todo.map((t) => Math.min(vol.trackSize, vol.size - t * vol.trackSize));
    const offs: number[] = []; // where each record's header starts in the buffer
    let total = 0;
    for (const len of lens) {
      offs.push(total);
      total += HDR + pad(len);
    }
    const buf = takeWave(total);
    const w: FilledWave = { buf, total, tracks: todo, lens, offs };
    for (const t of todo) this.claimed.add(t);
    const dataOf = (k: number): Buffer => buf.subarray(offs[k]! + HDR, offs[k]! + HDR + lens[k]!);
    try {
      // every read ends before the buffer can go back (a failed one must not leave others writing
      // into a buffer the next wave takes)
      const reads = await Promise.allSettled(todo.map((t, k) => (vol.isAllocated(t) ? vol.read(t * vol.trackSize, lens[k]!, dataOf(k), true) : Promise.resolve(dataOf(k).fill(0)))));
      const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (let k = 0; k < todo.length; k++) {
        const h = offs[k]!;
        const len = lens[k]!;
        const data = dataOf(k);
        seen?.(todo[k]!, data);
        buf.fill(0, h, h + HDR);
        buf.writeUInt32LE(MAGIC, h);
        buf.writeUInt32LE(todo[k]!, h + 4);
        buf.writeUInt32LE(len, h + 8);
        buf.writeUInt32LE(crc32(data), h + 12);
        buf.fill(0, h + HDR + len, h + HDR + pad(len));
      }
    } catch (e) {
      this.discard(w);
      throw e;
    }
    return w;
  }

  /**
   * Writes a filled wave at the end of the file; with `sync`, fdatasyncs (this wave's and earlier
   * unsynced records count as saved from then on). null: only the sync.
   */
  async append(w: FilledWave | null, sync: boolean): Promise<void> {
    if (!w) {
      if (sync && this.pending.length) await this.syncPending([]);
      return;
    }
    try {
      const places = w.tracks.map((t, k): [number, { at: number; len: number }] => [t, { at: this.size + w.offs[k]! + HDR, len: w.lens[k]! }]);
      try {
        await pwriteMaybeDirect(this.fh, this.direct, w.buf.subarray(0, w.total), this.size);
      } catch (e) {
        this.dropPending();
        throw e;
      }
      this.size += w.total;
      if (sync) await this.syncPending(places);
      else {
        this.pending.push(...places);
        for (const [t] of places) this.pendingTracks.add(t);
      }
    } finally {
      this.discard(w);
    }
  }

  /** A filled wave done with (appended, or not to be): its tracks and its buffer are free again. */
  discard(w: FilledWave): void {
    for (const t of w.tracks) this.claimed.delete(t);
    giveWave(w.buf);
  }

  /** Tracks in filled waves not appended yet. */
  private readonly claimed = new Set<number>();

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
    await this.direct.close();
    await this.fh.close();
  }

  async destroy(): Promise<void> {
    await this.direct.close().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.file, { force: true });
  }
}
