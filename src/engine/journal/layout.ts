/**
 * A journal volume: one file of fixed capacity used as a ring buffer of records. This file states
 * its byte layout and holds the codec of its header slots and records; journal-file.ts is the
 * JournalFile that owns the file, recovery.ts the scan at open, space.ts the ring's accounting.
 *
 * Layout (integers little-endian, u64 values are numbers below 2^53):
 *   [0, 4096)        header slot 0      slot = generation % 2; the two are written alternately
 *   [4096, 8192)     header slot 1
 *   [8192, 8192+cap) data area: a ring of records; cap is a multiple of 512. Created sparse: only
 *                    the header slots are written (the file system's free space is checked first).
 *
 * Header slot: 0 magic 'RCJRNL01' | 8 u32 version (2; 1 is read too) | 12 u32 data start | 16 salt
 *   (8 random bytes) | 24 u64 capacity | 32 u64 generation | 40 u64 tailOffset (file position of the
 *   oldest unreleased record, or of where the next one goes) | 48 u64 releasedSeq | 56 u64 lastSeq |
 *   64 u64 tailBatchFirst (batchFirst of the record at the tail when a release split its batch, else 0) |
 *   72 u32 epoch | 76 u32 crc32 of [0, 76) |
 *   version 2: 80 u64 syncedSeq (every record with releasedSeq < seq <= syncedSeq was durable in this
 *   file when the slot was written: recovery must find each of them, and names the one it cannot) |
 *   88 u64 durableSeq (what this journal logs, i.e. the P-VOLs of a master journal, held every entry
 *   with seq <= durableSeq durably: a restart re-applies only entries after it) | 96 u32 crc32 of [80, 96).
 *   The valid slot (magic, version, crcs) with the highest generation wins; a torn slot is ignored.
 *   A slot is written at each release and reset (after the volumes were made durable: beforeDrop),
 *   at open (a new epoch) and at a clean close (after a sync and a last checkpoint, so after a clean
 *   stop syncedSeq = durableSeq = lastSeq: nothing is re-applied and every record is accounted for).
 *
 * Record: an 80-byte header, the data, zero padding up to a multiple of 512 bytes.
 *   0 u32 crc32 of header bytes [4, 80) and of the data (checksum first, covering length and payload) |
 *   4 magic 'RCJE' | 8 salt | 16 u64 seq | 24 u64 batchFirst (seq of the first record of its batch) |
 *   32 u64 timestamp ms | 40 u64 volume byte offset | 48 u64 file position of the record itself |
 *   56 u32 volumeId | 60 u32 data length | 64 u32 caller's flags | 68 u16 kind (1 data, 2 wrap) |
 *   70 u16 batchEnd (1 on the last record of an append batch) | 72 u32 epoch | 76 reserved zero.
 *   A record never straddles the end of the ring: when it does not fit, a wrap marker (kind 2, no data,
 *   seq = the seq of the record that follows) is written at the head and the record goes to the start.
 *
 * Invariants:
 *   - Seqs strictly increase along the ring from tailOffset; every live record has seq > releasedSeq.
 *     Anything in the free part of the ring was written on an earlier lap, so it has a smaller seq
 *     and the recovery scan stops at it; the salt keeps records of other journals out.
 *   - Recovery accepts whole batches only: a record opens a batch when batchFirst == seq (or, at the
 *     tail, == tailBatchFirst), the batch ends at batchEnd, and a half-written batch is dropped.
 *   - Free space or damage: where the chain of records ends, recovery tells the two apart by what
 *     the header slot knows (syncedSeq: a record up to it that is missing or bad is damage), by what
 *     lies there (a header of this journal at this place — two of magic, salt and position — whose
 *     crc fails is a bad record, not free space) and by looking one record further (a whole record
 *     that continues the chain after a bad one makes it damage). Every bad record is named with its
 *     seq and the reason (recovery.damaged); whole records found after the last damaged one are kept
 *     apart (salvage) for redo() and are never shipped.
 *   - Every open() takes a new epoch and makes it durable before it appends. Epochs never decrease
 *     along the ring, so records left beyond a torn or corrupt record by an earlier session are not
 *     joined to the chain when the new session's records happen to line up with them.
 *   - Space freed by release() is reused only after the header naming the new tail is durable, so a
 *     crash never leaves a valid header pointing at overwritten records. Header slots are written
 *     with O_DSYNC, so making the header durable does not flush the records.
 *   - appends are not fsynced; sync() makes everything appended before it durable.
 */
import { combineOp, crc32, crc32Combine, crc32Tail } from '../util/crc32.js';

export interface JournalEntry {
  seq: number;
  timestamp: number;
  volumeId: number;
  offset: number;
  data: Buffer;
  flags?: number;
  /** With read(…, { blockCrcs }): crc32 of each whole block of data, in order. */
  blockCrcs?: Uint32Array;
  /** With read(…, { dataCrc }): crc32 of the data alone (from the record's checked crc). */
  dataCrc?: number;
}

export interface JournalAppendEntry {
  seq?: number;
  timestamp?: number;
  volumeId: number;
  offset: number;
  data: Buffer;
  flags?: number;
  /** crc32 of data when the caller has it (a pulled entry: the primary's record gave it), so
   *  the record's crc is combined from it instead of read over the data again. */
  dataCrc?: number;
}

export const MAX_RECORD_DATA = 4 * 1024 * 1024;
export const DEFAULT_READ_BYTES = 64 * 1024 * 1024;
export const SLOT = 4096;
export const DATA_START = 2 * SLOT;
export const ALIGN = 512;
export const REC_HDR = 80;
const SLOT_MAGIC = Buffer.from('RCJRNL01', 'latin1');
export const REC_MAGIC = 0x454a4352; // 'RCJE'
const VERSION = 2;
export const KIND_DATA = 1;
export const KIND_WRAP = 2;
/** Zeros for padding records and preallocating a journal. */
export const ZERO = Buffer.alloc(8 * 1024 * 1024);
export const TWO32 = 2 ** 32;

function putU64(b: Buffer, off: number, n: number): void {
  b.writeUInt32LE(n % TWO32, off);
  b.writeUInt32LE(Math.floor(n / TWO32), off + 4);
}
/** -1 when the value does not fit a safe integer (only possible for garbage). */
export function getU64(b: Buffer, off: number): number {
  const hi = b.readUInt32LE(off + 4);
  return hi >= 0x200000 ? -1 : hi * TWO32 + b.readUInt32LE(off);
}

export function recordSize(dataLength: number): number {
  return Math.ceil((REC_HDR + dataLength) / ALIGN) * ALIGN;
}

/** What a header slot holds (see the layout above). */
export interface HeaderState {
  salt: Buffer;
  capacity: number;
  generation: number;
  tail: number;
  releasedSeq: number;
  lastSeq: number;
  tailBatchFirst: number;
  epoch: number;
  syncedSeq: number;
  durableSeq: number;
}

const combineOps = new Map<number, number>();

/** Checks a record's crc from the crcs of its data's whole blocks (filled into `crcs`) and its tail. */
export function blockCrcCheck(r: Buffer, block: number, crcs: Uint32Array): boolean {
  let op = combineOps.get(block);
  if (op === undefined) combineOps.set(block, (op = combineOp(block)));
  let c = crc32(r.subarray(4, REC_HDR));
  let at = REC_HDR;
  for (let i = 0; i < crcs.length; i++, at += block) {
    const b = crc32(r.subarray(at, at + block));
    crcs[i] = b;
    c = crc32Combine(c, b, op);
  }
  if (at < r.length) c = crc32(r.subarray(at), c);
  return c === r.readUInt32LE(0);
}

export function fillHeader(
  h: Buffer,
  salt: Buffer,
  seq: number,
  batchFirst: number,
  ts: number,
  offset: number,
  pos: number,
  volumeId: number,
  len: number,
  flags: number,
  kind: number,
  batchEnd: boolean,
  epoch: number,
): void {
  h.writeUInt32LE(REC_MAGIC, 4);
  salt.copy(h, 8);
  putU64(h, 16, seq);
  putU64(h, 24, batchFirst);
  putU64(h, 32, ts);
  putU64(h, 40, offset);
  putU64(h, 48, pos);
  h.writeUInt32LE(volumeId >>> 0, 56);
  h.writeUInt32LE(len, 60);
  h.writeUInt32LE(flags >>> 0, 64);
  h.writeUInt16LE(kind, 68);
  h.writeUInt16LE(batchEnd ? 1 : 0, 70);
  h.writeUInt32LE(epoch, 72);
}

export function encodeSlot(h: HeaderState): Buffer {
  const b = Buffer.alloc(SLOT);
  SLOT_MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  putU64(b, 80, h.syncedSeq);
  putU64(b, 88, h.durableSeq);
  b.writeUInt32LE(crc32(b.subarray(80, 96)), 96);
  b.writeUInt32LE(DATA_START, 12);
  h.salt.copy(b, 16);
  putU64(b, 24, h.capacity);
  putU64(b, 32, h.generation);
  putU64(b, 40, h.tail);
  putU64(b, 48, h.releasedSeq);
  putU64(b, 56, h.lastSeq);
  putU64(b, 64, h.tailBatchFirst);
  b.writeUInt32LE(h.epoch, 72);
  b.writeUInt32LE(crc32(b.subarray(0, 76)), 76);
  return b;
}

export function decodeSlot(b: Buffer): HeaderState | null {
  const version = b.length >= 100 ? b.readUInt32LE(8) : 0;
  if ((version !== 1 && version !== VERSION) || !b.subarray(0, 8).equals(SLOT_MAGIC) || b.readUInt32LE(12) !== DATA_START) return null;
  if (crc32(b.subarray(0, 76)) !== b.readUInt32LE(76)) return null;
  if (version === 2 && crc32(b.subarray(80, 96)) !== b.readUInt32LE(96)) return null;
  const h: HeaderState = {
    salt: Buffer.from(b.subarray(16, 24)),
    capacity: getU64(b, 24),
    generation: getU64(b, 32),
    tail: getU64(b, 40),
    releasedSeq: getU64(b, 48),
    lastSeq: getU64(b, 56),
    tailBatchFirst: getU64(b, 64),
    epoch: b.readUInt32LE(72),
    // version 1 knew neither: every record is taken as maybe not on the volumes, as it was then
    syncedSeq: version === 2 ? getU64(b, 80) : 0,
    durableSeq: version === 2 ? getU64(b, 88) : 0,
  };
  if (h.syncedSeq < 0 || h.durableSeq < 0 || h.syncedSeq > h.lastSeq || h.durableSeq > h.lastSeq) return null;
  const { capacity, generation, tail, releasedSeq, lastSeq } = h;
  if (h.tailBatchFirst < 0 || h.tailBatchFirst > releasedSeq) return null;
  if (capacity <= 0 || capacity % ALIGN !== 0 || generation < 0 || releasedSeq < 0 || lastSeq < releasedSeq) return null;
  if (tail < DATA_START || tail >= DATA_START + capacity || (tail - DATA_START) % ALIGN !== 0) return null;
  return h;
}

/** Where a record of the index lies: what readRecord() checks a record read back against. */
export interface RecordPlace {
  seq: number;
  pos: number;
  len: number;
}

/**
 * The record read back at `r` (its header and data) when it is the one `e` says is there, whole:
 * this journal's magic and salt, its seq, position, length and kind, and its crc (checked from its
 * blocks' crcs with `block` > 0, which fill `crcs`). Null when it is not.
 */
export function readRecord(r: Buffer | null, e: RecordPlace, salt: Buffer, block: number, crcs: Uint32Array | undefined, dataCrc = false): JournalEntry | null {
  const ok =
    r !== null &&
    r.readUInt32LE(4) === REC_MAGIC &&
    r.subarray(8, 16).equals(salt) &&
    getU64(r, 16) === e.seq &&
    getU64(r, 48) === e.pos &&
    r.readUInt32LE(60) === e.len &&
    r.readUInt16LE(68) === KIND_DATA &&
    (crcs ? blockCrcCheck(r, block, crcs) : crc32(r.subarray(REC_HDR), crc32(r.subarray(4, REC_HDR))) === r.readUInt32LE(0));
  if (!ok) return null;
  const out: JournalEntry = { seq: e.seq, timestamp: getU64(r, 32), volumeId: r.readUInt32LE(56), offset: getU64(r, 40), data: r.subarray(REC_HDR), flags: r.readUInt32LE(64) };
  if (crcs) out.blockCrcs = crcs;
  // the record's crc is crc32(header ‖ data), checked above: the data's own follows from it
  if (dataCrc) out.dataCrc = crc32Tail(r.readUInt32LE(0), crc32(r.subarray(4, REC_HDR)), e.len);
  return out;
}
