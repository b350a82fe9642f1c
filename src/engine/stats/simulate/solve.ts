/**
 * Sizing answers from the journal simulation (queue.ts), each found by running it again:
 *   - the busiest hour of the trace (the most journal bytes written in any hour starting at a write);
 *   - the longest link outage, starting at the busiest hour, that the journal absorbs without
 *     overflowing (bisection over the outage length; longer outages overflow, shorter ones do not);
 *   - the least bandwidth that keeps the RPO a given share of the time without an overflow (bisection
 *     over the bandwidth: more bandwidth never makes the lag longer);
 *   - a table of bandwidth x journal size: for each, the share of time within the RPO and the peak.
 */
import type { WriteLog } from './writes.js';
import { simulate, type SimParams, type SimResult } from './queue.js';

const HOUR = 3_600_000;

export interface BusiestHour {
  start: number;
  /** Journal bytes written in the hour. */
  journalBytes: number;
  /** journalBytes / 3600 s. */
  rate: number;
}

/** The hour (from a write's time) with the most journal bytes; null for no writes. */
export function busiestHour(log: WriteLog): BusiestHour | null {
  const n = log.length;
  if (n === 0) return null;
  const jb = log.cost().journal;
  let best = -1,
    bestStart = 0,
    sum = 0,
    j = 0;
  for (let i = 0; i < n; i++) {
    const end = log.times[i]! + HOUR;
    while (j < n && log.times[j]! < end) sum += jb[j++]!;
    if (sum > best) {
      best = sum;
      bestStart = log.times[i]!;
    }
    sum -= jb[i]!;
  }
  return { start: bestStart, journalBytes: best, rate: best / 3600 };
}

export interface Absorbed {
  /** The longest outage starting at `start` that the journal absorbs, ms. */
  ms: number;
  start: number;
  /** True when even an outage to the end of the trace is absorbed (the answer is at least ms). */
  atLeast: boolean;
}

/** A run without outages (noting its state before `at`) and its writes' arrivals, for longestOutage. */
export interface OutageFree {
  result: SimResult;
  arrivals: Float64Array;
}

export function outageFree(log: WriteLog, p: SimParams, at: number, scratch: Float64Array): OutageFree {
  const result = simulate(log, { ...p, outages: [], samples: 0, stopAtOverflow: true, noteIdleBefore: at }, scratch);
  return { result, arrivals: Float64Array.from(scratch.subarray(0, log.length)) };
}

/**
 * The longest outage starting at `start` (default: the busiest hour) that does not overflow. Each
 * try starts from the state of the run without an outage at its last write before the outage that
 * found the link idle, and stops at the first write after the outage where the link is idle and
 * every write still in the journal arrived as in that run (the rest is that run, which does not
 * overflow).
 */
export function longestOutage(log: WriteLog, p: SimParams, start?: number, scratch?: Float64Array, run?: OutageFree): Absorbed | null {
  const n = log.length;
  if (n === 0) return null;
  const at = start ?? busiestHour(log)!.start;
  const buf = scratch ?? new Float64Array(n);
  const base = run ?? outageFree(log, p, at, buf);
  if (base.result.overflow) return { ms: 0, start: at, atLeast: false };
  const arrivals = base.arrivals;
  const from = base.result.idleAt;
  const overflows = (ms: number): boolean => {
    // (an overflow in an earlier try marked the writes in the journal as never arriving)
    if (from) buf.set(arrivals.subarray(from.rel, from.index), from.rel);
    return simulate(log, { ...p, outages: [{ start: at, end: at + ms }], samples: 0, stopAtOverflow: true, from, couple: { after: at + ms, arrivals } }, buf).overflow !== null;
  };
  const hi0 = Math.max(log.times[n - 1]! - at, 1);
  if (!overflows(hi0)) return { ms: hi0, start: at, atLeast: true };
  let lo = 0,
    hi = hi0;
  const eps = Math.max(100, hi0 / 2000);
  while (hi - lo > eps) {
    const mid = (lo + hi) / 2;
    if (overflows(mid)) hi = mid;
    else lo = mid;
  }
  return { ms: lo, start: at, atLeast: false };
}

/** Whether a run meets the RPO for `share` of the time (1: always), without an overflow. */
export function meets(r: SimResult, rpoMs: number, share: number): boolean {
  if (r.overflow) return false;
  if (share >= 1) return r.lag.max <= rpoMs;
  return r.lag.withinRpo >= share;
}

/** The least bandwidth (bytes/s, within 0.5%) meeting the RPO `share` of the time; null if none does. */
export function solveBandwidth(log: WriteLog, p: SimParams, share: number, scratch?: Float64Array): number | null {
  const n = log.length;
  if (n === 0) return null;
  const buf = scratch ?? new Float64Array(n);
  const ok = (bw: number) => meets(simulate(log, { ...p, bandwidth: bw, samples: Math.min(p.samples ?? 20_000, 20_000) }, buf), p.rpoMs, share);
  let wire = 0;
  for (const w of log.cost().wire) wire += w;
  const span = Math.max((log.times[n - 1]! - log.times[0]!) / 1000, 1);
  let hi = Math.max(wire / span, 1);
  let lo = 0;
  while (!ok(hi)) {
    lo = hi;
    hi *= 4;
    if (hi > 2 ** 50) return null;
  }
  if (lo === 0) {
    lo = hi / 4;
    while (lo > 1e-3 && ok(lo)) {
      hi = lo;
      lo /= 4;
    }
  }
  while (hi / Math.max(lo, 1e-9) > 1.005) {
    const mid = Math.sqrt(Math.max(lo, 1e-9) * hi);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface SizingCell {
  bandwidth: number;
  journal: number;
  withinRpo: number;
  lagP99: number;
  lagMax: number;
  peakShare: number;
  overflow: boolean;
  /** RPO kept all the time without an overflow. */
  met: boolean;
}

/** Every bandwidth x journal size. */
export function sizingTable(log: WriteLog, p: SimParams, bandwidths: number[], journals: number[]): SizingCell[][] {
  const buf = new Float64Array(log.length);
  return bandwidths.map((bandwidth) =>
    journals.map((journal) => {
      const r = simulate(log, { ...p, bandwidth, journal, samples: Math.min(p.samples ?? 20_000, 20_000) }, buf);
      return { bandwidth, journal, withinRpo: r.lag.withinRpo, lagP99: r.lag.p99, lagMax: r.lag.max, peakShare: r.peak.share, overflow: r.overflow !== null, met: meets(r, p.rpoMs, 1) };
    }),
  );
}
