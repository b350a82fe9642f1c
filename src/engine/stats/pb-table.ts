/**
 * PB-bit table of one volume (DESIGN.md §2.3): one bit per track, set by the first write to that
 * track in the current collection interval; later writes to the track change nothing. At the end of
 * the interval `snapshot()` returns the table as a StatsEntry and resets it.
 *
 * Layout: a Uint32Array bitset, track t at word t>>>5, bit t&31. On a little-endian host that is
 * byte-for-byte the entry's packed format: byte t>>3, bit t&7 (LSB first).
 * Invariants: `count` is the number of bits set; words outside [dirtyLo, dirtyHi] are zero, so reset
 * and snapshot touch only the part that was written.
 */
import { E, InternalError } from '../../errors.js';
import { endianness } from 'node:os';

/** One collection interval of one volume: its PB table as stored in the collection data set. */
export interface StatsEntry {
  /** Interval start, epoch ms (inclusive). */
  start: number;
  /** Interval end, epoch ms (exclusive). */
  end: number;
  volume: string;
  /** Bytes per track. */
  trackSize: number;
  /** Volume size in tracks. */
  tracks: number;
  /**
   * Packed bits, LSB-first per byte (track t = byte t>>3, bit t&7). May be shorter than
   * ceil(tracks/8): missing trailing bytes are zero (snapshots cut trailing zero words).
   */
  bitmap: Buffer;
  /** Bits set in `bitmap` (distinct tracks written in the interval). */
  count: number;
  /** Write requests in the interval. */
  writes: number;
  /** Bytes written in the interval (every byte of every write). */
  writeBytes: number;
}

if (endianness() !== 'LE') throw new InternalError('PB tables assume a little-endian host');

export class PbTable {
  readonly volume: string;
  readonly trackSize: number;
  /** Size in tracks; for a growable table, highest track ever touched + 1. */
  tracks: number;
  private readonly growable: boolean;
  private bits: Uint32Array;
  private count = 0;
  private writes = 0;
  private writeBytes = 0;
  private dirtyLo = Infinity;
  private dirtyHi = -1;

  /**
   * @param tracks volume size in tracks; with `growable` the table starts at this size and grows to
   *   hold the highest track written (trace import, where the device size is not known up front).
   */
  constructor(volume: string, trackSize: number, tracks: number, opts: { growable?: boolean } = {}) {
    if (!(trackSize > 0) || !Number.isSafeInteger(trackSize)) throw E.badInput(`invalid track size ${trackSize}`);
    if (!(tracks >= 0) || !Number.isSafeInteger(tracks) || tracks > 2 ** 32) throw E.badInput(`invalid volume size ${tracks} tracks`);
    this.volume = volume;
    this.trackSize = trackSize;
    this.tracks = tracks;
    this.growable = opts.growable === true;
    this.bits = new Uint32Array(Math.max(16, Math.ceil(tracks / 32)));
  }

  /** Records one write: counts it, and sets the PB bit of every track it touches. */
  mark(offset: number, length: number): void {
    this.writes++;
    this.writeBytes += length;
    if (length <= 0) return;
    const ts = this.trackSize;
    const first = Math.floor(offset / ts);
    const last = Math.floor((offset + length - 1) / ts);
    if (last >= this.tracks) this.extend(last, offset, length);
    const bits = this.bits;
    let t = first;
    let w = t >>> 5;
    if (w < this.dirtyLo) this.dirtyLo = w;
    if (last >>> 5 > this.dirtyHi) this.dirtyHi = last >>> 5;
    for (; t <= last; t++) {
      w = t >>> 5;
      const m = 1 << (t & 31);
      const v = bits[w]!;
      if ((v & m) === 0) {
        bits[w] = v | m;
        this.count++;
      }
    }
  }

  /** Grows the table (growable) or refuses the write (fixed size). */
  private extend(last: number, offset: number, length: number): void {
    if (!this.growable) throw E.outOfRange(`write at ${offset}+${length} is beyond the end of volume '${this.volume}' (${this.tracks} tracks)`);
    if (last >= 2 ** 32) throw E.outOfRange(`write at ${offset}+${length} is beyond 2^32 tracks`);
    this.tracks = last + 1;
    const words = Math.ceil(this.tracks / 32);
    if (words > this.bits.length) {
      const nb = new Uint32Array(Math.max(words, Math.min(2 ** 27, this.bits.length * 2)));
      nb.set(this.bits);
      this.bits = nb;
    }
  }

  /** Distinct tracks written in the current interval. */
  get changed(): number {
    return this.count;
  }
  get writeCount(): number {
    return this.writes;
  }

  /** Returns the current interval as an entry and resets the table for the next one. */
  snapshot(start: number, end: number): StatsEntry {
    const words = this.dirtyHi + 1;
    const bitmap = Buffer.alloc(Math.min(words * 4, Math.ceil(this.tracks / 8)));
    if (words > 0) {
      bitmap.set(new Uint8Array(this.bits.buffer, this.bits.byteOffset, bitmap.length));
      this.bits.fill(0, this.dirtyLo, words);
    }
    const entry: StatsEntry = {
      start,
      end,
      volume: this.volume,
      trackSize: this.trackSize,
      tracks: this.tracks,
      bitmap,
      count: this.count,
      writes: this.writes,
      writeBytes: this.writeBytes,
    };
    this.count = 0;
    this.writes = 0;
    this.writeBytes = 0;
    this.dirtyLo = Infinity;
    this.dirtyHi = -1;
    return entry;
  }
}
