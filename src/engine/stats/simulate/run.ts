/**
 * `rcopy stats simulate`: the writes of a trace (writes.ts) or of a group's collection, replayed
 * through the journal simulation (queue.ts), with the sizing answers (solve.ts) and the figures the
 * report states its assumptions with (rcopy's record layout; the distinct tracks a periodic copy or
 * resync would ship instead of every byte).
 */
import { E } from '../../../errors.js';
import { ALIGN, MAX_RECORD_DATA, REC_HDR } from '../../journal/layout.js';
import { StatsStore } from '../store.js';
import { PagedTable } from '../traces/paged-table.js';
import { simulate, HIGH_WATER, type SimParams, type SimResult } from './queue.js';
import { busiestHour, longestOutage, sizingTable, solveBandwidth, type Absorbed, type BusiestHour, type SizingCell } from './solve.js';
import { WriteLog } from './writes.js';

export interface SimulateOptions {
  bandwidth: number;
  journal: number;
  rpoMs: number;
  latencyMs: number;
  outage?: { start: number; ms: number };
  trackSize: number;
  /** Also find the least bandwidths and the bandwidth x journal table. */
  solve?: boolean;
}

export interface Simulation {
  params: { bandwidth: number; journal: number; rpoMs: number; latencyMs: number; outage: { start: number; ms: number } | null; trackSize: number; highWater: number };
  /** rcopy's journal record layout the simulation charges every write with. */
  layout: { recordHeader: number; align: number; maxRecordData: number };
  result: SimResult;
  busiestHour: BusiestHour | null;
  /** The longest outage from the busiest hour's start that the journal absorbs. */
  absorbs: Absorbed | null;
  /** What a periodic copy or a resync of the whole span would ship: distinct tracks. */
  distinct: { tracks: number; bytes: number };
  solve: null | {
    /** Least bandwidth (bytes/s) meeting the RPO 100%, 99% and 90% of the time; null: none. */
    always: number | null;
    p99: number | null;
    p90: number | null;
    table: SizingCell[][];
  };
}

/** The simulation of `log` with the sizing answers. */
export function simulation(log: WriteLog, o: SimulateOptions): Simulation {
  const p: SimParams = {
    bandwidth: o.bandwidth,
    journal: o.journal,
    rpoMs: o.rpoMs,
    latencyMs: o.latencyMs,
    trackSize: o.trackSize,
    outages: o.outage ? [{ start: o.outage.start, end: o.outage.start + o.outage.ms }] : [],
  };
  const scratch = new Float64Array(log.length);
  const busy = busiestHour(log);
  // without an --outage, the simulation is also the outage-free run the outage search starts from
  const result = simulate(log, busy && !o.outage ? { ...p, noteIdleBefore: busy.start } : p, scratch);
  const base = busy && !o.outage ? { result, arrivals: Float64Array.from(scratch) } : undefined;
  const absorbs = busy ? longestOutage(log, { ...p, outages: [] }, busy.start, scratch, base) : null;
  let solve: Simulation['solve'] = null;
  if (o.solve) {
    const always = solveBandwidth(log, p, 1, scratch);
    const p99 = solveBandwidth(log, p, 0.99, scratch);
    const p90 = solveBandwidth(log, p, 0.9, scratch);
    const bws = [...new Set([o.bandwidth, always, p99, p90].filter((x): x is number => x !== null).map(roundUpBits))].sort((a, b) => a - b);
    const journals = [0.25, 0.5, 1, 2, 4].map((f) => Math.round(o.journal * f));
    solve = { always, p99, p90, table: sizingTable(log, p, bws, journals) };
  }
  return {
    params: { bandwidth: o.bandwidth, journal: o.journal, rpoMs: o.rpoMs, latencyMs: o.latencyMs, outage: o.outage ?? null, trackSize: o.trackSize, highWater: HIGH_WATER },
    layout: { recordHeader: REC_HDR, align: ALIGN, maxRecordData: MAX_RECORD_DATA },
    result,
    busiestHour: busy,
    absorbs,
    distinct: distinctTracks(log, o.trackSize),
    solve,
  };
}

/** A rate in bytes/s rounded up to two significant digits in bits per second (a link one can buy). */
export function roundUpBits(bytesPerSec: number): number {
  const bits = bytesPerSec * 8;
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(bits)) - 1);
  return (Math.ceil(bits / mag - 1e-9) * mag) / 8;
}

function distinctTracks(log: WriteLog, trackSize: number): { tracks: number; bytes: number } {
  const tables: PagedTable[] = [];
  let beyond = 0;
  for (let i = 0; i < log.length; i++) {
    const off = log.offsets[i]!;
    const first = Math.floor(off / trackSize);
    const last = Math.floor((off + Math.max(log.lengths[i]!, 1) - 1) / trackSize);
    if (last >= 2 ** 30) beyond += last - first + 1;
    else (tables[log.devices[i]!] ??= new PagedTable()).mark(first, last);
  }
  const tracks = tables.reduce((n, t) => n + (t ? t.count : 0), beyond);
  return { tracks, bytes: tracks * trackSize };
}

/**
 * The writes of a group's collection, as far as its entries tell: each entry's writes, at their
 * average size, spread evenly over its interval, on tracks 0, 1, ... of its volume up to the entry's
 * count of distinct tracks (an entry keeps which tracks, not where each write went: the distinct
 * tracks of a span are then at least those of its busiest entry, not their union).
 */
export function writesOfCollection(arrayDir: string, array: string, group: string, trackSize: number, range: { fromMs?: number; toMs?: number } = {}): { log: WriteLog; devices: string[] } {
  const s = StatsStore.openReadOnly(arrayDir);
  const times: number[] = [];
  const lens: number[] = [];
  const devs: number[] = [];
  const offs: number[] = [];
  const devices: string[] = [];
  const byName = new Map<string, number>();
  try {
    s.needDefinition(array, group);
    for (const e of s.reportEntries(group, range)) {
      if (e.writes <= 0) continue;
      let d = byName.get(e.volume);
      if (d === undefined) byName.set(e.volume, (d = devices.push(e.volume) - 1));
      const size = Math.max(1, Math.round(e.writeBytes / e.writes));
      const step = (e.end - e.start) / e.writes;
      const ts = e.trackSize || trackSize;
      for (let k = 0; k < e.writes; k++) {
        times.push(e.start + (k + 0.5) * step);
        lens.push(size);
        devs.push(d);
        offs.push((k % Math.max(1, e.count)) * ts);
      }
      if (times.length > 50_000_000) throw E.outOfRange('the collection has more than 50,000,000 writes, the most a simulation holds: simulate a part of it (--from/--to)');
    }
  } finally {
    s.close();
  }
  const order = Uint32Array.from(times.keys()).sort((a, b) => times[a]! - times[b]!);
  const log = new WriteLog();
  for (const i of order) log.add(times[i]!, devs[i]!, offs[i]!, lens[i]!);
  return { log, devices };
}
