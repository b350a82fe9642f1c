/**
 * How `rcopy stats simulate` shows a simulation: the journal (peak, PFUL, PFUS and the resync), the
 * lag, the busiest hour, the sizing answers with --solve, and the assumptions in words. Rates are
 * shown in bits per second (how links are sold) with bytes per second beside them, never one for the
 * other; sizes in bytes (binary units, as journals are sized).
 */
import type { Simulation } from '../../engine/stats/simulate/run.js';
import { formatBytes, formatDuration } from '../../units.js';
import type { CliContext } from '../context.js';
import { iso, type Output } from './output.js';
import { colors } from './progress.js';

type GroupRef = { array: string; group: string };

/** A rate as bits per second (decimal, as links are quoted). */
export function formatBits(bytesPerSec: number): string {
  const units = ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s'];
  let v = bytesPerSec * 8;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${+v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** A rate as bytes per second (decimal). */
export function formatByteRate(bytesPerSec: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let v = bytesPerSec;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${+v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** `100 Mb/s (12.5 MB/s)`: the bits, then the bytes. */
export const rateText = (bytesPerSec: number): string => `${formatBits(bytesPerSec)} (${formatByteRate(bytesPerSec)})`;

const when = (ms: number): string =>
  iso(ms)
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
const pct = (x: number): string => `${(x * 100).toFixed(x >= 0.9995 || x === 0 ? 0 : 1)}%`;
const n = (x: number): string => x.toLocaleString('en');

export async function simulateOutput(ctx: CliContext, r: GroupRef, what: Record<string, unknown>, sim: Simulation, data: unknown): Promise<Output> {
  if (ctx.format !== 'table') return { data };
  const c = await colors(ctx);
  const lines = [...headText(r, what, sim), '', ...journalText(sim, c), '', ...solveText(sim), ...assumptionsText(sim)];
  return { data, text: lines.join('\n') };
}

function headText(r: GroupRef, what: Record<string, unknown>, sim: Simulation): string[] {
  const p = sim.params;
  const res = sim.result;
  const from = what.trace !== undefined ? `${String(what.name)} (${String(what.format)}${what.gzip ? ', gzip' : ''})` : `the collection of ${r.array}:${r.group}`;
  const out = [
    `simulated ${r.array}:${r.group} from ${from}: ${n(res.writes)} writes, ${formatBytes(res.writeBytes)} written, ${when(res.start)} to ${when(res.end)}`,
    `  link ${rateText(p.bandwidth)}, latency ${formatDuration(p.latencyMs)}; journal ${formatBytes(p.journal)}; RPO ${formatDuration(p.rpoMs)}${p.outage ? `; link down ${formatDuration(p.outage.ms)} from ${when(p.outage.start)}` : ''}`,
  ];
  if (typeof what.malformed === 'number' && what.malformed > 0) {
    const f = what.firstMalformed as { line: number; text: string } | null;
    out.push(`  ${n(what.malformed)} malformed lines skipped (first: line ${f?.line}: '${f?.text}'; --strict refuses the trace)`);
  }
  if (typeof what.duplicateBytes === 'number') {
    const share = sim.result.writeBytes > 0 ? what.duplicateBytes / sim.result.writeBytes : 0;
    out.push(
      `  content digests: ${n(Number(what.duplicateWrites))} writes repeat content written before: sent as references they would save ${what.digestsFull ? 'at least ' : ''}${formatBytes(what.duplicateBytes)} (${pct(share)} of the bytes written)`,
    );
  }
  if (typeof what.outOfOrder === 'number' && what.outOfOrder > 0) out.push(`  ${n(what.outOfOrder)} writes earlier than the one before were taken at its time`);
  return out;
}

function journalText(sim: Simulation, c: { warn: (s: string) => string }): string[] {
  const p = sim.params;
  const res = sim.result;
  const out = [
    `journal   peak ${formatBytes(res.peak.bytes)} (${pct(res.peak.share)} of ${formatBytes(p.journal)}) at ${when(res.peak.at)}`,
    `          over ${pct(p.highWater)} (PFUL): ${res.firstOverHighWater === null ? 'never' : `${formatDuration(res.overHighWaterMs)} in all, first at ${when(res.firstOverHighWater)}`}`,
  ];
  const o = res.overflow;
  if (o === null) out.push(`          overflow (PFUS): no`);
  else {
    out.push(c.warn(`          overflow (PFUS): yes, at ${when(o.at)}: the pair suspends`));
    out.push(`          then a resync of ${n(o.resyncTracks)} tracks (${formatBytes(o.resyncBytes)}) takes ${formatDuration(o.resyncMs)} at ${formatBits(p.bandwidth)}`);
  }
  const l = res.lag;
  out.push(
    `lag       p50 ${formatDuration(l.p50)}, p90 ${formatDuration(l.p90)}, p99 ${formatDuration(l.p99)}, max ${formatDuration(l.max)}; within the RPO of ${formatDuration(p.rpoMs)} ${pct(l.withinRpo)} of the time`,
  );
  const b = sim.busiestHour;
  const a = sim.absorbs;
  if (b && a) {
    out.push(`busiest   the hour from ${when(b.start)}: ${formatBytes(b.journalBytes)} into the journal, ${rateText(b.rate)}`);
    out.push(`          a link outage starting then is absorbed for ${a.atLeast ? `the rest of the trace (${formatDuration(a.ms)}) and more` : `up to ${formatDuration(a.ms)}`}`);
  }
  return out;
}

function solveText(sim: Simulation): string[] {
  const s = sim.solve;
  if (!s) return [];
  const bw = (x: number | null) => (x === null ? 'none does (the latency alone is over the RPO, or the link would be over 9 Pb/s)' : rateText(x));
  const out = [
    `least bandwidth for the RPO of ${formatDuration(sim.params.rpoMs)} with a ${formatBytes(sim.params.journal)} journal (never overflowing):`,
    `  100% of the time: ${bw(s.always)}`,
    `   99% of the time: ${bw(s.p99)}`,
    `   90% of the time: ${bw(s.p90)}`,
    '',
    `bandwidth x journal: share of time within the RPO, peak journal usage (met = always within, no overflow)`,
  ];
  const journals = s.table[0]?.map((x) => x.journal) ?? [];
  const w = 24;
  out.push(`  ${'bandwidth'.padEnd(w)}${journals.map((j) => formatBytes(j).padStart(w)).join('')}`);
  for (const row of s.table) {
    const cells = row.map((x) => (x.overflow ? `overflow ${pct(x.withinRpo)}` : `${x.met ? 'met' : 'no'} ${pct(x.withinRpo)} peak ${pct(x.peakShare)}`).padStart(w));
    out.push(`  ${rateText(row[0]!.bandwidth).padEnd(w)}${cells.join('')}`);
  }
  out.push('');
  return out;
}

/** The assumptions of a simulation, one sentence each. */
export function assumptions(sim: Simulation): string[] {
  const L = sim.layout;
  const d = sim.distinct;
  const res = sim.result;
  return [
    `Journal mode ships every byte written: each write is split into records of at most ${formatBytes(L.maxRecordData)}, each taking a ${L.recordHeader}-byte header plus its data, padded to ${L.align} bytes, in the journal (${formatBytes(res.journalBytes)} for ${formatBytes(res.writeBytes)} written), and its header plus data on the link (${formatBytes(res.wireBytes)}).`,
    `A record's space is freed one latency after it arrived (the secondary reports what it restored on its next pull); PFUL at ${pct(sim.params.highWater)}, PFUS when a write does not fit, and no journal mode after it.`,
    `Periodic copying and resync ship distinct tracks of ${formatBytes(sim.params.trackSize)} instead: ${n(d.tracks)} tracks (${formatBytes(d.bytes)}) over the whole span.`,
    `Lag = the age of the oldest write not yet on the secondary; percentiles from ${n(res.lag.samples)} evenly spaced instants, the maximum exact.`,
  ];
}

function assumptionsText(sim: Simulation): string[] {
  return ['assumptions:', ...assumptions(sim).map((a) => `  ${a}`)];
}
