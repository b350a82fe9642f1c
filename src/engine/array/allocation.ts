/**
 * The allocation map of a volume: one bit per track that has ever been written, kept in
 * volumes/NAME.alloc (a TrackBitmap file) beside the image volumes/NAME.img.
 *
 * Invariants:
 *   - A track's bit is written to the map file before the data write that needs it, so a killed
 *     controller never leaves data the map does not know of; the map is fsynced with the data at
 *     the array's commit. Copies, checksums and backups that skip unallocated tracks therefore
 *     never miss acknowledged data.
 *   - Bits are only ever set: a track once written stays allocated (its content may be zeros).
 */
import { withPath } from '../../errors.js';
import { TrackBitmap } from '../repl/track-bitmap.js';

/** The map file of the image at `imagePath`. */
export function allocationMapPath(imagePath: string): string {
  return imagePath.replace(/\.img$/, '.alloc');
}

/** Opens (or makes) the allocation map of a volume of `tracks` tracks. */
export function openAllocationMap(file: string, tracks: number): Promise<TrackBitmap> {
  return TrackBitmap.openFile(file, tracks);
}

/**
 * Marks the tracks of several ranges ([offset, length]) allocated, and writes the map pages that
 * hold the fresh ones before it returns (synchronously: TrackBitmap.setAndWrite); throws the
 * write's error, naming the file.
 */
export function allocate(map: TrackBitmap, trackSize: number, ranges: Iterable<readonly [number, number]>, file: string): void {
  let fresh: number[] | null = null;
  for (const [offset, length] of ranges) {
    if (length <= 0) continue;
    const last = Math.floor((offset + length - 1) / trackSize);
    for (let t = Math.floor(offset / trackSize); t <= last; t++) if (!map.get(t)) (fresh ??= []).push(t);
  }
  if (!fresh) return;
  try {
    map.setAndWrite(fresh);
  } catch (e) {
    throw withPath(e, file);
  }
}
