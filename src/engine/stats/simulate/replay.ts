/**
 * `stats simulate --verify`: the simulation checked against a real pair. This module holds the
 * pure parts: the schedule of the replay (the trace's writes, time-compressed by the speedup K,
 * offsets folded into the scratch volume), the figures measured from what was sampled on the real
 * pair, the prediction for the same writes, and the comparison. The CLI
 * (src/cli/commands/stats-verify.ts) runs the pair and does the sampling.
 *
 * Scaling: the replay makes the writes K times faster and the link carries K times the bandwidth
 * in bytes per real second (and has 1/K of the latency), so the journal fills exactly as in the
 * trace's time (the peak is the same) and every duration, the lag included, is 1/K of the trace's.
 * Measured lags are multiplied back by K to be shown in the trace's time.
 */
import { MAX_RECORD_DATA } from '../../journal/layout.js';
import { lagFigures, simulate, type SimResult } from './queue.js';
import { WriteLog } from './writes.js';

/** Most data a pull takes (repl/restore.ts PULL_BATCH; kept equal by a test). */
export const PULL_BATCH_BYTES = 16 * 1024 * 1024;

/** The writes as the replay makes them: ms from the first write (÷ speedup), one volume, offsets folded into it, empty writes left out. */
export function replaySchedule(log: WriteLog, speedup: number, volumeSize: number): WriteLog {
  const out = new WriteLog();
  const t0 = log.length ? log.times[0]! : 0;
  for (let i = 0; i < log.length; i++) {
    const len = Math.min(log.lengths[i]!, volumeSize);
    if (len === 0) continue; // nothing to write (and no record)
    let off = Math.floor((log.offsets[i]! % volumeSize) / 512) * 512;
    if (off + len > volumeSize) off = Math.floor((volumeSize - len) / 512) * 512;
    out.add((log.times[i]! - t0) / speedup, 0, off, len);
  }
  return out;
}

/** The host writes (io.write calls, one journal record each) a write of `length` bytes is made of. */
export function recordsOf(length: number): number {
  return Math.max(1, Math.ceil(length / MAX_RECORD_DATA));
}

/** What was sampled on the real pair during a replay (times in ms on one clock). */
export interface ReplaySamples {
  /** When each write was acknowledged (its records are in the master journal). */
  acks: Float64Array;
  /** The length of each write. */
  lengths: Uint32Array;
  /** The master journal's last seq before the first write. */
  seq0: number;
  /** The master journal's used bytes, [time, bytes]. */
  usage: Array<[number, number]>;
  /** The restore journal's last seq (what has arrived on the secondary), [time, seq]. */
  arrived: Array<[number, number]>;
  /** The secondary's restored seq, [time, seq] (at the same samples as `arrived`). */
  restored: Array<[number, number]>;
  /** The pair went to PFUS (the master journal overflowed). */
  overflow: boolean;
  /** The longest interval between two samples (the resolution of the measured lag), ms. */
  resolutionMs: number;
}

export interface Figures {
  peak: number;
  lagP99: number;
  lagP50: number;
  lagMax: number;
  overflow: boolean;
}

/**
 * The figures measured: the peak of the sampled journal usage; the lag at each sample of the
 * restore journal's last seq between the first and the last write (its time minus the
 * acknowledgement of the oldest write not wholly there yet, 0 when none is waiting), its
 * percentiles as queue.ts takes them.
 */
export function measuredFigures(s: ReplaySamples): Figures {
  const n = s.acks.length;
  let peak = 0;
  for (const [, u] of s.usage) if (u > peak) peak = u;
  const last = lastSeqs(s);
  const lags: number[] = [];
  let w = 0;
  const first = n ? s.acks[0]! : 0;
  const end = n ? s.acks[n - 1]! : 0;
  for (const [t, r] of s.arrived) {
    if (t < first || t > end) continue;
    while (w < n && last[w]! <= r) w++;
    lags.push(w < n && s.acks[w]! <= t ? t - s.acks[w]! : 0);
  }
  const lag = lagFigures(Float64Array.from(lags), 0, Infinity);
  return { peak, lagP99: lag.p99, lagP50: lag.p50, lagMax: lag.max, overflow: s.overflow };
}

/** The last seq of each write (writes of 4 MiB at most are one record). */
function lastSeqs(s: ReplaySamples): Float64Array {
  const last = new Float64Array(s.acks.length);
  let seq = s.seq0;
  for (let i = 0; i < last.length; i++) last[i] = seq += recordsOf(s.lengths[i]!);
  return last;
}

/** The median time from a write's arrival on the secondary to its restore, as sampled (ms). */
export function restoreDelay(s: ReplaySamples): number {
  const last = lastSeqs(s);
  const firstAt = (samples: Array<[number, number]>): Float64Array => {
    const at = new Float64Array(last.length).fill(NaN);
    let w = 0;
    for (const [t, seq] of samples) while (w < last.length && last[w]! <= seq) at[w++] = t;
    return at;
  };
  const a = firstAt(s.arrived);
  const r = firstAt(s.restored);
  const d: number[] = [];
  for (let i = 0; i < last.length; i++) if (r[i]! >= a[i]!) d.push(r[i]! - a[i]!);
  d.sort((x, y) => x - y);
  return d.length ? d[Math.floor(d.length / 2)]! : 0;
}

export interface ReplayLink {
  /** Bytes per real second of the replay. */
  bandwidth: number;
  latencyMs: number;
  /** The journal's capacity as created. */
  journal: number;
  pullIntervalMs: number;
  /** A write made this soon after a pull starts makes the secondary ask ahead (rounds.ts). */
  aheadMs: number;
  /** From a write's arrival on the secondary to its restore (restoreDelay). */
  restoreMs: number;
  trackSize: number;
}

/** The prediction for the writes as the replay made them (at their acknowledgements). */
export function predictReplay(s: ReplaySamples, link: ReplayLink): SimResult {
  const log = new WriteLog();
  for (let i = 0; i < s.acks.length; i++) log.add(s.acks[i]!, 0, 0, s.lengths[i]!);
  return simulate(log, {
    bandwidth: link.bandwidth,
    journal: link.journal,
    latencyMs: link.latencyMs,
    outages: [],
    trackSize: link.trackSize,
    rpoMs: Infinity,
    pull: { intervalMs: link.pullIntervalMs, batchBytes: PULL_BATCH_BYTES, aheadMs: link.aheadMs, restoreMs: link.restoreMs, dataOnlyWire: true },
  });
}

/** How close the measured figures must be: 10% on the peak journal, 20% on lag p99 (issue 22). */
export const PEAK_TOLERANCE = 0.1;
export const LAG_TOLERANCE = 0.2;

export interface Agreement {
  peak: boolean;
  lagP99: boolean;
  overflow: boolean;
  all: boolean;
}

/**
 * Whether measured agrees with predicted. Before an overflow only: after it the pair is suspended
 * and the figures are those of a bitmap, not of a journal. The lag may differ by the measurement's
 * resolution besides (a lag is known only at the samples).
 */
export function agreement(pred: Figures, meas: Figures, resolutionMs: number): Agreement {
  const overflow = pred.overflow === meas.overflow;
  const both = pred.overflow && meas.overflow;
  const peak = both || Math.abs(meas.peak - pred.peak) <= PEAK_TOLERANCE * pred.peak;
  const lagP99 = both || Math.abs(meas.lagP99 - pred.lagP99) <= LAG_TOLERANCE * pred.lagP99 + resolutionMs;
  return { peak, lagP99, overflow, all: peak && lagP99 && overflow };
}

export function figuresOf(r: SimResult): Figures {
  return { peak: r.peak.bytes, lagP99: r.lag.p99, lagP50: r.lag.p50, lagMax: r.lag.max, overflow: r.overflow !== null };
}
