/**
 * The files each pair keeps beside its volume: the differential bitmap (tracks changed while
 * suspended, or still to copy) and, on the secondary, the consistent image (the old data of every
 * track a resync overwrites, kept until the S-VOLs are consistent again). Each is opened once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TrackBitmap } from './track-bitmap.js';
import type { Volume } from '../array/volume.js';
import { ConsistentImage } from './consistent-image.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class PairFiles {
  private bitmaps = new Map<string, TrackBitmap>();
  private keepers = new Map<string, ConsistentImage>();

  constructor(private readonly site: Site) {}

  bitmapPath(id: string): string {
    return path.join(this.site.array.dir, 'bitmaps', `${safe(id)}.diff`);
  }

  imagePath(id: string): string {
    return path.join(this.site.array.dir, 'bitmaps', `${safe(id)}.image`);
  }

  opening = new Map<string, Promise<unknown>>();

  /** Opens something once even when several callers ask at the same time (a copy task and a
   *  command both opening a pair's bitmap would otherwise both create its file). */
  once<T>(key: string, have: () => T | undefined, open: () => Promise<T>): Promise<T> {
    const got = have();
    if (got) return Promise.resolve(got);
    let p = this.opening.get(key) as Promise<T> | undefined;
    if (!p) {
      p = open().finally(() => this.opening.delete(key));
      this.opening.set(key, p);
    }
    return p;
  }

  async bitmap(p: PairRow): Promise<TrackBitmap> {
    return this.once(
      `bitmap:${p.id}`,
      () => this.bitmaps.get(p.id),
      async () => {
        const vol = this.site.array.volume(p.localVol);
        const b = await TrackBitmap.openFile(this.bitmapPath(p.id), vol.tracks);
        this.bitmaps.set(p.id, b);
        return b;
      },
    );
  }

  bitmapNow(id: string): TrackBitmap | undefined {
    return this.bitmaps.get(id);
  }

  async keeper(p: PairRow): Promise<ConsistentImage> {
    return this.once(
      `keeper:${p.id}`,
      () => this.keepers.get(p.id),
      async () => {
        const k = await ConsistentImage.open(this.imagePath(p.id));
        this.keepers.set(p.id, k);
        return k;
      },
    );
  }

  /** The consistent image of a pair if it is open (nothing is opened). */
  imageNow(id: string): ConsistentImage | undefined {
    return this.keepers.get(id);
  }

  hasImage(p: PairRow): boolean {
    return this.keepers.has(p.id) || ConsistentImage.exists(this.imagePath(p.id));
  }

  /** Removes the files of a pair's bitmap and kept image (a deleted pair, or one created anew). */
  async removePairFiles(id: string): Promise<void> {
    fs.rmSync(this.bitmapPath(id), { force: true });
    fs.rmSync(this.imagePath(id), { force: true });
  }

  async dropImage(p: PairRow): Promise<void> {
    const k = this.keepers.get(p.id);
    this.keepers.delete(p.id);
    if (k) await k.destroy();
    else fs.rmSync(this.imagePath(p.id), { force: true });
  }

  async markTracks(p: PairRow, vol: Volume, off: number, len: number): Promise<void> {
    if (len <= 0) return;
    const b = await this.bitmap(p);
    const first = Math.floor(off / vol.trackSize);
    const last = Math.floor((off + len - 1) / vol.trackSize);
    let fresh: number[] | null = null;
    for (let t = first; t <= last; t++) if (!b.get(t)) (fresh ??= []).push(t);
    if (fresh) await b.setAndPersist(fresh);
  }

  /** Everything held in memory about a pair (a deleted pair's id can be used again). */
  async forget(id: string): Promise<void> {
    const b = this.bitmaps.get(id);
    this.bitmaps.delete(id);
    if (b) await b.close().catch(() => undefined);
    const k = this.keepers.get(id);
    this.keepers.delete(id);
    if (k) await k.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const b of this.bitmaps.values()) await b.close().catch(() => undefined);
    for (const k of this.keepers.values()) await k.close().catch(() => undefined);
    this.bitmaps.clear();
    this.keepers.clear();
  }
}
