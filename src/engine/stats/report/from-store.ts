/**
 * The bandwidth report over a group's entries in a stats store (`rcopy stats report`): small
 * reports in one pass here, large ones volume by volume on several threads (worker.ts), their parts
 * summed by mergeParts (merge.ts).
 */
import { availableParallelism } from 'node:os';
import { E, RcopyError, type RcopyErrorJSON } from '../../../errors.js';
import { buildReport } from './build.js';
import { mergeParts } from './merge.js';
import { checkOpts, type ReportEntry, type ReportOptions } from './options.js';
import type { Report, ReportPart } from './result.js';
import { StatsStore } from '../store.js';

/** Below this many entries a report is one pass over the entries, in this thread. */
const PARALLEL_MIN_ENTRIES = 20_000;

/** The most windows a report places (a year of one-minute windows is 525,600). */
export const MAX_REPORT_WINDOWS = 1_000_000;

/**
 * The report of ARRAY:GROUP from the store of the array in arrayDir, on a read-only connection:
 * with the group's data sets, after checking how many windows it places. `step` names the window
 * step as the user gave it (`--slide 1m`), for the error when there are too many.
 * It runs in the caller's process, not in the controller: the entries need not cross the socket (a
 * week of entries is gigabytes of bitmaps once decoded), a report of several seconds does not stall
 * the controller's event loop and with it every host write, and no controller has to be started (a
 * cron job reads an idle array as it is).
 */
export async function reportOfArrayGroup(arrayDir: string, array: string, group: string, opts: ReportOptions, step: string): Promise<Report> {
  const s = StatsStore.openReadOnly(arrayDir);
  try {
    const g = s.needDefinition(array, group);
    if (opts.by === 'dataset' && g.datasets.length === 0)
      throw E.usage(`group '${array}:${group}' has no data sets`, `define some: rcopy stats define ${array}:${group} --volumes ... --dataset NAME=VOL:START-END`);
    const o: ReportOptions = { ...opts, datasets: g.datasets };
    checkWindowCount(
      s.groups().find((x) => x.name === group),
      o,
      step,
    );
    return await reportFromStore(s, array, group, o);
  } finally {
    s.close();
  }
}

const when = (ms: number): string => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`);

/** Refuses a window, slide or time range that would place more than MAX_REPORT_WINDOWS windows. */
function checkWindowCount(g: { from: number | null; to: number | null } | undefined, ropts: ReportOptions, step: string): void {
  const from = ropts.fromMs ?? g?.from ?? null;
  const to = ropts.toMs ?? g?.to ?? null;
  if (from === null || to === null || !(to > from)) return;
  const n = Math.ceil((to - from) / (ropts.slideMs ?? ropts.windowMs));
  if (n <= MAX_REPORT_WINDOWS) return;
  throw E.outOfRange(
    `${step} places ${n.toLocaleString('en')} windows from ${when(from)} to ${when(to)}: at most ${MAX_REPORT_WINDOWS.toLocaleString('en')} (use a longer window or slide, or --from/--to)`,
  );
}

/**
 * The report over a group's entries in a store: what `rcopy stats report` runs, on read-only
 * connections. Data sets and volume sizes come from the store; entries are ORed into window bitmaps
 * from their stored form (never decoded to dense bitmaps).
 * Large reports are built volume by volume: tracks of different volumes are distinct, so every figure
 * of a report is a sum over volumes. Each volume's entries are read through the by-volume index and
 * built over the frame of the whole report (its first window start and its end), so its bitmaps stay
 * in cache; the volumes are dealt out to this thread and up to `threads` - 1 workers
 * (worker.ts, each with its own connection) and the parts are summed window by window
 * (mergeParts). The result equals the one-pass report (test/engine/stats/report/from-store.test.ts).
 */
export async function reportFromStore(s: StatsStore, array: string, group: string, opts: ReportOptions, how: { threads?: number; minEntries?: number } = {}): Promise<Report> {
  const g = s.needDefinition(array, group);
  const spans = s.volumeSpans(group, { fromMs: opts.fromMs, toMs: opts.toMs });
  const o: ReportOptions = { ...opts, datasets: opts.datasets ?? g.datasets, volumeTracks: new Map([...spans].map(([v, x]) => [v, x.tracks])) };
  const vols = [...spans].filter(([, x]) => x.entries > 0);
  const entries = vols.reduce((n, [, x]) => n + x.entries, 0);
  if (entries < (how.minEntries ?? PARALLEL_MIN_ENTRIES) || vols.length === 0) return reportPart(s, group, o).report;
  checkOpts(o);
  const frame: ReportOptions = { ...o, fromMs: o.fromMs ?? Math.min(...vols.map(([, x]) => x.from!)), toMs: o.toMs ?? Math.max(...vols.map(([, x]) => x.to!)) };
  const perVolume = s.byVolumeIndex;
  const threads = Math.max(1, Math.min(how.threads ?? availableParallelism(), vols.length, 8));
  // deal the volumes out by entry count, largest first, each to the least loaded thread
  const shares = Array.from({ length: threads }, () => ({ volumes: [] as string[], load: 0 }));
  for (const [v, x] of [...vols].sort((p, q) => q[1].entries - p[1].entries || (p[0] < q[0] ? -1 : 1))) {
    const sh = shares.reduce((p, q) => (q.load < p.load ? q : p));
    sh.volumes.push(v);
    sh.load += x.entries;
  }
  const { Worker } = threads > 1 ? await import('node:worker_threads') : { Worker: null };
  const workers = shares.slice(1).map(({ volumes }) => {
    const w = new Worker!(new URL('./worker.js', import.meta.url), { workerData: { file: s.file, group, opts: frame, volumes, perVolume } });
    const parts = new Promise<ReportPart[] | null>((resolve, reject) => {
      w.once('message', (m: { parts?: ReportPart[]; error?: RcopyErrorJSON }) => (m.error ? reject(RcopyError.fromJSON(m.error)) : resolve(m.parts ?? null)));
      w.once('error', () => resolve(null)); // could not run: its share is done here instead
      w.once('exit', () => resolve(null));
    });
    return { parts, volumes };
  });
  const parts = reportShare(s, group, frame, shares[0]!.volumes, perVolume);
  for (const w of workers) parts.push(...((await w.parts) ?? reportShare(s, group, frame, w.volumes, perVolume)));
  return mergeParts(parts, frame);
}

/** The parts of some volumes: one per volume (through the by-volume index), or one for them all. */
export function reportShare(s: StatsStore, group: string, frame: ReportOptions, volumes: string[], perVolume: boolean): ReportPart[] {
  return perVolume ? volumes.map((v) => reportPart(s, group, frame, [v])) : [reportPart(s, group, frame, volumes)];
}

export function reportPart(s: StatsStore, group: string, opts: ReportOptions, volumes?: string[]): ReportPart {
  const first = new Map<string, [number, number]>();
  function* rows(): Generator<ReportEntry> {
    for (const e of s.reportEntries(group, { fromMs: opts.fromMs, toMs: opts.toMs, volumes })) {
      const f = first.get(e.volume);
      if (!f) first.set(e.volume, [e.start, e.id]);
      else if (f[0] === e.start && e.id < f[1]) f[1] = e.id;
      yield e;
    }
  }
  return { report: buildReport(rows(), opts), first };
}
