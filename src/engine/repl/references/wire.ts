/**
 * References instead of data (DESIGN.md §2.4), the wire part: the segments a pulled journal entry
 * travels as, and the secondary's reconstruction of the entry's full data from them.
 *
 * An entry of a pull reply travels whole in the payload (no `segs`), or as segments that cover its
 * data in order, each `len` bytes long:
 *   [0, len]                      data: the next `len` bytes of the payload
 *   [1, len]                      zeros
 *   [2, len, vol, off, hashes]    the same bytes are on the S-VOL that mirrors P-VOL `vol`, at `off`
 *   [3, len, seq, at, hashes]     the same bytes are in entry `seq` of this reply (an earlier one,
 *                                 or an earlier part of this one), at byte `at` of its data
 * Only data segments take room in the payload. A reference segment carries the SHA-256 (base64) of
 * every BLOCK it stands for. The destination copies the bytes locally, checks each block's hash, and
 * fetches the blocks that differ from the primary's master journal (which holds the entry until it
 * is released): a stale reference is repaired, it never reaches an S-VOL.
 *
 * Invariant the primary keeps (references/content-index.ts): a [2] reference names a block whose content the
 * S-VOL has once every entry up to the pull's `after` is restored; the secondary restores all of
 * them before it pulls, so it reads the S-VOL as it is when the reply arrives.
 */
import crypto from 'node:crypto';
import { E } from '../../../errors.js';

export const BLOCK = 4096;

export type Segment = [0, number] | [1, number] | [2, number, string, number, string[]] | [3, number, number, number, string[]];

export interface SegmentedEntry {
  seq: number;
  len: number;
  segs?: Segment[];
}

/** What a transfer moved, in the units `pull status` and `pair show` report. */
export interface TransferCounts {
  /** Bytes the entries (or tracks) hold. */
  logicalBytes: number;
  /** Bytes that crossed the link as data (including data fetched after a stale reference). */
  dataBytes: number;
  /** Bytes delivered by references (local copies and zero blocks). */
  referenceBytes: number;
  /** Of referenceBytes, those that were zero blocks. */
  zeroBytes: number;
  /** Size of the reference descriptors and hashes that crossed the link. */
  referenceWireBytes: number;
  /** References whose block did not match its hash at the destination (fetched as data). */
  staleReferences: number;
}

export function emptyCounts(): TransferCounts {
  return { logicalBytes: 0, dataBytes: 0, referenceBytes: 0, zeroBytes: 0, referenceWireBytes: 0, staleReferences: 0 };
}

export function addCounts(into: TransferCounts, c: TransferCounts): void {
  into.logicalBytes += c.logicalBytes;
  into.dataBytes += c.dataBytes;
  into.referenceBytes += c.referenceBytes;
  into.zeroBytes += c.zeroBytes;
  into.referenceWireBytes += c.referenceWireBytes;
  into.staleReferences += c.staleReferences;
}

/** Bytes saved on the link and the saving as a percentage of the logical bytes. */
export function savings(c: TransferCounts): { savedBytes: number; savedPct: number } {
  const savedBytes = Math.max(0, c.logicalBytes - c.dataBytes - c.referenceWireBytes);
  return { savedBytes, savedPct: c.logicalBytes ? Math.round((savedBytes / c.logicalBytes) * 1000) / 10 : 0 };
}

export function sha256(b: Uint8Array): string {
  return crypto.createHash('sha256').update(b).digest('base64');
}

/** Approximate size of an entry's segment list on the wire (JSON). */
export function segsWireBytes(segs: Segment[]): number {
  let n = 2;
  for (const s of segs) {
    n += 16;
    if (s[0] === 2) n += s[2].length + 20 + s[4].length * 47;
    else if (s[0] === 3) n += 24 + s[4].length * 47;
  }
  return n;
}

export interface ReferenceSource {
  /** The local copy (S-VOL) of P-VOL `vol`: `len` bytes at `off`, or null when it is not here. */
  readVol(vol: string, off: number, len: number): Promise<Buffer | null>;
  /** The entry's real bytes [off, off+len) from the primary (after a stale reference). */
  fetch(seq: number, off: number, len: number): Promise<Buffer>;
}

/**
 * Rebuilds the full data of every entry of a pull reply, in order. Reference blocks are read
 * locally and checked against their hashes; blocks that differ are fetched from the primary.
 * Adds what happened to `counts` (logical, data, reference, zero, stale) and returns the data.
 */
export async function reconstruct(entries: SegmentedEntry[], payload: Buffer, src: ReferenceSource, counts: TransferCounts): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const bySeq = new Map<number, Buffer>();
  let pos = 0;
  const take = (len: number): Buffer => {
    if (pos + len > payload.length) throw E.peer(`pull reply: the entries describe more than the ${payload.length} payload bytes that arrived`);
    const b = payload.subarray(pos, pos + len);
    pos += len;
    return b;
  };
  for (const e of entries) {
    counts.logicalBytes += e.len;
    if (!e.segs) {
      const d = take(e.len);
      counts.dataBytes += e.len;
      out.push(d);
      bySeq.set(e.seq, d);
      continue;
    }
    const buf = Buffer.allocUnsafe(e.len);
    bySeq.set(e.seq, buf);
    let at = 0;
    for (const s of e.segs) {
      const len = s[1];
      if (!Number.isSafeInteger(len) || len < 0 || at + len > e.len) throw E.peer(`pull reply: segments of entry ${e.seq} overrun its ${e.len} bytes`);
      if (s[0] === 0) {
        take(len).copy(buf, at);
        counts.dataBytes += len;
      } else if (s[0] === 1) {
        buf.fill(0, at, at + len);
        counts.referenceBytes += len;
        counts.zeroBytes += len;
      } else {
        let got: Buffer | null = null;
        if (s[0] === 2) got = await src.readVol(s[2], s[3], len).catch(() => null);
        else {
          const from = bySeq.get(s[2]);
          if (from && s[3] >= 0 && s[3] + len <= from.length && (s[2] !== e.seq || s[3] + len <= at)) got = from.subarray(s[3], s[3] + len);
        }
        const hashes = s[4];
        if (hashes.length !== Math.ceil(len / BLOCK)) throw E.peer(`pull reply: a reference of entry ${e.seq} has ${hashes.length} hashes for ${len} bytes`);
        // check block by block; fetch the runs of blocks that differ
        let badFrom = -1;
        const flush = async (upto: number): Promise<void> => {
          if (badFrom < 0) return;
          const o = badFrom * BLOCK;
          const l = Math.min(len, upto * BLOCK) - o;
          const real = await src.fetch(e.seq, at + o, l);
          if (real.length !== l) throw E.peer(`entry ${e.seq}: the primary sent ${real.length} of ${l} bytes`);
          real.copy(buf, at + o);
          counts.dataBytes += l;
          counts.referenceBytes -= l;
          badFrom = -1;
        };
        counts.referenceBytes += len;
        for (let i = 0; i < hashes.length; i++) {
          const o = i * BLOCK;
          const blk = got ? got.subarray(o, Math.min(len, o + BLOCK)) : null;
          if (blk && sha256(blk) === hashes[i]) {
            await flush(i);
            blk.copy(buf, at + o);
          } else {
            counts.staleReferences++;
            if (badFrom < 0) badFrom = i;
          }
        }
        await flush(hashes.length);
      }
      at += len;
    }
    if (at !== e.len) throw E.peer(`pull reply: segments of entry ${e.seq} cover ${at} of its ${e.len} bytes`);
    out.push(buf);
  }
  if (pos !== payload.length) throw E.peer(`pull reply: entries describe ${pos} bytes but ${payload.length} arrived`);
  return out;
}
