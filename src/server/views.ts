/** The views of pairs and journals that controller methods return (part of the contract, methods.ts). */
import type { CopyStats } from '../engine/repl/copy-stats.js';
import type { PairState } from '../engine/repl/pair-state.js';
import type { PullStats } from '../engine/repl/pull-stats.js';

/** A pair as either side describes it (Replicator.describe). */
export interface PairView {
  id: string;
  group: string;
  role: 'P' | 'S';
  array: string;
  /** ARRAY:VOL of this side, of the P-VOL and of the S-VOL. */
  volume: string;
  pvol: string;
  svol: string;
  journal: string;
  remoteJournal: string;
  mode: 'async' | 'sync';
  state: PairState;
  stateSince: number;
  reason: string;
  copyPct?: number;
  copyDone: number;
  copyTotal: number;
  resyncing: boolean;
  copied?: boolean;
  writable: boolean;
  syncTimeoutMs?: number;
  fence?: 'never' | 'data';
  /** S side: a resync completed but the restore has not yet passed the copy's end (seq). */
  consistentFromSeq?: number;
  imageTime: number | null;
  imageTracks: number | null;
  changedTracks: number;
  changedBytes: number;
  journalUsedPct: number | null;
  journalEntries: number | null;
  journalBytes: number | null;
  lastSeq: number | null;
  restoredSeq?: number;
  oldestTimestamp: number | null;
  /** P side: host time (ms) of the newest write still in the master journal. */
  newestTimestamp?: number | null;
  /** S side: host time (ms) of the newest write restored (consistency time), when known. */
  consistencyTime?: number | null;
  /** S side (pair.list, pair.show): the recent pull rate, bytes/s. */
  pullBytesPerSecond?: number;
  /** The command that moves the pair on from its state, if any. */
  hint: string | null;
}

/** `pair show`: the view with the secondary's pull and copy counters and the latest events. */
export interface PairDetail extends PairView {
  pull?: PullStats;
  resync?: CopyStats | null;
  events: Array<{ time: number; event: string }>;
}

/** What a pair operation (split, resync, takeover, revert) leaves: the group's pairs, and notes. */
export interface PairOpResult {
  pairs: PairView[];
  note?: string;
  drained?: boolean;
  splitSeq?: number;
  primaryStates?: Record<string, PairState> | null;
  primaryReached?: boolean;
  swapped?: boolean;
  pair?: PairView;
  tracksRestored?: number;
}

/** A journal (Replicator.journalInfo); `references` only from journal.show and journal.set. */
export interface JournalInfo {
  name: string;
  array: string;
  role: 'master' | 'restore' | null;
  capacity: number;
  used: number;
  usedPct: number;
  entries: number;
  bytesPending: number;
  oldestSeq: number | null;
  newestSeq: number | null;
  lastSeq: number;
  oldestTimestamp: number | null;
  restoredSeq?: number;
  recovery: { records: number; lastSeq: number; stoppedAt: number; [k: string]: unknown };
  /** ARRAY:JOURNAL of the other side, or null. */
  peer: string | null;
  pairs: string[];
  blockadeWatchMs: number;
  overflowWatchMs: number;
  autoResync: boolean;
  references?: boolean;
  /** on, off or auto (references/settings.ts); `references` is what applies now. */
  referencesMode?: 'on' | 'off' | 'auto';
}
