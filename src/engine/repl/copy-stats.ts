/** The counters of an initial copy or a resync (`pair show`, `copy status`). */
import { emptyCounts, type TransferCounts } from './references/wire.js';

/** What the last initial copy or resync of a pair moved (logical = equal + references + data). */
export interface CopyStats extends TransferCounts {
  pair: string;
  kind: 'initial' | 'resync';
  references: boolean;
  phase: 'hashing' | 'copying' | 'done';
  tracks: number;
  /** Tracks already equal on both sides (skipped), and their bytes. */
  equalTracks: number;
  equalBytes: number;
  /** Tracks copied locally from another track of the S-VOL, written as zeros, sent as data. */
  referenceTracks: number;
  zeroTracks: number;
  dataTracks: number;
  savedBytes: number;
  savedPct: number;
  startedAt: number;
  finishedAt: number | null;
  /** A resync: the tracks saved to the consistent image, and ms from the start until it was durable. */
  imageTracks?: number;
  imageMs?: number | null;
}

/** Fresh counters for a copy of `bytes` in tracks of `trackSize`. */
export function newCopyStats(pair: string, kind: 'initial' | 'resync', refs: boolean, bytes: number, trackSize: number): CopyStats {
  return {
    ...emptyCounts(),
    logicalBytes: bytes,
    pair,
    kind,
    references: refs,
    phase: refs ? 'hashing' : 'copying',
    tracks: Math.round(bytes / trackSize),
    equalTracks: 0,
    equalBytes: 0,
    referenceTracks: 0,
    zeroTracks: 0,
    dataTracks: 0,
    savedBytes: 0,
    savedPct: 0,
    startedAt: Date.now(),
    finishedAt: null,
  };
}
