/** The text of `stats simulate --verify`: predicted and measured side by side (commands/stats-verify.ts). */
import type { Verification } from '../commands/stats-verify.js';
import { formatBytes, formatDuration } from '../../units.js';
import { rateText } from './stats-simulate.js';

const pct = (a: number, b: number): string => (b > 0 ? `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%` : a > 0 ? 'n/a' : '0%');
const ms = (x: number): string => (x < 1000 ? `${Math.round(x)}ms` : formatDuration(Math.round(x)));
/** A predicted range as text (one value when it is one). */
const span = ([lo, hi]: [number, number], f: (x: number) => string): string => {
  const [a, b] = [f(lo), f(hi)];
  if (a === b) return a;
  const unit = / [A-Za-z]+$/.exec(a)?.[0];
  return unit && b.endsWith(unit) ? `${a.slice(0, -unit.length)}-${b}` : `${a}-${b}`;
};
/** How far a measured value is from the middle of a predicted range (what is judged: replay.ts agreement). */
const off = (x: number, [lo, hi]: [number, number]): string => pct(x, (lo + hi) / 2);

export function verifyText(v: Verification): string[] {
  const p = v.predicted;
  const m = v.measured;
  const row = (what: string, a: string, b: string, diff: string, ok: boolean | null): string =>
    `  ${what.padEnd(13)}${a.padEnd(16)}${b.padEnd(16)}${diff.padEnd(10)}${ok === null ? '(shown)' : ok ? 'agrees' : 'DISAGREES'}`;
  return [
    `verify    ${v.writes} writes replayed ${v.speedup}x faster into a scratch pair in ${v.replaySeconds.toFixed(1)} s; link ${rateText(v.link.bandwidth)}, latency ${v.link.latencyMs}ms, pulls every ${v.link.pullIntervalMs}ms; journal ${formatBytes(v.journalCapacity)}`,
    `          writes late against the schedule: at most ${ms(v.late.max)} (real time); ${v.samples.usage} usage and ${v.samples.arrived} lag samples`,
    `  ${''.padEnd(13)}${'predicted'.padEnd(16)}${'measured'.padEnd(16)}${'diff'.padEnd(10)}(off the range's middle; 10% on the peak, 20% on lag p99)`,
    row('peak journal', span(p.peakRange, formatBytes), formatBytes(m.peak), off(m.peak, p.peakRange), v.agree.peak),
    row('space held', formatBytes(p.space), formatBytes(m.space), pct(m.space, p.space), null),
    row('lag p99', span(p.lagP99Range, ms), ms(m.lagP99), off(m.lagP99, p.lagP99Range), v.agree.lagP99),
    row('overflow', p.overflow ? 'yes' : 'no', m.overflow ? 'yes' : 'no', '', v.agree.overflow),
    `          lags in the trace's time (measured x ${v.speedup}); predicted: the simulation of the writes as the replay made them, in pull rounds that wait ${v.link.roundMs.toFixed(1)}ms`,
    v.link.waits.used
      ? `          beyond the wire (the median of ${v.link.waits.count} real rounds' waits, measured: p10 ${v.link.waits.p10.toFixed(1)}ms, p90 ${v.link.waits.p90.toFixed(1)}ms), asking ahead after a write made within ${v.link.aheadMs.toFixed(1)}ms,`
      : `          (the interval and a request's round trip: only ${v.link.waits.count} real rounds' waits measured), asking ahead after a write made within ${v.link.aheadMs.toFixed(1)}ms,`,
    `          restores a batch after the delay sampled for batches of about its size (median of all ${v.link.restoreMs.toFixed(1)}ms); for the writes as due: peak ${formatBytes(v.scheduled.peak)}, lag p99 ${ms(v.scheduled.lagP99)}`,
    `          peak journal: records written and not yet restored, counted from the journals' seqs; predicted: the least and the most of 128 simulations whose`,
    `          every round waits ${v.link.waits.used ? 'one of the measured waits' : 'the interval ±2 round trips'} and every batch restores after one of the delays sampled for its size`,
    `          (which writes of a burst a round takes is not repeated from run to run; central: peak ${formatBytes(p.peak)}, lag p99 ${ms(p.lagP99)}); space held: the master journal's`,
    `          space in use (sampled), freed only by the first request after the restore: a restore later than the next request holds a batch a round longer`,
    ...(v.predicted.lagP99 / v.speedup < 20 * v.link.roundMs
      ? [`caution   the replay's lag p99 (${ms(v.predicted.lagP99 / v.speedup)} real) is within 20 pull rounds: per-round costs the model leaves out weigh; use a smaller --speedup`]
      : []),
    v.agree.all ? 'verdict   the simulation agrees with the real pair' : 'verdict   the simulation and the real pair DISAGREE (exit status 3)',
  ];
}
