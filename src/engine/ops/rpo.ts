/**
 * The real RPO of a pair from both sides' views: what the secondary would lack if the primary
 * were lost now, in host time.
 *
 * - consistency time: the host time of the newest write restored on the secondary (kept with the
 *   restored seq, see repl/consistency-time.ts);
 * - journaling and behind (the primary's last seq past the restored seq): RPO = the host time of
 *   the primary's newest journaled write minus the consistency time (the oldest unrestored write
 *   when the consistency time is not known, after a resync);
 * - journaling and caught up: 0;
 * - suspended with changes in the primary's bitmap: the primary wrote after the suspension, at an
 *   unknown time, so RPO = now minus the consistency time (an upper bound; null when not known);
 * - suspended without changes: 0.
 * The estimate to catch up divides the bytes behind by the recent pull rate (null when no rate).
 */

/** The fields of a pair view (server/methods.ts PairView) that the RPO depends on. */
export interface RpoSide {
  state: string;
  lastSeq?: number | null;
  restoredSeq?: number;
  journalBytes?: number | null;
  oldestTimestamp?: number | null;
  newestTimestamp?: number | null;
  consistencyTime?: number | null;
  changedTracks?: number;
  pullBytesPerSecond?: number;
}

export interface Rpo {
  /** ISO 8601 time of the newest write restored, when known. */
  consistencyTime: string | null;
  rpoSeconds: number | null;
  entriesBehind: number | null;
  bytesBehind: number | null;
  /** Seconds to catch up at the recent pull rate (null: no rate, or pulls not running). */
  catchUpSeconds: number | null;
}

const JOURNALING = new Set(['COPY', 'PAIR', 'PFUL']);

export function rpoOf(p: RpoSide | null | undefined, s: RpoSide | null | undefined, now = Date.now()): Rpo {
  const ct = s?.consistencyTime ?? null;
  const out: Rpo = { consistencyTime: ct === null ? null : new Date(ct).toISOString(), rpoSeconds: null, entriesBehind: null, bytesBehind: null, catchUpSeconds: null };
  if (!p || !s) return out;
  const behind = Math.max(0, (p.lastSeq ?? 0) - (s.restoredSeq ?? 0));
  out.entriesBehind = behind;
  out.bytesBehind = behind ? (p.journalBytes ?? 0) : 0;
  if (JOURNALING.has(p.state)) {
    if (!behind) out.rpoSeconds = 0;
    else {
      const newest = p.newestTimestamp ?? now;
      const base = ct ?? p.oldestTimestamp ?? newest;
      out.rpoSeconds = Math.max(0, newest - base) / 1000;
    }
  } else if (!(p.changedTracks ?? 0) && !behind) out.rpoSeconds = 0;
  else out.rpoSeconds = ct === null ? null : Math.max(0, now - ct) / 1000;
  const rate = s.pullBytesPerSecond ?? 0;
  out.catchUpSeconds = !behind ? 0 : rate > 0 && JOURNALING.has(s.state) ? out.bytesBehind / rate : null;
  return out;
}
