/**
 * A resync with references (DESIGN.md §2.4): the S-VOL's changed tracks are hashed (from the reads
 * of the consistent image's save) and the primary is asked for its hashes of the same tracks, per
 * group of runs. Equal tracks are skipped, zero tracks written as zeros, tracks the S-VOL holds at
 * another changed track copied locally (checked against the hash; a stale one is read from the
 * primary), the rest read as data.
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
import { ZERO_HASH, trackHash, type TrackIndex } from './track-hashes.js';

/** The primary's hashes of the tracks of several runs (one request). */
export async function primaryHashes(links: Links, p: PairRow, peer: PeerCaller, vol: Volume, runs: Array<[number, number]>, st: CopyStats): Promise<string[][]> {
  const ts = vol.trackSize;
  const t0 = performance.now();
  const ranges = runs.map(([a, b]) => [a * ts, Math.min((b + 1) * ts, vol.size) - a * ts]);
  const reply = await peer.call<{ hashes: string[][] }>('repl.trackHashes', { volume: p.remoteVol, ranges }, { timeoutMs: 120_000 });
  const hashes = reply.result.hashes;
  const ok =
    Array.isArray(hashes) && hashes.length === runs.length && runs.every(([a, b], i) => Array.isArray(hashes[i]) && hashes[i]!.length === b - a + 1 && hashes[i]!.every((h) => typeof h === 'string'));
  if (!ok) throw E.peer(`track hashes from ${p.remoteArray} do not match the ${runs.length} runs asked for`);
  const wire = hashes.reduce((n, l) => n + l.reduce((m, h) => m + h.length + 3, 2), 2);
  st.referenceWireBytes += wire;
  await links.shaper(p.remoteArray).transfer(wire, t0);
  return hashes;
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
  hashes: string[][],
  index: TrackIndex,
  keeper: ConsistentImage | null,
  saved: Promise<void>,
  st: CopyStats,
  readRuns: (runs: Array<[number, number]>) => Promise<Buffer[]>,
  live: () => void,
): Promise<void> {
  const ts = vol.trackSize;
  const plans: Array<{ a: number; off: number; len: number; buf: Buffer; kind: Array<'equal' | 'zero' | 'ref' | 'data'> }> = [];
  const wanted: Array<[number, number]> = [];
  const into: Array<{ plan: number; at: number }> = [];
  for (let g = 0; g < group.length; g++) {
    const [a, b] = group[g]!;
    const off = a * ts;
    const len = Math.min((b + 1) * ts, vol.size) - off;
    const plan = { a, off, len, buf: Buffer.alloc(len), kind: [] as Array<'equal' | 'zero' | 'ref' | 'data'> };
    for (let i = 0; i <= b - a; i++) {
      const x = a + i;
      const ph = hashes[g]![i]!;
      const at = i * ts;
      const n = Math.min(ts, len - at);
      if (ph === index.hashOf(x)) plan.kind.push('equal');
      else if (ph === ZERO_HASH) plan.kind.push('zero');
      else {
        const src = index.find(ph, x);
        const got = src === undefined ? null : await vol.read(src * ts, n);
        if (got && trackHash(got) === ph) {
          got.copy(plan.buf, at);
          plan.kind.push('ref');
        } else {
          if (got) st.staleReferences++;
          plan.kind.push('data');
        }
      }
    }
    for (let i = 0; i < plan.kind.length;) {
      if (plan.kind[i] !== 'data') {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < plan.kind.length && plan.kind[j + 1] === 'data') j++;
      wanted.push([off + i * ts, Math.min(len, (j + 1) * ts) - i * ts]);
      into.push({ plan: plans.length, at: i * ts });
      i = j + 1;
    }
    plans.push(plan);
  }
  if (wanted.length) {
    const datas = await readRuns(wanted);
    datas.forEach((d, k) => d.copy(plans[into[k]!.plan]!.buf, into[k]!.at));
  }
  const written: number[] = [];
  for (const pl of plans) pl.kind.forEach((k, i) => k !== 'equal' && written.push(pl.a + i));
  await saved;
  live();
  if (keeper && written.length) await keeper.save(vol, written);
  live();
  const writes: VolumeWrite[] = [];
  for (const pl of plans) {
    for (let i = 0; i < pl.kind.length;) {
      if (pl.kind[i] === 'equal') {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < pl.kind.length && pl.kind[j + 1] !== 'equal') j++;
      writes.push({ vol, offset: pl.off + i * ts, data: pl.buf.subarray(i * ts, Math.min(pl.len, (j + 1) * ts)) });
      i = j + 1;
    }
  }
  await array.writeMany(writes, 'resync');
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
