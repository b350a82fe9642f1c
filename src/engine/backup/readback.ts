/**
 * Reading a backup generation back, as an ImageReader rebuilds it (image.ts): hashing it for
 * verify, and writing it into a volume for restore. Both go through the image track by track, in
 * chunks of CHUNK bytes with DEPTH chunks in flight, and compute the image checksum on the way.
 */
import { forChunks } from '../util/parallel.js';
import type { Volume } from '../array/volume.js';
import { type ImageReader, TrackSums, trackHash } from './image.js';

/** Bytes of one chunk of a backup's bulk reads and writes (copy, verify, restore). */
export const CHUNK = 1024 * 1024;
/** Chunks in flight at once. */
export const DEPTH = 4;

type Progress = (done: number, total: number) => void;

/** The track digests of the generation `reader` rebuilds (`size` bytes in tracks of `ts`). */
export async function hashImage(reader: ImageReader, ts: number, size: number, onProgress?: Progress): Promise<TrackSums> {
  const sums = new TrackSums(reader.tracks, ts);
  let done = 0;
  await forChunks(reader.tracks, Math.max(1, CHUNK / ts), DEPTH, async (first, k) => {
    const buf = await reader.read(first, k);
    if (buf) for (let i = 0; i < k; i++) sums.set(first + i, trackHash(buf.subarray(i * ts, (i + 1) * ts)));
    done += k * ts;
    onProgress?.(done, size);
  });
  return sums;
}

/**
 * Writes the generation `reader` rebuilds into `dest` with `write` (the array's write path, not
 * made durable: the caller commits). Tracks neither the image nor `dest` holds are skipped; a
 * track `dest` holds that the image does not is written with zeros. The allocation map of `dest`
 * is set for every track to be written first. Returns the digests of what was written and the
 * bytes written.
 */
export async function restoreImage(
  reader: ImageReader,
  dest: Volume,
  ts: number,
  size: number,
  write: (offset: number, data: Buffer) => Promise<void>,
  onProgress?: Progress,
): Promise<{ sums: TrackSums; written: number }> {
  const tracks = reader.tracks;
  const sums = new TrackSums(tracks, ts);
  const toWrite: number[] = [];
  for (let t = 0; t < tracks; t++) if (!dest.isAllocated(t) && reader.hasData(t)) toWrite.push(t);
  await dest.alloc.setAndPersist(toWrite);
  let written = 0;
  let done = 0;
  await forChunks(tracks, Math.max(1, CHUNK / ts), DEPTH, async (first, k) => {
    let buf = await reader.read(first, k);
    let destHas = false;
    for (let t = first; t < first + k && !destHas; t++) destHas = dest.isAllocated(t);
    if (buf || destHas) {
      buf ??= Buffer.alloc(k * ts);
      for (let i = 0; i < k; i++) sums.set(first + i, trackHash(buf.subarray(i * ts, (i + 1) * ts)));
      await write(first * ts, buf);
      written += buf.length;
    }
    done += k * ts;
    onProgress?.(done, size);
  });
  return { sums, written };
}
