/**
 * Rebuilding the primary's content index (references/content-index.ts) from candidates: places it
 * knew before a reset (a state change, a gap in the stream) or loaded from its file after a
 * restart (references/index-file.ts). A candidate says "the S-VOL held this content at this place
 * once"; the S-VOL may have changed since (more entries restored, a resync), so none is used by a
 * pull before it is checked here.
 *
 * The check, for a pull after `after` while every pair of the group is PAIR and the S-VOLs mirror
 * the P-VOLs from `validFrom` on (after >= validFrom, so S at `after` == P at `after`):
 *   1. read each candidate block from its P-VOL (runs of neighbours, four reads in flight) and keep
 *      the blocks whose fingerprint still matches;
 *   2. then read the master journal's entries after `after` and drop every place they touch.
 * A kept place holds its content on the P-VOL as of `after`: every write that had landed when the
 * block was read had its journal record appended before (the journal is the P-VOLs' write-ahead
 * log), so it is among the entries read in step 2 unless its seq is <= `after`; entries <= `after`
 * have all landed (they were served). So the S-VOL holds that content at that place once it has
 * restored `after`. A fingerprint collision is caught by the secondary's SHA-256 check as always.
 *
 * Cost: one 4 KiB read per candidate (neighbours read together, at most MAX_PLACES of them: 2 GiB)
 * and one read of the entries still in the journal after `after`, once per rebuild.
 */
import type { Volume } from '../../array/volume.js';
import { forEachLimit } from '../../util/parallel.js';
import { NumMap } from '../num-map.js';
import { fingerprint } from './content-index.js';
import { BLOCK } from './wire.js';

const TWO32 = 2 ** 32;
/** Blocks read together at most (1 MiB). */
const RUN_BLOCKS = 256;

/** What a rebuild reads: the group's P-VOLs by id, and what the entries after `after` wrote. */
export interface RebuildSource {
  volumes: Map<number, Volume>;
  /** [volume id, offset, length] of every entry after the pull's `after` (read after step 1). */
  touchedAfter(): Promise<Array<[number, number, number]>>;
}

/** The candidates (sorted by place) that hold as of the pull's `after`. */
export async function checkCandidates(cands: Array<[number, number]>, src: RebuildSource): Promise<Array<[number, number]>> {
  const runs: Array<[number, number]> = []; // [first index, last index] into cands
  for (let i = 0; i < cands.length;) {
    let j = i;
    while (j + 1 < cands.length && cands[j + 1]![0] === cands[j]![0] + 1 && j + 1 - i < RUN_BLOCKS && Math.floor(cands[j + 1]![0] / TWO32) === Math.floor(cands[i]![0] / TWO32)) j++;
    runs.push([i, j]);
    i = j + 1;
  }
  const keep = new Uint8Array(cands.length);
  await forEachLimit(runs.length, 4, async (r) => {
    const [i, j] = runs[r]!;
    const vol = src.volumes.get(Math.floor(cands[i]![0] / TWO32));
    if (!vol) return;
    const first = cands[i]![0] % TWO32;
    const off = first * BLOCK;
    const len = (j - i + 1) * BLOCK;
    if (off + len > vol.size) return;
    const ts = vol.trackSize;
    let any = false;
    for (let t = Math.floor(off / ts); t <= Math.floor((off + len - 1) / ts) && !any; t++) any = vol.isAllocated(t);
    if (!any) return; // zeros: never a place in the index
    const data = await vol.read(off, len);
    for (let k = i; k <= j; k++) {
      const at = (k - i) * BLOCK;
      if (fingerprint(data.subarray(at, at + BLOCK)) === cands[k]![1]) keep[k] = 1;
    }
  });
  const touched = new NumMap();
  for (const [vid, off, len] of await src.touchedAfter()) {
    if (len === 0) continue;
    for (let b = Math.floor(off / BLOCK); b <= Math.floor((off + len - 1) / BLOCK); b++) touched.set(vid * TWO32 + b, 1);
  }
  const out: Array<[number, number]> = [];
  for (let k = 0; k < cands.length; k++) if (keep[k] && touched.find(cands[k]![0]) < 0) out.push(cands[k]!);
  return out;
}
