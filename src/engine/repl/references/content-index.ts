/**
 * References instead of data, the primary's part of a journal pull: a content index of what the
 * secondary holds, and the encoding of journal entries into segments (see references/wire.ts).
 *
 * One index per master journal, in memory, only a hint: fingerprint of a 4 KiB block -> the place
 * (P-VOL id, block number) where that content was last written by an entry already sent. The S-VOL
 * mirrors the P-VOL, so once the secondary has restored every entry sent (it does so before each
 * pull), the S-VOL holds that content at that place. The index is fed in sequence order with what
 * each sent entry wrote (full aligned blocks become their places, anything else written drops the
 * places it touches), so a place is only named while no later entry has overwritten it.
 *
 * Encoding a reply looks blocks up in the index as of the pull's `after` (= the S-VOLs when the
 * secondary rebuilds the reply) and in the blocks of the reply seen so far ([3] references to an
 * earlier entry, or an earlier block of the same entry); the reply's own writes are fed in after
 * it has been encoded, off the pull's critical path.
 *
 * The index stops being trusted whenever the stream it mirrors may have a gap: a pull that does not
 * continue where the previous one ended (a lost reply, a resync that bumped the sequence), a state
 * change of a pair of the group (suspension: writes go to bitmaps, not to the journal), or a
 * controller restart. Its places are then kept as candidates: hints for a resync (the secondary
 * checks them) and, once the group is PAIR again, checked against the P-VOLs and adopted back
 * (references/rebuild.ts). A pull without references drops everything. Fingerprints are a crc32 and 21 sampled bits (fast; 53 bits); a collision only produces a
 * reference whose SHA-256 the destination rejects, and then the data is fetched.
 *
 * Memory: at most MAX_PLACES places, the oldest written dropped first: two typed-array hash maps
 * (num-map.ts) and an age queue, about 110 bytes a place at most (56 MiB at the cap).
 */
import { crc32 } from '../../util/crc32.js';
import type { JournalEntry } from '../../journal/journal-file.js';
import { BLOCK, sha256, type Segment } from './wire.js';
import { NumMap } from '../num-map.js';
import type { PullReplyEntry } from '../peer.js';

export const MAX_PLACES = 1 << 19; // 2 GiB of distinct content
const TWO32 = 2 ** 32;
export const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** 53-bit fingerprint of a full block: its crc32 (given, or computed) and 21 bits of four words sampled across it. */
export function fingerprint(block: Buffer, blockCrc = crc32(block)): number {
  const w = block.readUInt32LE(0) ^ block.readUInt32LE(1364) ^ block.readUInt32LE(2732) ^ block.readUInt32LE(BLOCK - 4);
  return blockCrc * 2097152 + (w & 0x1fffff);
}

export const ZERO_FP = fingerprint(ZERO_BLOCK);

/** What a sent entry wrote: volume id, offset, length, fingerprints of its full blocks. */
type Fed = [number, number, number, number[] | null];

export interface EncodeResult {
  entries: PullReplyEntry[];
  /** Data that travels: whole entries and data segments, in order. */
  payload: Buffer[];
}

export class ContentIndex {
  // set by reset()
  private byFp!: NumMap; // fingerprint -> place
  private byPlace!: NumMap; // place -> fingerprint, and the generation of its put
  /** Places in the order they were put, with the generation of that put (stale once re-put or dropped). */
  private agePlace!: Float64Array;
  private ageGen!: Float64Array;
  private ageHead = 0;
  private ageLen = 0;
  private gen = 0;
  /** Last seq fed in (null: nothing; the next pull starts a new stream). */
  upTo: number | null = null;
  /** Signature of the group's pair states the index was built under. */
  stateKey = '';
  /** Under stateKey, the first `after` from which the S-VOLs mirror the P-VOLs (candidates may be checked). */
  validFrom = Infinity;
  /** Places from before the last reset (or a restart): place -> fingerprint, and the reverse. */
  private candByPlace = new NumMap();
  private candByFp = new NumMap();
  /** Changed since the last snapshot was taken. */
  dirty = false;

  constructor(readonly maxPlaces = MAX_PLACES) {
    this.reset();
  }

  get size(): number {
    return this.byPlace.size;
  }

  reset(): void {
    if (this.byPlace) {
      this.feedPending();
      for (const [place, fp] of this.places()) this.addCandidate(place, fp);
    }
    this.pending = [];
    this.byFp = new NumMap();
    this.byPlace = new NumMap(1024, true);
    this.agePlace = new Float64Array(1024);
    this.ageGen = new Float64Array(1024);
    this.ageHead = this.ageLen = 0;
    this.upTo = null;
  }

  /**
   * Makes the index continue from `after` under `stateKey`; when it cannot, its places become
   * candidates. `lastSeq`: the master journal's last seq now (a new state's validFrom).
   */
  resume(after: number, stateKey: string, lastSeq = after): void {
    if (this.upTo !== after || this.stateKey !== stateKey) {
      this.reset();
      if (this.stateKey !== stateKey) this.validFrom = Math.max(after, lastSeq);
      this.stateKey = stateKey;
      this.upTo = after;
    }
  }

  /** Forgets everything, candidates too (references turned off). */
  clear(): void {
    this.reset();
    this.candByPlace = new NumMap();
    this.candByFp = new NumMap();
    this.dirty = true;
  }

  get candidates(): number {
    return this.candByPlace.size;
  }

  addCandidate(place: number, fp: number): void {
    if (this.candByPlace.size >= this.maxPlaces && this.candByPlace.find(place) < 0) return;
    const old = this.candByPlace.get(place);
    if (old !== undefined && this.candByFp.get(old) === place) this.candByFp.delete(old);
    this.candByPlace.set(place, fp);
    this.candByFp.set(fp, place);
  }

  /** Takes the candidates out (sorted by place) for checking; they are gone from here. */
  takeCandidates(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.candByPlace.forEach((place, fp) => out.push([place, fp]));
    this.candByPlace = new NumMap();
    this.candByFp = new NumMap();
    out.sort((a, b) => a[0] - b[0]);
    return out;
  }

  /** Puts checked places (true as of upTo) into the index, unless it knows the place already. */
  adopt(places: Array<[number, number]>): void {
    this.feedPending();
    for (const [place, fp] of places) if (this.byPlace.find(place) < 0) this.put(place, fp);
    this.dirty = true;
  }

  /** A place holding content with this fingerprint, trusted or candidate (a hint: check it). */
  hint(fp: number): number | undefined {
    return this.byFp.get(fp) ?? this.candByFp.get(fp);
  }

  /** Every place and its fingerprint, trusted ones oldest first, then the candidates. */
  *places(): Generator<[number, number]> {
    for (let k = 0; k < this.ageLen; k++) {
      const at = (this.ageHead + k) & (this.agePlace.length - 1);
      const place = this.agePlace[at]!;
      if (!this.isCurrent(place, this.ageGen[at]!)) continue;
      yield [place, this.byPlace.get(place)!];
    }
  }

  /** The candidates, for a snapshot. */
  *candidatePlaces(): Generator<[number, number]> {
    const out: Array<[number, number]> = [];
    this.candByPlace.forEach((place, fp) => out.push([place, fp]));
    yield* out;
  }

  private drop(place: number): void {
    const i = this.byPlace.find(place);
    if (i < 0) return;
    const fp = this.byPlace.valueAt(i);
    this.byPlace.delete(place);
    if (this.byFp.get(fp) === place) this.byFp.delete(fp);
  }

  private put(place: number, fp: number): void {
    this.dirty = true;
    this.drop(place);
    const gen = ++this.gen;
    this.byPlace.set(place, fp, gen);
    this.byFp.set(fp, place);
    this.pushAge(place, gen);
    while (this.byPlace.size > this.maxPlaces) this.dropOldest();
  }

  private pushAge(place: number, gen: number): void {
    const cap = this.agePlace.length;
    if (this.ageLen === cap) {
      // keep the entries still current; grow when that does not free half
      const live = this.byPlace.size;
      const size = live * 2 > cap ? cap * 2 : cap;
      const p = new Float64Array(size);
      const g = new Float64Array(size);
      let n = 0;
      for (let k = 0; k < this.ageLen; k++) {
        const at = (this.ageHead + k) & (cap - 1);
        if (this.isCurrent(this.agePlace[at]!, this.ageGen[at]!)) {
          p[n] = this.agePlace[at]!;
          g[n++] = this.ageGen[at]!;
        }
      }
      this.agePlace = p;
      this.ageGen = g;
      this.ageHead = 0;
      this.ageLen = n;
    }
    const at = (this.ageHead + this.ageLen++) & (this.agePlace.length - 1);
    this.agePlace[at] = place;
    this.ageGen[at] = gen;
  }

  private isCurrent(place: number, gen: number): boolean {
    const i = this.byPlace.find(place);
    return i >= 0 && this.byPlace.auxAt(i) === gen;
  }

  /** Drops the place put longest ago that is still in the index. */
  private dropOldest(): void {
    while (this.ageLen > 0) {
      const place = this.agePlace[this.ageHead]!;
      const gen = this.ageGen[this.ageHead]!;
      this.ageHead = (this.ageHead + 1) & (this.agePlace.length - 1);
      this.ageLen--;
      if (this.isCurrent(place, gen)) {
        this.drop(place);
        return;
      }
    }
  }

  /**
   * Encodes entries (consecutive, in seq order, following the index's upTo) for a pull reply.
   * Lookups see the index as of the pull's `after` (what the S-VOLs hold when the reply is
   * rebuilt) plus the blocks of this reply itself; what the reply writes is fed in afterwards
   * (feed(), run once the reply is on its way, or at the next encode at the latest).
   */
  // long: one pass over the batch's blocks that decides each block's form (data, zero, reference
  // to the S-VOLs or to this reply) and appends it to the reply in the same step
  encode(entries: JournalEntry[], names: Map<number, string>): EncodeResult {
    this.feedPending();
    const out: PullReplyEntry[] = [];
    const payload: Buffer[] = [];
    let blocks = 0;
    for (const e of entries) blocks += e.data.length / BLOCK;
    const inReply = new NumMap(blocks, true); // fingerprint -> seq and byte in entry of its first block in this reply
    const fed: Fed[] = [];
    for (const e of entries) {
      const d = e.data;
      const vol = names.get(e.volumeId) ?? `#${e.volumeId}`;
      const meta: PullReplyEntry = { seq: e.seq, ts: e.timestamp, vol, off: e.offset, len: d.length };
      out.push(meta);
      const full = Math.floor(d.length / BLOCK);
      if (full === 0 || e.volumeId === 0) {
        payload.push(d);
        fed.push([e.volumeId, e.offset, d.length, null]);
        continue;
      }
      const fps = new Array<number>(full);
      const segs: Segment[] = [];
      let refs = 0;
      let run: [0, number] | null = null; // the open data segment, from byte runAt
      let runAt = 0;
      const pushData = (at: number, len: number): void => {
        if (run) run[1] += len;
        else {
          segs.push((run = [0, len]));
          runAt = at;
        }
      };
      const endData = (): void => {
        if (run) payload.push(d.subarray(runAt, runAt + run[1]));
        run = null;
      };
      for (let i = 0; i < full; i++) {
        const at = i * BLOCK;
        const blk = d.subarray(at, at + BLOCK);
        const fp = (fps[i] = e.blockCrcs ? fingerprint(blk, e.blockCrcs[i]!) : fingerprint(blk));
        if (fp === ZERO_FP && blk.equals(ZERO_BLOCK)) {
          endData();
          const last = segs[segs.length - 1];
          if (last && last[0] === 1) last[1] += BLOCK;
          else segs.push([1, BLOCK]);
          refs++;
          continue;
        }
        const hereAt = inReply.find(fp);
        const place = hereAt < 0 ? this.byFp.get(fp) : undefined;
        if (hereAt < 0) inReply.set(fp, e.seq, at);
        if (hereAt < 0 && place === undefined) {
          pushData(at, BLOCK);
          continue;
        }
        const h = sha256(blk);
        endData();
        refs++;
        const last = segs[segs.length - 1];
        if (hereAt >= 0) {
          const seq = inReply.valueAt(hereAt);
          const from = inReply.auxAt(hereAt);
          if (last && last[0] === 3 && last[2] === seq && last[3] + last[1] === from) {
            last[1] += BLOCK;
            last[4].push(h);
          } else segs.push([3, BLOCK, seq, from, [h]]);
        } else {
          const pv = names.get(Math.floor(place! / TWO32)) ?? `#${Math.floor(place! / TWO32)}`;
          const off = (place! % TWO32) * BLOCK;
          if (last && last[0] === 2 && last[2] === pv && last[3] + last[1] === off) {
            last[1] += BLOCK;
            last[4].push(h);
          } else segs.push([2, BLOCK, pv, off, [h]]);
        }
      }
      if (full * BLOCK < d.length) pushData(full * BLOCK, d.length - full * BLOCK);
      if (refs > 0) {
        endData();
        meta.segs = segs;
      } else payload.push(d); // nothing found: the entry travels whole
      fed.push([e.volumeId, e.offset, d.length, fps]);
    }
    if (entries.length) {
      this.upTo = entries[entries.length - 1]!.seq;
      this.pending.push(...fed);
      void this.feedInBackground();
    }
    return { entries: out, payload };
  }

  private pending: Fed[] = [];
  /** Feeds what sent entries wrote into the index, in seq order (all of it, now). */
  feedPending(): void {
    while (this.pending.length) {
      const [vid, off, len, fps] = this.pending.shift()!;
      this.feed(vid, off, len, fps);
    }
  }

  private feeding = false;

  /** The same, one entry at a time between other work (a pull that arrives meanwhile is not held up). */
  private async feedInBackground(): Promise<void> {
    if (this.feeding) return;
    this.feeding = true;
    try {
      while (this.pending.length) {
        await new Promise((r) => setImmediate(r));
        const x = this.pending.shift();
        if (x) this.feed(x[0], x[1], x[2], x[3]);
      }
    } finally {
      this.feeding = false;
    }
  }

  /** Records what an entry wrote: its full aligned blocks become their places; the rest is dropped. */
  private feed(volumeId: number, offset: number, len: number, fps: number[] | null): void {
    if (len === 0 || volumeId === 0) return;
    const base = volumeId * TWO32;
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + len - 1) / BLOCK);
    const aligned = offset % BLOCK === 0;
    this.dirty = true;
    for (let b = first; b <= last; b++) {
      const place = base + b;
      const at = b * BLOCK - offset;
      const fp = aligned && fps && at >= 0 && at + BLOCK <= len ? fps[at / BLOCK] : undefined;
      if (fp === undefined || fp === ZERO_FP) this.drop(place);
      else this.put(place, fp);
    }
  }
}
