/**
 * References instead of data, the resync part: track hashes on both sides, and what the
 * destination holds.
 *
 * Before a changed track is copied, the destination compares the source's hash of it with its own:
 * an equal track is skipped; a zero track is written as zeros; a track whose content the
 * destination holds at another of its changed tracks (TrackIndex) is copied from there, after
 * checking the copy's hash (it may have changed since it was hashed: then the data is fetched);
 * the rest travels as data. Hashes are SHA-256 (base64) of whole tracks; an unallocated or all-zero
 * track hashes as ZERO_HASH without being hashed.
 */
import { forEachLimit } from '../../util/parallel.js';
import type { Volume } from '../../array/volume.js';
import { sha256 } from './wire.js';

export const ZERO_HASH = 'zero';
const RUN = 1024 * 1024;
let zeroTrack = Buffer.alloc(0);

function isZero(b: Buffer): boolean {
  if (zeroTrack.length < b.length) zeroTrack = Buffer.alloc(b.length);
  return b.equals(zeroTrack.subarray(0, b.length));
}

/** The hash of one track's content. */
export function trackHash(data: Buffer): string {
  return isZero(data) ? ZERO_HASH : sha256(data);
}

/** Hashes of tracks first..last of vol, read in runs of up to 1 MiB (unallocated ones are not read);
 *  `seen` is given each track read and its content. */
export async function hashTracks(vol: Volume, first: number, last: number, seen?: (track: number, data: Buffer) => void): Promise<string[]> {
  const ts = vol.trackSize;
  const out: string[] = [];
  let t = first;
  while (t <= last) {
    if (!vol.isAllocated(t)) {
      out.push(ZERO_HASH);
      t++;
      continue;
    }
    let end = t;
    while (end + 1 <= last && vol.isAllocated(end + 1) && (end + 2 - t) * ts <= RUN) end++;
    const off = t * ts;
    const buf = await vol.read(off, Math.min((end + 1) * ts, vol.size) - off);
    for (let x = t; x <= end; x++) {
      const d = buf.subarray((x - t) * ts, Math.min(buf.length, (x - t + 1) * ts));
      out.push(trackHash(d));
      seen?.(x, d);
    }
    t = end + 1;
  }
  return out;
}

/**
 * The destination's changed tracks and what they hold now: track -> hash, and hash -> a track
 * holding it. Updated as the resync writes tracks; only a hint (copies are checked).
 */
export class TrackIndex {
  private byTrack = new Map<number, string>();
  private byHash = new Map<string, number>();

  /**
   * Hashes every track of `runs` (inclusive ranges) of vol that `idx` does not know yet, four runs
   * of reads in flight.
   */
  static async build(vol: Volume, runs: Array<[number, number]>, idx = new TrackIndex()): Promise<TrackIndex> {
    const perRun = Math.max(1, Math.floor(RUN / vol.trackSize));
    const pieces: Array<[number, number]> = [];
    for (const [a, b] of runs) {
      for (let s = a; s <= b;) {
        if (idx.byTrack.has(s)) {
          s++;
          continue;
        }
        let e = s;
        while (e < b && e - s + 1 < perRun && !idx.byTrack.has(e + 1)) e++;
        pieces.push([s, e]);
        s = e + 1;
      }
    }
    await forEachLimit(pieces.length, 4, async (k) => {
      const [a, b] = pieces[k]!;
      const hs = await hashTracks(vol, a, b);
      hs.forEach((h, i) => idx.set(a + i, h));
    });
    return idx;
  }

  get size(): number {
    return this.byTrack.size;
  }

  hashOf(track: number): string | undefined {
    return this.byTrack.get(track);
  }

  /** A track other than `not` that holds content with this hash, if any. */
  find(hash: string, not: number): number | undefined {
    const t = this.byHash.get(hash);
    return t === undefined || t === not ? undefined : t;
  }

  set(track: number, hash: string | undefined): void {
    const old = this.byTrack.get(track);
    if (old !== undefined && this.byHash.get(old) === track) this.byHash.delete(old);
    if (hash === undefined) {
      this.byTrack.delete(track);
      return;
    }
    this.byTrack.set(track, hash);
    if (hash !== ZERO_HASH) this.byHash.set(hash, track);
  }
}
