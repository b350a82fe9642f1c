/** The counters of a pull loop (`pull status`), kept in the management store across restarts. */
import type { PrimaryInfo } from './peer.js';
import { savings, type TransferCounts } from './references/wire.js';
import type { JournalRow } from './repl-store.js';

/** A pull loop's state and counters (TransferCounts: logical, data and reference bytes...). */
export interface PullStats extends TransferCounts {
  journal: string;
  enabled: boolean;
  running: boolean;
  mode: 'adaptive' | 'fixed';
  intervalMs: number | null;
  nextWaitMs: number;
  /** Since when the counters below count (ms): they are kept across controller restarts. */
  countingSince: number;
  pulls: number;
  entries: number;
  bytes: number;
  /** logicalBytes - dataBytes - referenceWireBytes, and as a percentage of logicalBytes. */
  savedBytes: number;
  savedPct: number;
  /** Whether pulls ask for references (journal option; --no-references turns it off). */
  references: boolean;
  lastPullAt: number | null;
  lastError: string | null;
  failingSince: number | null;
  pulledSeq: number;
  restoredSeq: number;
  primary: PrimaryInfo | null;
  bytesPerSecond: number;
}

/** The counters of a pull that are kept in the management store (every few seconds, and at stop). */
export const KEPT = ['pulls', 'entries', 'bytes', 'logicalBytes', 'dataBytes', 'referenceBytes', 'zeroBytes', 'referenceWireBytes', 'staleReferences'] as const;
export const KEEP_EVERY_MS = 5000;

/** Fresh counters of a restore journal's pull. */
export function newPullStats(journal: string, row: JournalRow | undefined): PullStats {
  return {
    journal,
    enabled: !!row?.pullEnabled,
    running: false,
    mode: row?.pullIntervalMs ? 'fixed' : 'adaptive',
    intervalMs: row?.pullIntervalMs ?? null,
    nextWaitMs: 0,
    countingSince: Date.now(),
    pulls: 0,
    entries: 0,
    bytes: 0,
    logicalBytes: 0,
    dataBytes: 0,
    referenceBytes: 0,
    zeroBytes: 0,
    referenceWireBytes: 0,
    staleReferences: 0,
    savedBytes: 0,
    savedPct: 0,
    references: true,
    lastPullAt: null,
    lastError: null,
    failingSince: null,
    pulledSeq: 0,
    restoredSeq: 0,
    primary: null,
    bytesPerSecond: 0,
  };
}

/** Puts back what earlier runs of this controller counted (as kept by keepCounters). */
export function restoreKept(s: PullStats, kept: Record<string, unknown> | null): void {
  if (!kept) return;
  for (const k of KEPT) if (typeof kept[k] === 'number' && Number.isSafeInteger(kept[k])) s[k] = kept[k] as number;
  if (typeof kept.since === 'number') s.countingSince = kept.since;
  Object.assign(s, savings(s));
}
