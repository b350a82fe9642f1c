/**
 * The ring's accounting: the index of live records (seq order, from the tail), the ring bytes they
 * hold and the data bytes they carry, and where new records go.
 *
 * Invariants: `used` is the sum of the entries' `alloc` (a record's size plus any end-of-ring gap
 * skipped just before it), so the free space is capacity - used; the records between tail and
 * head are exactly the index's entries, in seq order. A record never straddles the end of the
 * ring: one that does not fit before it goes to the start, after a wrap marker at the head.
 */
import { DATA_START } from './layout.js';

export interface IndexEntry {
  seq: number;
  pos: number;
  len: number;
  ts: number;
  bf: number; // batchFirst
  /** the volume id and byte offset the record's data was written to (what it touched, without reading it) */
  vol: number;
  off: number;
  /** ring bytes this record holds: its own size plus any end-of-ring gap skipped just before it */
  alloc: number;
}

export interface Placement {
  pos: number;
  wrapAt: number; // position of a wrap marker written before this record, or -1
  alloc: number;
}

/** The ring as placement sees it: the data area ends at dataEnd; records live from tail to head. */
export interface RingState {
  head: number;
  tail: number;
  used: number;
  dataEnd: number;
}

/** Where records of these sizes would go, or null when they do not all fit. `used`: the ring
 *  bytes they add. */
export function planPlacement(ring: RingState, sizes: number[]): { places: Placement[]; head: number; used: number } | null {
  let head = ring.head;
  let used = ring.used;
  const tail = ring.tail;
  const places: Placement[] = [];
  for (const s of sizes) {
    let pl: Placement;
    if (head > tail || (head === tail && used === 0)) {
      const endRoom = ring.dataEnd - head;
      if (s <= endRoom) pl = { pos: head, wrapAt: -1, alloc: s };
      else if (s <= tail - DATA_START) pl = { pos: DATA_START, wrapAt: head, alloc: endRoom + s };
      else return null;
    } else if (head < tail && s <= tail - head) {
      pl = { pos: head, wrapAt: -1, alloc: s };
    } else {
      return null;
    }
    places.push(pl);
    used += pl.alloc;
    head = pl.pos + s === ring.dataEnd ? DATA_START : pl.pos + s;
  }
  return { places, head, used: used - ring.used };
}

/** The live records in seq order, with the ring bytes and data bytes they hold. */
export class RecordIndex {
  private idx: IndexEntry[];
  private start = 0;
  /** ring bytes held by live records */
  used: number;
  /** data bytes of live records */
  bytesPending = 0;
  /** Per volume id, the highest seq of a record that wrote to it (released ones too, until clear()). */
  private readonly lastByVol = new Map<number, number>();

  constructor(entries: IndexEntry[] = [], used = 0) {
    this.idx = entries;
    this.used = used;
    for (const e of entries) this.bytesPending += e.len;
    this.noteVolumes(entries);
  }

  /** Records which volumes these records wrote to (lastSeqOf); push() does it for appended ones. */
  noteVolumes(entries: Iterable<IndexEntry>): void {
    for (const e of entries) if (e.seq > (this.lastByVol.get(e.vol) ?? 0)) this.lastByVol.set(e.vol, e.seq);
  }

  /** The highest seq of a record that wrote to volume `vol` since the last clear(), or 0. */
  lastSeqOf(vol: number): number {
    return this.lastByVol.get(vol) ?? 0;
  }

  /** Number of live records. */
  get count(): number {
    return this.idx.length - this.start;
  }

  first(): IndexEntry | undefined {
    return this.idx[this.start];
  }

  last(): IndexEntry | undefined {
    return this.idx.length > this.start ? this.idx[this.idx.length - 1] : undefined;
  }

  /** The live records, oldest first (a copy). */
  live(): IndexEntry[] {
    return this.idx.slice(this.start);
  }

  /** Adds records appended at the head (their ring bytes are added by the caller, per batch). */
  push(entries: IndexEntry[]): void {
    for (const e of entries) {
      this.idx.push(e);
      this.bytesPending += e.len;
    }
    this.noteVolumes(entries);
  }

  /** The live records with seq >= fromSeq, in order. */
  *from(fromSeq: number): Generator<IndexEntry> {
    for (let i = this.find(fromSeq); i < this.idx.length; i++) yield this.idx[i]!;
  }

  /** What releasing every record with seq <= uptoSeq frees: how many, their ring and data bytes,
   *  the last of them and the record that then heads the index. */
  releasable(uptoSeq: number): { k: number; freed: number; bytes: number; lastFreed: IndexEntry | undefined; next: IndexEntry | undefined } {
    let k = 0;
    let freed = 0;
    let bytes = 0;
    for (let i = this.start; i < this.idx.length && this.idx[i]!.seq <= uptoSeq; i++, k++) {
      freed += this.idx[i]!.alloc;
      bytes += this.idx[i]!.len;
    }
    return { k, freed, bytes, lastFreed: this.idx[this.start + k - 1], next: this.idx[this.start + k] };
  }

  /** Forgets the `k` oldest records, whose ring and data bytes were `freed` and `bytes`. */
  release(k: number, freed: number, bytes: number): void {
    this.used -= freed;
    this.bytesPending -= bytes;
    this.dropFront(k);
  }

  /** Forgets every record. */
  clear(): void {
    this.used = 0;
    this.bytesPending = 0;
    this.lastByVol.clear();
    this.dropFront(this.idx.length - this.start);
  }

  /** Index position of the first entry with seq >= fromSeq. */
  private find(fromSeq: number): number {
    let lo = this.start;
    let hi = this.idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid]!.seq < fromSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropFront(k: number): void {
    this.start += k;
    if (this.start === this.idx.length) {
      this.idx = [];
      this.start = 0;
    } else if (this.start > 4096 && this.start * 2 > this.idx.length) {
      this.idx = this.idx.slice(this.start);
      this.start = 0;
    }
  }
}
