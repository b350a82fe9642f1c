/**
 * The drill's view of one S-VOL: the S-VOL as of the drill's seq plus the view's own writes.
 *
 *   read:  a track written in the view comes from the overlay; else a track a restore overwrote
 *          since the drill began comes from the keep store (its content at the drill's seq); else
 *          from the S-VOL, which still holds it.
 *   write: the overlay only, by whole tracks (a partial track is read from the view first and
 *          merged: read-modify-write), one durable append per write. Nothing reaches the S-VOL.
 *   keep:  before a restore (or any writer) changes tracks of the S-VOL, keepTracks() appends the
 *          old content of those the view still shares (not kept yet, not overwritten in the
 *          overlay) to the keep store, durably, in one append. A track kept once is never kept
 *          again, so a restore that redoes its batch after a crash keeps nothing twice.
 *
 * Reads run under the array's write lock (`locked`): a restore's volume write runs under it too,
 * after its keep, so a read never sees a track as "not kept" and then the S-VOL's new content.
 * Files (in the drill's directory, 0600): VOL.keep and VOL.overlay, both TrackLogs.
 */
import path from 'node:path';
import { E } from '../../errors.js';
import type { Volume } from '../array/volume.js';
import { trackBuffers } from '../util/buffer-pool.js';
import { TrackLog } from './track-log.js';

export type Locked = <T>(fn: () => Promise<T>) => Promise<T>;

/** The most bytes of consecutive tracks kept as one read and one record. */
const MAX_RUN = 4 * 1024 * 1024;

/** Runs async steps one after another. */
export class Mutex {
  private chain: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

export class VolumeView {
  private readonly writer = new Mutex();
  private readonly keeper = new Mutex();
  /** Bytes written into the view since it was opened in this process. */
  written = 0;

  private constructor(
    readonly vol: Volume,
    private readonly keep: TrackLog,
    private readonly overlay: TrackLog,
    private readonly locked: Locked,
  ) {}

  static files(dir: string, vol: string): { keep: string; overlay: string } {
    return { keep: path.join(dir, `${vol}.keep`), overlay: path.join(dir, `${vol}.overlay`) };
  }

  static async open(dir: string, vol: Volume, locked: Locked): Promise<VolumeView> {
    const f = VolumeView.files(dir, vol.name);
    const keep = await TrackLog.open(f.keep, 'first');
    try {
      return new VolumeView(vol, keep, await TrackLog.open(f.overlay, 'last'), locked);
    } catch (e) {
      await keep.close();
      throw e;
    }
  }

  get size(): number {
    return this.vol.size;
  }

  get trackSize(): number {
    return this.vol.trackSize;
  }

  /** Bytes of the keep store and the overlay. */
  get bytes(): number {
    return this.keep.bytes + this.overlay.bytes;
  }

  get keptTracks(): number {
    return this.keep.tracks;
  }

  get overlayTracks(): number {
    return this.overlay.tracks;
  }

  private trackLen(t: number): number {
    return Math.min(this.vol.trackSize, this.vol.size - t * this.vol.trackSize);
  }

  /** Of these tracks, those the view still shares with the S-VOL. */
  shared(tracks: Iterable<number>): number[] {
    const out: number[] = [];
    for (const t of tracks) if (!this.keep.has(t) && !this.overlay.has(t)) out.push(t);
    return out;
  }

  /** Of these tracks, those the view still shares, as runs of consecutive tracks [first, end). */
  private sharedRuns(tracks: Iterable<number>): Array<[number, number]> {
    const ts = this.shared(tracks).sort((a, b) => a - b);
    const runs: Array<[number, number]> = [];
    for (const t of ts) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t && (t - last[0]) * this.vol.trackSize < MAX_RUN) last[1] = t + 1;
      else runs.push([t, t + 1]);
    }
    return runs;
  }

  private runBytes([a, b]: [number, number]): number {
    return Math.min(b * this.vol.trackSize, this.vol.size) - a * this.vol.trackSize;
  }

  /** Bytes keepTracks(tracks) would add: one 512-byte header per run of consecutive tracks. */
  keepCost(tracks: Iterable<number>): number {
    return this.sharedRuns(tracks).reduce((n, r) => n + 512 + Math.ceil(this.runBytes(r) / 512) * 512, 0);
  }

  /**
   * Keeps the S-VOL's content of the tracks the view still shares, durably, before they change:
   * each run of consecutive tracks (up to 4 MiB) read with one read, while the run before it is
   * written as one record; one fdatasync. A run is read into a pooled buffer (buffer-pool.ts), given
   * back once written: a fresh 4 MiB buffer per run cost the controller page faults and collections.
   */
  keepTracks(tracks: Iterable<number>): Promise<number> {
    return this.keeper.run(async () => {
      const runs = this.sharedRuns(tracks);
      if (!runs.length) return 0;
      await this.keep.appendRuns(
        runs.map((r) => ({ first: r[0], trackSize: this.vol.trackSize, read: () => this.vol.read(r[0] * this.vol.trackSize, this.runBytes(r), trackBuffers.take(this.runBytes(r))) })),
      );
      return runs.reduce((n, [a, b]) => n + b - a, 0);
    });
  }

  /** The view's bytes [offset, offset + length). */
  read(offset: number, length: number): Promise<Buffer> {
    this.vol.checkRange(offset, length);
    return this.locked(() => this.readUnlocked(offset, length));
  }

  private async readUnlocked(offset: number, length: number): Promise<Buffer> {
    const buf = await this.vol.read(offset, length);
    if (!length) return buf;
    const ts = this.vol.trackSize;
    for (let t = Math.floor(offset / ts); t <= Math.floor((offset + length - 1) / ts); t++) {
      const data = this.overlay.has(t) ? await this.overlay.read(t) : this.keep.has(t) ? await this.keep.read(t) : null;
      if (!data) continue;
      const from = Math.max(offset, t * ts);
      const to = Math.min(offset + length, t * ts + data.length);
      data.copy(buf, from - offset, from - t * ts, to - t * ts);
    }
    return buf;
  }

  /** Runs fn with the view's writes held off (a backup of the view copies one point in time). */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.writer.run(fn);
  }

  /** Writes into the view (the overlay), durably; the S-VOL is not touched. */
  write(offset: number, data: Buffer): Promise<void> {
    this.vol.checkRange(offset, data.length);
    if (!data.length) return Promise.resolve();
    return this.writer.run(async () => {
      const ts = this.vol.trackSize;
      const entries: Array<{ track: number; data: Buffer }> = [];
      for (let t = Math.floor(offset / ts); t <= Math.floor((offset + data.length - 1) / ts); t++) {
        const start = t * ts;
        const len = this.trackLen(t);
        const whole = offset <= start && offset + data.length >= start + len;
        const track = whole ? Buffer.from(data.subarray(start - offset, start - offset + len)) : await this.read(start, len);
        if (!whole) {
          const from = Math.max(offset, start);
          const to = Math.min(offset + data.length, start + len);
          data.copy(track, from - start, from - offset, to - offset);
        }
        entries.push({ track: t, data: track });
      }
      await this.overlay.append(entries);
      this.written += data.length;
    });
  }

  async close(): Promise<void> {
    await this.keep.close();
    await this.overlay.close();
  }

  async destroy(): Promise<void> {
    await this.keeper.run(() => this.keep.destroy());
    await this.writer.run(() => this.overlay.destroy());
  }
}

/** Splits `VOL@DRILL`; null for a plain volume name. */
export function splitViewName(name: string): { vol: string; drill: string } | null {
  const i = name.indexOf('@');
  if (i < 0) return null;
  const vol = name.slice(0, i);
  const drill = name.slice(i + 1);
  if (!vol || !drill) throw E.usage(`'${name}' is not VOLUME@DRILL`, 'name a drill view as ARRAY:VOLUME@DRILL, e.g. siteB:db@dr1');
  return { vol, drill };
}
