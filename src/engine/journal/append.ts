/**
 * Encoding one append batch: the records (header, data, zero padding to 512 bytes) at the places
 * planPlacement() chose, grouped into segments of contiguous bytes, one positional write each.
 * Records are contiguous except across a wrap, where a wrap marker ends the segment at the head.
 * The last record of the batch carries batchEnd and every record its batch's first seq, so
 * recovery accepts the batch whole or not at all (layout.ts).
 */
import { combineOpFor, crc32, crc32Combine } from '../util/crc32.js';
import { ALIGN, KIND_DATA, KIND_WRAP, REC_HDR, ZERO, fillHeader, type JournalAppendEntry } from './layout.js';
import type { IndexEntry, Placement } from './space.js';

/** Bytes to write at one file position. */
export interface Segment {
  pos: number;
  len: number;
  bufs: Buffer[];
}

/** What a batch stamps into every record: the journal's salt and the session's epoch. */
export interface BatchStamp {
  salt: Buffer;
  epoch: number;
}

/**
 * The segments that write `entries` (seqs `seqs`, record sizes `sizes`) at `places`, and the index
 * entries of the records once they are written.
 */
export function encodeBatch(entries: JournalAppendEntry[], seqs: number[], sizes: number[], places: Placement[], stamp: BatchStamp): { segments: Segment[]; newIdx: IndexEntry[] } {
  const headers = Buffer.alloc(REC_HDR * entries.length);
  const segments: Segment[] = [];
  let seg: Segment | undefined;
  const now = Date.now();
  const batchFirst = seqs[0]!;
  const newIdx: IndexEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const pl = places[i]!;
    const s = seqs[i]!;
    if (pl.wrapAt !== -1) {
      // padded to a whole 512-byte block (the ring's end is at least that far), so a direct
      // write of its segment stays aligned
      const m = Buffer.alloc(ALIGN);
      fillHeader(m, stamp.salt, s, 0, 0, 0, pl.wrapAt, 0, 0, 0, KIND_WRAP, false, stamp.epoch);
      m.writeUInt32LE(crc32(m.subarray(4, REC_HDR)), 0);
      if (seg && seg.pos + seg.len === pl.wrapAt) seg.bufs.push(m);
      else segments.push({ pos: pl.wrapAt, len: ALIGN, bufs: [m] });
      seg = undefined;
    }
    if (!seg || seg.pos + seg.len !== pl.pos) segments.push((seg = { pos: pl.pos, len: 0, bufs: [] }));
    const h = headers.subarray(i * REC_HDR, (i + 1) * REC_HDR);
    const ts = e.timestamp ?? now;
    fillHeader(h, stamp.salt, s, batchFirst, ts, e.offset, pl.pos, e.volumeId, e.data.length, e.flags ?? 0, KIND_DATA, i === entries.length - 1, stamp.epoch);
    const pad = sizes[i]! - REC_HDR - e.data.length;
    h.writeUInt32LE(e.dataCrc === undefined ? crc32(e.data, crc32(h.subarray(4))) : crc32Combine(crc32(h.subarray(4)), e.dataCrc, combineOpFor(e.data.length)), 0);
    if (e.data.length <= 4096)
      seg.bufs.push(Buffer.concat([h, e.data, ZERO.subarray(0, pad)])); // one buffer, fewer iovecs
    else seg.bufs.push(h, e.data, ZERO.subarray(0, pad)); // header, data and padding in one writev, no copy
    seg.len += sizes[i]!;
    newIdx.push({ seq: s, pos: pl.pos, len: e.data.length, ts, bf: batchFirst, alloc: pl.alloc, vol: e.volumeId, off: e.offset });
  }
  return { segments, newIdx };
}
