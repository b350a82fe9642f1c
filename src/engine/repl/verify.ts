/**
 * Online verify (`pair verify`): the P-VOL and the S-VOL of a pair in PAIR are compared track by
 * track while host writes go on, at one common point: the secondary's restored seq N.
 *
 * Per chunk of tracks, on the secondary, with the group's restore held (Restorer.hold: no restore
 * writes the S-VOLs, so they stay exactly at N, and every pull reports restored = N, so the
 * primary keeps every entry after N in its master journal):
 *   - S hashes the chunk's tracks of the S-VOL (its content at N);
 *   - P, asked at the same time (repl.verifyHashes with N): under the array's write lock (no host
 *     write lands, and every journaled write is on the P-VOL) it notes its journal's last seq L and
 *     hashes the chunk's tracks of the P-VOL (their content at L); after the lock it reads the
 *     entries (N, L] of its master journal and names the chunk's tracks they wrote ("in flight").
 *     A track no entry of (N, L] wrote holds at L what it held at N, so its two hashes must be
 *     equal; a track in flight is not compared now and is tried again in a later round (and, if
 *     still in flight after the last round, counted as not verified, never reported as different).
 *   - P refuses when its journal no longer holds all of (N, L] (it cannot tell what was written).
 * Nothing is written by a verify, so a crash or a kill of either side at any moment leaves nothing
 * to repair: the hold ends with the S controller, and the request is simply not answered.
 */
import { E } from '../../errors.js';
import type { Volume } from '../array/volume.js';
import { JOURNALING } from './pair-state.js';
import type { Parts } from './parts.js';
import type { PairRow } from './repl-store.js';
import { hashTracks } from './references/track-hashes.js';
import type { Restorer } from './restore.js';

/** Tracks compared per held step: the hold and P's write lock last one chunk's hashing. */
export const VERIFY_CHUNK_TRACKS = 256;
const ROUNDS = 5;

export interface VerifyPairResult {
  id: string;
  pvol: string;
  svol: string;
  tracks: number;
  compared: number;
  /** Tracks still written while being compared in every round: not compared, not reported. */
  unverified: number;
  differing: Array<{ track: number; offset: number }>;
}

export interface PrimaryHashes {
  lastSeq: number;
  hashes: string[];
  inflight: number[];
}

/** The tracks [first, last] of `vol` that journal entries after seq `after` up to `upto` wrote. */
async function tracksWritten(parts: Pick<Parts, 'journals'>, journal: string, vol: Volume, first: number, last: number, after: number, upto: number): Promise<number[]> {
  const jf = parts.journals.journal(journal);
  const out = new Set<number>();
  if (upto <= after) return [];
  const oldest = jf.stats().oldestSeq;
  if (oldest === null || oldest > after + 1) throw E.state(`journal ${journal} no longer holds the entries after seq ${after}`, 'the restore moved on: verify asks again');
  let next = after + 1;
  while (next <= upto) {
    const batch = await jf.read(next, { maxBytes: 64 * 1024 * 1024 });
    if (!batch.length) break;
    for (const e of batch) {
      if (e.seq > upto) break;
      if (e.volumeId !== vol.id || !e.data.length) continue;
      const a = Math.max(first, Math.floor(e.offset / vol.trackSize));
      const b = Math.min(last, Math.floor((e.offset + e.data.length - 1) / vol.trackSize));
      for (let t = a; t <= b; t++) out.add(t);
    }
    next = batch[batch.length - 1]!.seq + 1;
  }
  return [...out].sort((x, y) => x - y);
}

/** P side (repl.verifyHashes): hashes of tracks first..last of a P-VOL and the tracks written after `after`. */
export async function primaryHashes(parts: Pick<Parts, 'site' | 'records' | 'journals'>, journal: string, volume: string, first: number, last: number, after: number): Promise<PrimaryHashes> {
  const p = parts.records.groupPairs(journal).find((x) => x.role === 'P' && x.localVol === volume);
  if (!p || !JOURNALING.has(p.state) || p.state === 'COPY') throw E.state(`${parts.site.name}:${volume} is not a P-VOL in PAIR of journal ${journal}`, 'verify a pair in PAIR');
  const vol = parts.site.array.volume(volume);
  if (first < 0 || last < first || last >= vol.tracks) throw E.badRequest(`tracks ${first}-${last} are not tracks of ${volume}`);
  const jf = parts.journals.journal(journal);
  const { lastSeq, hashes } = await parts.site.array.locked(async () => ({ lastSeq: jf.lastSeq, hashes: await hashTracks(vol, first, last) }));
  return { lastSeq, hashes, inflight: await tracksWritten(parts, journal, vol, first, last, after, lastSeq) };
}

export class Verifier {
  constructor(
    private readonly parts: Pick<Parts, 'site' | 'records' | 'links'>,
    private readonly restorer: Restorer,
  ) {}

  /** The S-side pairs of the group of `id`, checked: PAIR, consistent, read-only. */
  groupOf(id: string): PairRow[] {
    const p = this.parts.records.pair(id);
    if (p.role !== 'S') throw E.state(`pair ${id} is driven by ${p.remoteArray}`, `run it on the secondary: rcopy pair verify ${p.remoteArray}:${p.remoteVol}`);
    const ps = this.parts.records.groupPairs(p.localJournal).filter((x) => x.role === 'S');
    for (const x of ps) {
      if (x.state !== 'PAIR' || x.writable) throw E.state(`pair ${x.id} is ${x.state}${x.writable ? ' (writable)' : ''}: an online verify needs the group in PAIR`, `rcopy pair resync ${x.id}`);
      if (x.splitSeq !== null) throw E.state(`pair ${x.id} is not yet consistent after its resync (restore has not passed seq ${x.splitSeq})`, `wait: rcopy pair wait ${x.id} --drained`);
    }
    return ps;
  }

  /**
   * Verifies every pair of the group of `id`; progress in tracks done of all. `stopped` is asked
   * before each chunk: once it says why, the verify ends there with what it compared so far.
   */
  async verify(id: string, onProgress: (done: number, total: number) => void = () => {}, stopped: () => string | null = () => null): Promise<VerifyPairResult[]> {
    const ps = this.groupOf(id);
    const total = ps.reduce((n, p) => n + this.parts.site.array.volume(p.localVol).tracks, 0);
    let done = 0;
    const out: VerifyPairResult[] = [];
    for (const p of ps) {
      if (stopped() !== null) break;
      out.push(
        await this.verifyPair(
          p,
          (n) => {
            done += n;
            onProgress(done, total);
          },
          stopped,
        ),
      );
    }
    return out;
  }

  private async verifyPair(p: PairRow, progress: (n: number) => void, stopped: () => string | null): Promise<VerifyPairResult> {
    const vol = this.parts.site.array.volume(p.localVol);
    const name = this.parts.site.name;
    const r: VerifyPairResult = { id: p.id, pvol: `${p.remoteArray}:${p.remoteVol}`, svol: `${name}:${p.localVol}`, tracks: vol.tracks, compared: 0, unverified: 0, differing: [] };
    // round 0 walks the whole volume; later rounds take the chunks that had tracks in flight, once
    // the restore has passed what was in flight, and count only those tracks
    let want: Set<number> | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const again = new Set<number>();
      let upto = 0;
      for (let a = 0; a < vol.tracks; a += VERIFY_CHUNK_TRACKS) {
        const b = Math.min(vol.tracks - 1, a + VERIFY_CHUNK_TRACKS - 1);
        if (want && ![...want].some((t) => t >= a && t <= b)) continue;
        if (stopped() !== null) break;
        const res = await this.compare(p, vol, a, b, want);
        r.compared += res.compared;
        for (const t of res.differing) r.differing.push({ track: t, offset: t * vol.trackSize });
        for (const t of res.inflight) again.add(t);
        upto = Math.max(upto, res.lastSeq);
        if (round === 0) progress(b - a + 1);
      }
      want = again;
      if (!want.size) break;
      await this.restoredPast(p.localJournal, upto);
    }
    r.unverified = want?.size ?? 0;
    r.differing.sort((x, y) => x.track - y.track);
    this.parts.site.log(
      `verify ${p.id}: ${r.compared} of ${r.tracks} tracks compared, ${r.differing.length} differ${
        r.differing.length
          ? ` (${r.differing
              .slice(0, 10)
              .map((d) => d.track)
              .join(', ')})`
          : ''
      }, ${r.unverified} not verified`,
    );
    return r;
  }

  /** Waits (at most 10 s) until the restore has passed `seq`: what was in flight has arrived. */
  private async restoredPast(journal: string, seq: number): Promise<void> {
    const t0 = Date.now();
    while (this.parts.records.journalRow(journal).restoredSeq < seq && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 20));
  }

  /** One held step: both sides' hashes of tracks a..b at the restored seq. */
  private async compare(p: PairRow, vol: Volume, a: number, b: number, want: Set<number> | null): Promise<{ compared: number; differing: number[]; inflight: number[]; lastSeq: number }> {
    const peer = await this.parts.links.peer(p.remoteArray);
    return this.restorer.hold(p.localJournal, async () => {
      this.groupOf(p.id); // still PAIR (a suspension while waiting for the hold ends the verify)
      const n = this.parts.records.journalRow(p.localJournal).restoredSeq;
      const [mine, theirs] = await Promise.all([
        hashTracks(vol, a, b),
        peer.call<PrimaryHashes>('repl.verifyHashes', { journal: p.remoteJournal, volume: p.remoteVol, first: a, last: b, after: n }, { timeoutMs: 120_000 }),
      ]);
      const ph = theirs.result;
      if (!Array.isArray(ph.hashes) || ph.hashes.length !== b - a + 1 || !Array.isArray(ph.inflight)) throw E.peer(`track hashes from ${p.remoteArray} do not match tracks ${a}-${b}`);
      const inflight = new Set(ph.inflight);
      const differing: number[] = [];
      let compared = 0;
      for (let t = a; t <= b; t++) {
        if (inflight.has(t) || (want && !want.has(t))) continue;
        compared++;
        if (mine[t - a] !== ph.hashes[t - a]) differing.push(t);
      }
      return { compared, differing, inflight: [...inflight].filter((t) => t >= a && t <= b && (!want || want.has(t))), lastSeq: ph.lastSeq };
    });
  }
}
