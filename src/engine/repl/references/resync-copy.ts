/**
 * A resync with references (DESIGN.md §2.4): the S-VOL's changed tracks are hashed (from the reads
 * of the consistent image's save) and the primary is asked for its hashes of the same tracks, per
 * group of runs. Equal tracks are skipped, zero tracks written as zeros, tracks the S-VOL holds at
 * another changed track copied locally (checked against the hash; a stale one is read from the
 * primary), tracks whose blocks the S-VOL holds anywhere by the primary's content index (its hints,
 * references/index-keeper.ts) rebuilt locally (checked the same way), the rest read as data.
 */
import { E } from '../../../errors.js';
import type { StorageArray } from '../../array/array.js';
import type { VolumeWrite } from '../../array/write-path.js';
import type { Volume } from '../../array/volume.js';
import type { ConsistentImage } from '../consistent-image.js';
import type { CopyStats } from '../copy-stats.js';
import type { Links } from '../links.js';
import type { PeerCaller } from '../peer.js';
import type { PairRow } from '../repl-store.js';
import type { Hint } from './index-keeper.js';
import { ZERO_HASH, trackHash, type TrackIndex } from './track-hashes.js';
import { trackBuffers } from '../../util/buffer-pool.js';

type Kind = 'equal' | 'zero' | 'ref' | 'data';

let zeroTrack = Buffer.alloc(0);
/** n zero bytes (one shared buffer: writes only read it). */
function zeros(n: number): Buffer {
  if (zeroTrack.length < n) zeroTrack = Buffer.alloc(n);
  return zeroTrack.subarray(0, n);
}

/** The primary's hashes of the tracks of several runs, and its hints: where the S-VOL held each
 *  track's blocks (runs of [offset, length], offset -1 for zeros), from its content index. */
export interface PrimaryHashes {
  hashes: string[][];
  hints: Array<Array<Hint | null>> | null;
}

/** The primary's hashes of the tracks of several runs (one request). */
export async function primaryHashes(links: Links, p: PairRow, peer: PeerCaller, vol: Volume, runs: Array<[number, number]>, st: CopyStats): Promise<PrimaryHashes> {
  const ts = vol.trackSize;
  const t0 = performance.now();
  const ranges = runs.map(([a, b]) => [a * ts, Math.min((b + 1) * ts, vol.size) - a * ts]);
  const reply = await peer.call<{ hashes: string[][]; hints?: unknown }>('repl.trackHashes', { volume: p.remoteVol, ranges }, { timeoutMs: 120_000 });
  const hashes = reply.result.hashes;
  const ok =
    Array.isArray(hashes) && hashes.length === runs.length && runs.every(([a, b], i) => Array.isArray(hashes[i]) && hashes[i]!.length === b - a + 1 && hashes[i]!.every((h) => typeof h === 'string'));
  if (!ok) throw E.peer(`track hashes from ${p.remoteArray} do not match the ${runs.length} runs asked for`);
  const hints = checkHints(reply.result.hints, runs, vol);
  let wire = hashes.reduce((n, l) => n + l.reduce((m, h) => m + h.length + 3, 2), 2);
  if (hints) wire += JSON.stringify(hints).length;
  st.referenceWireBytes += wire;
  await links.shaper(p.remoteArray).transfer(wire, t0);
  return { hashes, hints };
}

/** The primary's hints when they are well formed (each covers its track exactly, within the volume); else none. */
function checkHints(h: unknown, runs: Array<[number, number]>, vol: Volume): Array<Array<Hint | null>> | null {
  if (!Array.isArray(h) || h.length !== runs.length) return null;
  const ts = vol.trackSize;
  const okRun = (r: unknown): boolean =>
    Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[1] > 0 && r[0] >= -1 && (r[0] === -1 || r[0] + r[1] <= vol.size);
  for (let i = 0; i < runs.length; i++) {
    const [a, b] = runs[i]!;
    const l: unknown = h[i];
    if (!Array.isArray(l) || l.length !== b - a + 1) return null;
    for (let k = 0; k < l.length; k++) {
      const x: unknown = l[k];
      if (x === null) continue;
      const n = Math.min(ts, vol.size - (a + k) * ts);
      if (!Array.isArray(x) || x.length > 4096 || !x.every(okRun) || x.reduce((m: number, r: [number, number]) => m + r[1], 0) !== n) return null;
    }
  }
  return h as Array<Array<Hint | null>>;
}

/** A track rebuilt from the S-VOL at the places a hint names, or null when it is not all there. */
async function fromHint(vol: Volume, hint: Hint, n: number): Promise<Buffer | null> {
  const buf = Buffer.alloc(n);
  let at = 0;
  for (const [off, len] of hint) {
    if (off >= 0) (await vol.read(off, len)).copy(buf, at);
    at += len;
  }
  return at === n ? buf : null;
}

/**
 * Copies a group of runs by hashes: equal tracks are skipped, zero tracks written as zeros,
 * tracks the S-VOL holds elsewhere copied locally (checked), and the rest read from the primary
 * in one request. The tracks written are saved in the consistent image first (one fsync).
 */
// long: plan (compare hashes), fetch what is data, save the image, write, count: one group of runs
// end to end, in the order the S-VOL may be touched
export async function copyGroupWithReferences(
  array: StorageArray,
  vol: Volume,
  group: Array<[number, number]>,
  primary: PrimaryHashes,
  index: TrackIndex,
  keeper: ConsistentImage | null,
  saved: Promise<void>,
  st: CopyStats,
  readRuns: (runs: Array<[number, number]>) => Promise<Buffer[]>,
  live: () => void,
): Promise<void> {
  const ts = vol.trackSize;
  const { hashes, hints } = primary;
  // each track's content to write (none for an equal one): a track found on the S-VOL, zeros, or
  // (once the reply is in) a view of the primary's data, which goes to the volume without a copy
  const plans: Array<{ a: number; off: number; len: number; kind: Kind[]; src: Array<Buffer | null> }> = [];
  const wanted: Array<[number, number]> = [];
  const into: Array<{ plan: number; i: number }> = [];
  for (let g = 0; g < group.length; g++) {
    const [a, b] = group[g]!;
    const off = a * ts;
    const len = Math.min((b + 1) * ts, vol.size) - off;
    const plan = { a, off, len, kind: [] as Kind[], src: [] as Array<Buffer | null> };
    for (let i = 0; i <= b - a; i++) {
      const x = a + i;
      const ph = hashes[g]![i]!;
      const at = i * ts;
      const n = Math.min(ts, len - at);
      let got: Buffer | null = null;
      if (ph === index.hashOf(x)) plan.kind.push('equal');
      else if (ph === ZERO_HASH) {
        plan.kind.push('zero');
        got = zeros(n);
      } else {
        // a changed track that holds it, else the places the primary's index names (any block the
        // S-VOL held); each checked against the hash
        const src = index.find(ph, x);
        got = src === undefined ? null : await vol.read(src * ts, n);
        if (got && trackHash(got) !== ph) {
          st.staleReferences++;
          got = null;
        }
        const hint = got ? null : hints?.[g]?.[i];
        // (not the track just found stale again)
        if (hint && !(src !== undefined && hint.length === 1 && hint[0]![0] === src * ts)) {
          got = await fromHint(vol, hint, n);
          if (got && trackHash(got) !== ph) {
            st.staleReferences++;
            got = null;
          }
        }
        plan.kind.push(got ? 'ref' : 'data');
      }
      plan.src.push(got);
    }
    for (let i = 0; i < plan.kind.length;) {
      if (plan.kind[i] !== 'data') {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < plan.kind.length && plan.kind[j + 1] === 'data') j++;
      wanted.push([off + i * ts, Math.min(len, (j + 1) * ts) - i * ts]);
      into.push({ plan: plans.length, i });
      i = j + 1;
    }
    plans.push(plan);
  }
  // a run of data tracks is one view of the reply, written as it came
  const datas = wanted.length ? await readRuns(wanted) : [];
  datas.forEach((d, k) => (plans[into[k]!.plan]!.src[into[k]!.i] = d));
  const written: number[] = [];
  for (const pl of plans) pl.kind.forEach((k, i) => k !== 'equal' && written.push(pl.a + i));
  await saved;
  live();
  if (keeper && written.length) await keeper.save(vol, written);
  live();
  const writes: VolumeWrite[] = [];
  for (const pl of plans) for (let i = 0; i < pl.kind.length; i++) if (pl.src[i]) writes.push({ vol, offset: pl.off + i * ts, data: pl.src[i]! });
  await array.writeMany(writes, 'resync');
  // the volume writes have ended and nothing else holds the reply
  if (datas.length) trackBuffers.give(datas[0]);
  plans.forEach((pl, g) => {
    pl.kind.forEach((k, i) => {
      const n = Math.min(ts, pl.len - i * ts);
      if (k === 'equal') {
        st.equalTracks++;
        st.equalBytes += n;
      } else if (k === 'zero') {
        st.zeroTracks++;
        st.zeroBytes += n;
        st.referenceBytes += n;
      } else if (k === 'ref') {
        st.referenceTracks++;
        st.referenceBytes += n;
      } else st.dataTracks++;
      if (k !== 'equal') index.set(pl.a + i, hashes[g]![i]!);
    });
  });
}
