/**
 * Backup images: their checksum, the per-track digests behind it, and reading a generation back.
 *
 * Checksum 'sha256-tracks': SHA-256 over the concatenation of the SHA-256 digests of every track of
 * the image, in track order (the image is the source's size in bytes, cut in tracks of the array's
 * track size; tracks never written hash as zeros). Per-track digests let an incremental backup
 * update the checksum by hashing only the tracks it copied, and let verify name the tracks that
 * differ. imageChecksum() computes the same value for a plain buffer.
 *
 * Track digest file (backups/chain-N.sums): 32 bytes per track, the digest of what the backup volume
 * holds in that track; 32 zero bytes stand for "an all-zero track". Written after the data it
 * describes is on the backup volume: whole (temp + rename) by a full backup, and by an incremental
 * in place, in one write of the span from the first to the last digest it changed (the entries in
 * between are written with the bytes they hold already). A crash in that write can leave some of those digests old: the tracks' change bits are
 * still set (they are cleared only once the backup is good), so the next backup copies and digests
 * them again, and no good backup's checksum was computed from them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CREATE_FLAGS, NOFOLLOW, fileMode } from '../array/home.js';
import { pwriteAll, syncDir } from '../util/file-io.js';
import type { UndoFile } from './undo.js';
import type { Volume } from '../array/volume.js';

export const CHECKSUM_ALG = 'sha256-tracks';
const DIGEST = 32;
const zeroHashes = new Map<number, Buffer>();

export function trackHash(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

export function zeroTrackHash(trackSize: number): Buffer {
  let h = zeroHashes.get(trackSize);
  if (!h) {
    h = trackHash(Buffer.alloc(trackSize));
    zeroHashes.set(trackSize, h);
  }
  return h;
}

/** The 'sha256-tracks' checksum of an image held in memory. */
export function imageChecksum(image: Buffer, trackSize: number): string {
  const sums = new TrackSums(Math.ceil(image.length / trackSize), trackSize);
  for (let t = 0; t < sums.tracks; t++) sums.set(t, trackHash(image.subarray(t * trackSize, (t + 1) * trackSize)));
  return sums.root();
}

/** One digest per track; all-zero entries mean "all-zero track". */
export class TrackSums {
  readonly buf: Buffer;
  /** Loaded from a file: the tracks set since (save() writes only those). */
  private changed: Set<number> | null = null;
  constructor(
    readonly tracks: number,
    readonly trackSize: number,
    buf?: Buffer,
  ) {
    this.buf = buf ?? Buffer.alloc(tracks * DIGEST);
  }

  get(t: number): Buffer {
    return this.buf.subarray(t * DIGEST, (t + 1) * DIGEST);
  }

  set(t: number, digest: Buffer): void {
    digest.copy(this.buf, t * DIGEST);
    this.changed?.add(t);
  }

  /** SHA-256 over all track digests (zero entries replaced by the digest of a zero track), in one
   *  update: the entries are scanned as words (not one Buffer call per track, which cost more than
   *  the hash for a 4 GiB volume) and a copy with its zero entries replaced is hashed when any is. */
  root(): string {
    const z = zeroTrackHash(this.trackSize);
    const n = this.tracks * (DIGEST / 4);
    const w = this.buf.byteOffset % 4 === 0 ? new Uint32Array(this.buf.buffer, this.buf.byteOffset, n) : new Uint32Array(new Uint8Array(this.buf.subarray(0, n * 4)).buffer);
    let out: Buffer | null = null;
    for (let i = 0; i < n; i += DIGEST / 4) {
      if ((w[i]! | w[i + 1]! | w[i + 2]! | w[i + 3]! | w[i + 4]! | w[i + 5]! | w[i + 6]! | w[i + 7]!) !== 0) continue;
      out ??= Buffer.from(this.buf.subarray(0, this.tracks * DIGEST));
      z.copy(out, i * 4);
    }
    return crypto
      .createHash('sha256')
      .update(out ?? this.buf.subarray(0, this.tracks * DIGEST))
      .digest('hex');
  }

  /** Tracks whose digest differs from other's (zero entries compared as zero-track digests). */
  differing(other: TrackSums, limit = 20): number[] {
    const out: number[] = [];
    const z = zeroTrackHash(this.trackSize);
    const empty = Buffer.alloc(DIGEST);
    const norm = (d: Buffer): Buffer => (d.equals(empty) ? z : d);
    for (let t = 0; t < this.tracks && out.length < limit; t++) if (!norm(this.get(t)).equals(norm(other.get(t)))) out.push(t);
    return out;
  }

  static async load(file: string, tracks: number, trackSize: number): Promise<TrackSums | null> {
    let data: Buffer;
    try {
      data = await fsp.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (data.length !== tracks * DIGEST) return null;
    const sums = new TrackSums(tracks, trackSize, data);
    sums.changed = new Set();
    return sums;
  }

  /** Writes the digests to `file`: only the tracks set since load() when that is fewer than a
   *  quarter of them, in place; otherwise the whole file (temp + rename). */
  async save(file: string, durable: boolean): Promise<void> {
    if (this.changed && this.changed.size < this.tracks / 4) return this.saveChanged(file, durable);
    const tmp = `${file}.tmp-${process.pid}`;
    const fh = await fsp.open(tmp, CREATE_FLAGS, fileMode());
    try {
      await fh.writeFile(this.buf);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    if (durable) await syncDir(path.dirname(file));
    this.changed?.clear();
  }

  /**
   * The changed digests, written in place in one write: the span from the first to the last of
   * them. The entries in between that did not change are the bytes the file already holds (this
   * buffer was loaded from it), so writing them again changes nothing, even torn; one write costs
   * less than one per run of changed tracks (655 of them after 1% of 4 GiB changed). See the
   * header for what a crash here leaves.
   */
  private async saveChanged(file: string, durable: boolean): Promise<void> {
    if (this.changed!.size === 0) return;
    let lo = this.tracks;
    let hi = -1;
    for (const t of this.changed!) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const fh = await fsp.open(file, fs.constants.O_WRONLY | NOFOLLOW);
    try {
      await pwriteAll(fh, this.buf.subarray(lo * DIGEST, (hi + 1) * DIGEST), lo * DIGEST);
      if (durable) await fh.datasync();
    } finally {
      await fh.close();
    }
    this.changed!.clear();
  }
}

export function rmQuiet(file: string): void {
  fs.rmSync(file, { force: true });
}

/**
 * Reads one generation of a backup: the backup volume overlaid by undo files, newest-last
 * (overlays[0] is the generation's own undo file; the first overlay holding a track wins).
 */
export class ImageReader {
  constructor(
    readonly target: Volume,
    readonly overlays: UndoFile[],
    readonly tracks: number,
  ) {}

  /** True when some overlay or the backup volume holds data for track t. */
  hasData(t: number): boolean {
    if (this.target.isAllocated(t)) return true;
    return this.overlays.some((o) => o.has(t));
  }

  /** Tracks [first, first+n) as one buffer, or null when none of them holds data (all zeros). */
  async read(first: number, n: number): Promise<Buffer | null> {
    const ts = this.target.trackSize;
    let anyTarget = false;
    let anyOverlay = false;
    for (let t = first; t < first + n; t++) {
      if (this.target.isAllocated(t)) anyTarget = true;
      if (!anyOverlay && this.overlays.some((o) => o.has(t))) anyOverlay = true;
    }
    if (!anyTarget && !anyOverlay) return null;
    const buf = anyTarget ? await this.target.read(first * ts, n * ts) : Buffer.alloc(n * ts);
    if (anyOverlay) {
      for (let t = first; t < first + n; t++) {
        const o = this.overlays.find((x) => x.has(t));
        if (o) await o.read(t, buf.subarray((t - first) * ts, (t - first + 1) * ts));
      }
    }
    return buf;
  }
}
