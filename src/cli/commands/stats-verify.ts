/**
 * `rcopy stats simulate ... --verify`: replays the writes into a real async pair and measures it.
 *
 * The pair is a scratch one, never the administrator's: two arrays (durability none, the track
 * size of the simulation) in a private scratch home made inside RCOPY_HOME (`.verify-*`, 0700),
 * each with its own controller, a volume of `--volume-size`, journals of the size asked (the
 * overflow watch time set to a day, so only a full journal suspends, as the simulation assumes), a
 * link shaped to K x the bandwidth and 1/K of the latency, a pair without initial copy and without
 * references (every byte travels), pulled at a fixed interval. The writes are replayed K times
 * faster through one connection to the primary; the master journal's usage and the secondary's
 * restored seq are sampled meanwhile. The scratch home is removed at the end, whatever happens.
 * The figures and the comparison are the engine's (engine/stats/simulate/replay.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { E } from '../../errors.js';
import { ensureHome } from '../../engine/array/home.js';
import { MAX_RECORD_DATA } from '../../engine/journal/layout.js';
import type { WriteLog } from '../../engine/stats/simulate/writes.js';
import {
  agreement,
  median,
  MIN_WAITS,
  quantile,
  restoreDelay,
  restoreDelays,
  roundWaits,
  measuredFigures,
  predictReplay,
  replaySchedule,
  type Agreement,
  type Figures,
  type ReplaySamples,
} from '../../engine/stats/simulate/replay.js';
import type { ParamsOf } from '../../server/methods.js';
import type { RpcClient } from '../../server/protocol.js';
import type { CliContext } from '../context.js';
import { create as createArray, stop as stopArray } from './array.js';
import { call, withArray } from './common.js';
import { linkAdd } from './links.js';

export interface VerifyOptions {
  /** Bytes per second of the trace's time. */
  bandwidth: number;
  journal: number;
  latencyMs: number;
  trackSize: number;
  speedup: number;
  pullIntervalMs: number;
  volumeSize: number;
}

export interface Verification {
  speedup: number;
  /**
   * The replay's link: bytes per real second, ms; a round's wait beyond the wire as modelled (roundMs: the median of the
   * measured waits, or without enough of them the interval and a request) and the measured waits' count and spread.
   */
  link: { bandwidth: number; latencyMs: number; pullIntervalMs: number; roundMs: number; waits: { count: number; p10: number; p90: number; used: boolean }; aheadMs: number; restoreMs: number };
  journalCapacity: number;
  writes: number;
  replaySeconds: number;
  /** How late the last write was made, and the latest one, against the schedule (ms). */
  late: { last: number; max: number };
  samples: { usage: number; arrived: number; resolutionMs: number };
  /** In the trace's time (lags x K): for the writes as they were made, and as they were due. */
  predicted: Figures;
  scheduled: Figures;
  measured: Figures;
  agree: Agreement;
}

const ARRAYS = ['vp', 'vs'] as const;

const DAY_MS = 86_400_000;

/** Replays `log` into a scratch pair and compares what it measured with the simulation. */
export async function verifyReplay(ctx: CliContext, log: WriteLog, o: VerifyOptions): Promise<Verification> {
  ensureHome(ctx.home);
  const scratch = fs.mkdtempSync(path.join(ctx.home, '.verify-'));
  const sctx: CliContext = { ...ctx, home: scratch, interactive: false, progress: false, yes: true };
  try {
    const capacity = await scratchPair(sctx, o);
    const schedule = replaySchedule(log, o.speedup, o.volumeSize);
    const run = await replay(sctx, schedule);
    const bandwidth = o.bandwidth * o.speedup;
    const latencyMs = Math.round(o.latencyMs / o.speedup);
    // what the real rounds waited beyond the wire; too few measured: the interval plus one request to a controller (the samplers' median round trip)
    const waits = roundWaits(run.samples, bandwidth, latencyMs, o.pullIntervalMs);
    const measuredWaits = waits.length >= MIN_WAITS;
    const roundMs = measuredWaits ? median(waits) : o.pullIntervalMs + run.samples.resolutionMs;
    const link = {
      bandwidth,
      latencyMs,
      pullIntervalMs: o.pullIntervalMs,
      roundMs,
      waits: { count: waits.length, p10: quantile(waits, 0.1), p90: quantile(waits, 0.9), used: measuredWaits },
      aheadMs: run.writeMs + run.samples.resolutionMs,
      restoreMs: restoreDelay(run.samples),
    };
    // without measured waits, a round's length varies by a request's round trip and by how late the shaper's timer fires: ±2 median round trips
    const model = { ...link, pullIntervalMs: roundMs, waits, restores: restoreDelays(run.samples), journal: capacity, trackSize: o.trackSize, jitterMs: 2 * run.samples.resolutionMs };
    const pred = predictReplay(run.samples, model);
    const scheduled = predictReplay({ ...run.samples, made: schedule.times.slice(0, schedule.length) }, model);
    const meas = measuredFigures(run.samples);
    const agree = agreement(pred, meas, run.samples.resolutionMs);
    const k = (f: Figures): Figures => ({
      ...f,
      lagP99: f.lagP99 * o.speedup,
      lagP99Range: [f.lagP99Range[0] * o.speedup, f.lagP99Range[1] * o.speedup],
      lagP50: f.lagP50 * o.speedup,
      lagMax: f.lagMax * o.speedup,
    });
    return {
      speedup: o.speedup,
      link,
      journalCapacity: capacity,
      writes: schedule.length,
      replaySeconds: run.seconds,
      late: run.late,
      samples: { usage: run.samples.usage.length, arrived: run.samples.arrived.length, resolutionMs: run.samples.resolutionMs * o.speedup },
      predicted: k(pred),
      scheduled: k(scheduled),
      measured: k(meas),
      agree,
    };
  } finally {
    for (const a of ARRAYS) await stopArray(sctx, [a], {}).catch(() => undefined);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The scratch arrays, volumes, journals, link and pair; returns the master journal's capacity. */
async function scratchPair(sctx: CliContext, o: VerifyOptions): Promise<number> {
  for (const a of ARRAYS) {
    await createArray(sctx, [a], { trackSize: String(o.trackSize), durability: 'none' });
    await call(sctx, a, 'volume.create', { name: 'v', size: o.volumeSize });
  }
  const jopts = { blockadeWatchMs: DAY_MS, overflowWatchMs: DAY_MS };
  const j1 = await call(sctx, 'vp', 'journal.create', { name: 'j1', size: o.journal, ...jopts });
  await call(sctx, 'vs', 'journal.create', { name: 'j2', size: Math.max(o.journal, 64 * 1024 * 1024), ...jopts });
  const latency = Math.round(o.latencyMs / o.speedup);
  await linkAdd(sctx, ['vp', 'vs'], { bandwidth: o.bandwidth * o.speedup, ...(latency > 0 ? { latency: `${latency}ms` } : {}) });
  const params: ParamsOf<'pair.create'> = { pvol: 'vp:v', svol: 'v', pjournal: 'j1', sjournal: 'j2', mode: 'async', group: 'verify', nocopy: true, references: false };
  const pair = await call(sctx, 'vs', 'pair.create', params);
  const t0 = Date.now();
  while ((await call(sctx, 'vs', 'pair.show', { id: pair.id })).state !== 'PAIR') {
    if (Date.now() - t0 > 60_000) throw E.timeout('the scratch pair did not reach PAIR within 60s');
    await sleep(20);
  }
  await call(sctx, 'vs', 'pull.start', { journal: 'j2', intervalMs: o.pullIntervalMs, references: false });
  return j1.capacity;
}

interface Run {
  samples: ReplaySamples;
  /** The median time a write took (from the call to its answer), ms. */
  writeMs: number;
  seconds: number;
  late: { last: number; max: number };
}

/** The writes made at their times on the primary, while the two journals are sampled. */
async function replay(sctx: CliContext, schedule: WriteLog): Promise<Run> {
  const n = schedule.length;
  const seq0 = (await call(sctx, 'vp', 'journal.show', { name: 'j1' })).lastSeq;
  const usage: Array<[number, number]> = [];
  const arrived: Array<[number, number]> = [];
  const restored: Array<[number, number]> = [];
  const took: number[] = [];
  let done = false;
  // each read gives values for `into` (one series each), sampled at the middle of its round trip
  const sampler = (array: string, read: (c: RpcClient) => Promise<number[]>, into: Array<Array<[number, number]>>) =>
    withArray(sctx, array, async (c) => {
      while (!done) {
        const a = performance.now();
        const v = await read(c);
        const b = performance.now();
        into.forEach((series, k) => series.push([(a + b) / 2, v[k]!]));
        took.push(b - a);
        await sleep(5);
      }
    });
  // the master journal's space in use; on the secondary, the last seq in its restore journal (what
  // has arrived: the simulation's lag is the age of the oldest write not yet there) and the
  // restored seq (the journal usage counts a write until then)
  const sampling = Promise.all([
    sampler('vp', async (c) => [(await c.call('journal.show', { name: 'j1' })).result.used], [usage]),
    sampler(
      'vs',
      async (c) => {
        const st = (await c.call('pull.status', { journal: 'j2' })).result;
        return [st.pulledSeq, st.restoredSeq];
      },
      [arrived, restored],
    ),
  ]);
  const made = new Float64Array(n);
  const late = { last: 0, max: 0 };
  const writeMs: number[] = [];
  const t0 = performance.now() + 50;
  try {
    await withArray(sctx, 'vp', (c) => writeAll(c, schedule, t0, made, late, writeMs));
    await sleep(20);
  } finally {
    done = true;
    await sampling;
  }
  const state = (await call(sctx, 'vp', 'pair.list')).find((p) => p.role === 'P')?.state;
  const samples: ReplaySamples = {
    made,
    lengths: schedule.lengths.slice(0, n),
    seq0,
    usage,
    arrived,
    restored,
    overflow: state === 'PFUS',
    resolutionMs: median(took),
  };
  return { samples, writeMs: median(writeMs), seconds: (performance.now() - t0) / 1000, late };
}

/** Each write at t0 + its time, in 4 MiB host writes (one journal record each); `made` gets the middle of the last one's call. */
async function writeAll(c: RpcClient, s: WriteLog, t0: number, made: Float64Array, late: { last: number; max: number }, took: number[]): Promise<void> {
  let most = 0;
  for (let i = 0; i < s.length; i++) most = Math.max(most, s.lengths[i]!);
  const data = randomBytes(Math.min(most, MAX_RECORD_DATA));
  for (let i = 0; i < s.length; i++) {
    const due = t0 + s.times[i]!;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const now = performance.now();
    late.last = Math.max(0, now - due);
    late.max = Math.max(late.max, late.last);
    const len = s.lengths[i]!;
    let sent = now;
    for (let pos = 0; pos < len; pos += MAX_RECORD_DATA) {
      const part = Math.min(MAX_RECORD_DATA, len - pos);
      sent = performance.now();
      await c.call('io.write', { volume: 'v', offset: s.offsets[i]! + pos, sync: false }, { payload: data.subarray(0, part) });
    }
    const answered = performance.now();
    // the last record entered the journal during its call: taken at the call's middle (the answer
    // comes back late by the reply's path, on a loaded machine several ms for a few writes in ten)
    made[i] = (sent + answered) / 2;
    took.push(answered - now);
  }
}
