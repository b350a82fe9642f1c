/**
 * The primary's content indexes, one per master journal (references/content-index.ts), kept
 * across state changes and controller restarts. PullServer asks here for the index of a pull.
 *
 * - At the first pull after a start, the index is loaded from its file (references/index-file.ts):
 *   its places are candidates, never used as they are.
 * - A reset (gap in the stream, state change of the group) turns the index's places into candidates.
 * - Once every pair of the group is PAIR again and the pull's `after` has reached the seq from which
 *   the S-VOLs mirror the P-VOLs, the candidates are checked against the P-VOLs and the journal
 *   (references/rebuild.ts) and the ones that hold are adopted: that pull already uses them.
 * - The index is written to its file when the stream drains (a pull finds nothing new), at most
 *   every SAVE_EVERY_MS while it runs, and when the controller stops. A kill -9 leaves the last
 *   file: older than the index was, which costs references but never correctness (see rebuild.ts).
 * - A resync asks for hints (`hints`): places of the S-VOL that held a changed track's blocks, from
 *   the index and its candidates, which the secondary checks against the track's SHA-256.
 */
import type { Volume } from '../../array/volume.js';
import type { JournalFile } from '../../journal/journal-file.js';
import type { Site } from '../site.js';
import type { PairRow } from '../repl-store.js';
import { ContentIndex, ZERO_BLOCK, ZERO_FP, fingerprint } from './content-index.js';
import { indexFile, loadSnapshot, removeSnapshot, saveSnapshot } from './index-file.js';
import { checkCandidates } from './rebuild.js';
import { BLOCK } from './wire.js';
import { hashTracks } from './track-hashes.js';
import { forEachLimit } from '../../util/parallel.js';

const SAVE_EVERY_MS = Number(process.env.RCOPY_REFS_SAVE_MS ?? 10_000);
const TWO32 = 2 ** 32;

/** A run of a track's content on the S-VOL: [byte offset, length]. */
export type Hint = Array<[number, number]>;

export class ReferenceIndexes {
  private readonly indexes = new Map<string, Promise<ContentIndex>>();
  private readonly saving = new Map<string, Promise<void>>();
  private readonly lastSave = new Map<string, number>();
  private readonly forgotten = new Set<string>();

  constructor(private readonly site: Site) {}

  private get(journal: string): Promise<ContentIndex> {
    let p = this.indexes.get(journal);
    if (!p) {
      p = (async () => {
        const idx = new ContentIndex();
        const snap = await loadSnapshot(indexFile(this.site.array.dir, journal), idx.maxPlaces).catch(() => null);
        if (snap) {
          for (const [place, fp] of snap.places) idx.addCandidate(place, fp);
          idx.stateKey = snap.stateKey;
          idx.validFrom = snap.validFrom;
          idx.dirty = false;
          this.site.log(`references: ${journal}: ${snap.places.length} places loaded, to be checked before use`);
        }
        return idx;
      })();
      this.indexes.set(journal, p);
      this.forgotten.delete(journal);
    }
    return p;
  }

  /**
   * The index of a pull with references after `after`, continued or reset, its candidates checked
   * and adopted when the group allows it (every pair PAIR, after >= validFrom).
   */
  async forPull(journal: string, j: JournalFile, after: number, pairs: PairRow[]): Promise<ContentIndex> {
    const idx = await this.get(journal);
    const key = pairs.map((p) => `${p.id}/${p.state}/${p.stateSince}`).join(',');
    idx.resume(after, key, j.lastSeq);
    if (idx.candidates > 0 && after >= idx.validFrom && pairs.length > 0 && pairs.every((p) => p.state === 'PAIR')) await this.rebuild(journal, j, idx, after, pairs);
    return idx;
  }

  private async rebuild(journal: string, j: JournalFile, idx: ContentIndex, after: number, pairs: PairRow[]): Promise<void> {
    const t0 = performance.now();
    const cands = idx.takeCandidates();
    const volumes = new Map<number, Volume>();
    for (const p of pairs) {
      const v = this.site.array.volumes.get(p.localVol);
      if (v) volumes.set(v.id, v);
    }
    const key = idx.stateKey;
    const ok = await checkCandidates(cands, {
      volumes,
      touchedAfter: async () => j.touched(after + 1),
    });
    if (idx.upTo !== after || idx.stateKey !== key) {
      // the stream moved on meanwhile: what was checked is a candidate again
      for (const [place, fp] of ok) idx.addCandidate(place, fp);
      return;
    }
    idx.adopt(ok);
    this.site.log(`references: ${journal}: ${ok.length} of ${cands.length} places checked and kept in ${Math.round(performance.now() - t0)} ms`);
  }

  /** After a pull was encoded: writes the index when the stream drained, or now and then. */
  afterPull(journal: string, idx: ContentIndex, sent: number): void {
    const last = this.lastSave.get(journal) ?? 0;
    if (!idx.dirty || this.saving.has(journal)) return;
    if (sent > 0 && performance.now() - last < SAVE_EVERY_MS) return;
    // after the reply has gone out (taking the snapshot feeds the batch just encoded)
    const p = new Promise<void>((r) => setImmediate(r)).then(() => this.saveInBackground(journal, idx));
    this.saving.set(journal, p);
  }

  private saveInBackground(journal: string, idx: ContentIndex): Promise<void> {
    idx.feedPending();
    const places = [...idx.places(), ...idx.candidatePlaces()].slice(-idx.maxPlaces);
    const snap = { stateKey: idx.stateKey, validFrom: idx.validFrom, places };
    idx.dirty = false;
    this.lastSave.set(journal, performance.now());
    const p = saveSnapshot(indexFile(this.site.array.dir, journal), snap)
      .catch((e: Error) => {
        idx.dirty = true;
        this.site.log(`references: saving the index of ${journal} failed: ${e.message}`);
      })
      .finally(() => this.saving.delete(journal));
    this.saving.set(journal, p);
    return p;
  }

  /** Drops a journal's index and its file (a pull without references). */
  forget(journal: string): void {
    if (this.forgotten.has(journal)) return;
    this.forgotten.add(journal);
    const p = this.indexes.get(journal);
    this.indexes.delete(journal);
    void p?.then((idx) => idx.clear()).catch(() => undefined);
    removeSnapshot(indexFile(this.site.array.dir, journal));
  }

  /** Writes every changed index (the controller stops). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.saving.values()]);
    for (const [journal, p] of this.indexes) {
      const idx = await p.catch(() => null);
      if (idx?.dirty) await this.saveInBackground(journal, idx);
    }
  }

  /**
   * For a resync of P-VOL `vol` in master journal `journal`: a function giving, for a whole track's
   * content, the runs of the S-VOL that held each of its blocks when every block of it is known at
   * a place of this volume (a hint: the secondary checks the track's SHA-256), else null; null
   * when the index knows nothing. A track's fingerprints stop at its first block not found.
   */
  async hinter(journal: string, vol: Volume): Promise<((track: Buffer) => Hint | null) | null> {
    const idx = await this.get(journal);
    if (idx.size + idx.candidates === 0) return null; // nothing known: no hints (and no fingerprints)
    return (track) => (track.length % BLOCK === 0 && track.length > 0 ? trackHint(idx, vol.id, track) : null);
  }

  /**
   * `repl.trackHashes` on the primary: the hashes of tracks [a, b] of each range of `vol` (several
   * reads in flight: a resync's ranges are mostly single random tracks), with hints when `vol` is
   * the P-VOL of a pair.
   */
  async trackHashes(pairs: PairRow[], vol: Volume, want: Array<[number, number]>): Promise<{ hashes: string[][]; hints?: Array<Array<Hint | null>> }> {
    const pr = pairs.find((x) => x.role === 'P' && x.localVol === vol.name);
    const hintOf = pr ? await this.hinter(pr.localJournal, vol) : null;
    const hashes: string[][] = new Array(want.length);
    const hints = want.map(([a, b]) => new Array<Hint | null>(b - a + 1).fill(null));
    await forEachLimit(want.length, 8, async (i) => {
      const [a, b] = want[i]!;
      hashes[i] = await hashTracks(vol, a, b, hintOf ? (t, d) => (hints[i]![t - a] = hintOf(d)) : undefined);
    });
    return hintOf ? { hashes, hints } : { hashes };
  }
}

/** Where the S-VOL held every block of `track`, as runs (offset -1: zeros), or null. */
function trackHint(idx: ContentIndex, volId: number, track: Buffer): Hint | null {
  const runs: Hint = [];
  let zero = true;
  for (let at = 0; at < track.length; at += BLOCK) {
    const blk = track.subarray(at, at + BLOCK);
    const fp = fingerprint(blk);
    let off = -1;
    if (fp !== ZERO_FP || !blk.equals(ZERO_BLOCK)) {
      const place = idx.hint(fp);
      if (place === undefined || Math.floor(place / TWO32) !== volId) return null;
      zero = false;
      off = (place % TWO32) * BLOCK;
    }
    const last = runs[runs.length - 1];
    if (last && ((off < 0 && last[0] < 0) || (off >= 0 && last[0] + last[1] === off))) last[1] += BLOCK;
    else runs.push([off, BLOCK]);
  }
  return zero ? null : runs;
}
