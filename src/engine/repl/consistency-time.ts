/**
 * The consistency time of a restore journal: the host time (the journal record's timestamp, set
 * on the primary when the host wrote) of the newest write restored on the secondary. It is kept
 * in the management store with the restored seq it belongs to, written in the same transaction as
 * the restored seq, so it survives a restart exactly as the seq does. A restored seq set another
 * way (a resync) has no time until the next restore.
 */
import type { ReplStore } from './repl-store.js';

const key = (journal: string): string => `restored-time:${journal}`;

/** Records a restore: the restored seq and the host time of its write, in one transaction. */
export function recordRestored(rs: ReplStore, journal: string, seq: number, time: number): void {
  rs.store.tx(() => {
    rs.updateJournal(journal, { restoredSeq: seq });
    rs.store.setJson(key(journal), { seq, time });
  });
}

/** The host time of the write at `restoredSeq`, or null when it is not known. */
export function restoredTime(rs: ReplStore, journal: string, restoredSeq: number): number | null {
  const v = rs.store.getJson<{ seq?: unknown; time?: unknown } | null>(key(journal), null);
  return v && v.seq === restoredSeq && typeof v.time === 'number' ? v.time : null;
}
