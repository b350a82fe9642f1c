/** What one array's replication asks of a peer's controller, and what a pull reply carries. */
import type { PairState } from './pair-state.js';
import type { Segment } from './references/wire.js';

export interface PeerCaller {
  call<T = any>(method: string, params?: unknown, opts?: { payload?: Buffer | null; timeoutMs?: number }): Promise<{ result: T; payload: Buffer | null }>;
}
export type PeerGetter = (array: string) => Promise<PeerCaller>;

export interface PullReplyEntry {
  seq: number;
  ts: number;
  vol: string;
  off: number;
  len: number;
  /** Present when part of the entry travels as references (references/wire.ts). */
  segs?: Segment[];
  /** crc32 of the entry's whole data, from the primary's checked record. */
  crc?: number;
}

/** The state of a master journal and its group, sent with every pull reply. */
export interface PrimaryInfo {
  lastSeq: number;
  entries: number;
  usedPct: number;
  oldestTimestamp: number | null;
  bytesPending: number;
  states: Record<string, PairState>;
}
