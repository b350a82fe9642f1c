/**
 * rcopy stats define|list|start|stop|collect|import|report: PB-bit update statistics and link sizing.
 * define/start/stop/collect/import go through the array's controller (the store's only writer);
 * list and report read the store directly and read-only, in this process (see report()).
 */
import fs from 'node:fs';
import path from 'node:path';
import { E, RcopyError } from '../../errors.js';
import { existingArrayDir, livePid } from '../../engine/home.js';
import { peekArray } from '../../engine/array.js';
import { StatsStore, type GroupInfo } from '../../engine/stats/store.js';
import { DEFAULT_INTERVAL_MS, configError, parseDataSetSpec, parseStatsConfig } from '../../engine/stats/config.js';
import type { ReportBy, ReportOptions } from '../../engine/stats/report/options.js';
import type { Report } from '../../engine/stats/report/result.js';
import { MAX_SPAN_MS, checkName, formatBytes, formatDuration, formatRate, parseDuration, parsePercent, parseRate, parseSize, parseTime } from '../../units.js';
import { checkOutputPath, writeOutputFile } from '../paths.js';
import type { CliContext } from '../context.js';
import type { Cell, Output } from '../output.js';
import { colors, need, progress, type Choice } from '../ui.js';
import { arrayChoices, call, iso, pickArray } from './common.js';

type Args = Array<string | string[] | undefined>;
const TRACE_FORMATS = ['msr', 'blkparse', 'spc', 'fioiolog'] as const;

/** ARRAY:GROUP -> names (checked). */
export function parseGroupRef(ref: string): { array: string; group: string } {
  const i = String(ref).indexOf(':');
  if (i <= 0 || i === ref.length - 1) throw E.usage(`'${ref}' is not ARRAY:GROUP`, 'name a statistics group as ARRAY:GROUP, e.g. siteA:oltp');
  return { array: checkName('array', ref.slice(0, i)), group: checkName('group', ref.slice(i + 1)) };
}

function withStore<T>(ctx: CliContext, array: string, fn: (s: StatsStore) => T): T {
  const s = StatsStore.openReadOnly(existingArrayDir(array, ctx.home));
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function durationText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const volumesOf = async (ctx: CliContext, array: string): Promise<Map<string, number>> =>
  new Map((await call<Array<{ name: string; size: number }>>(ctx, array, 'volume.list')).map((v) => [v.name, v.size]));

// ---------------------------------------------------------------- define

export async function define(ctx: CliContext, [refArg]: Args, opts: Record<string, any>): Promise<Output> {
  const ref = refArg as string | undefined;
  let groups;
  let array: string;
  if (opts.config !== undefined) {
    if (opts.volumes !== undefined || (opts.dataset ?? []).length > 0) throw E.usage('give either --config or --volumes/--dataset, not both');
    array = await pickArray(ctx, ref?.replace(/:$/, ''));
    if (array.includes(':')) throw E.usage('with --config, name only the array: rcopy stats define ARRAY --config FILE.yaml');
    let text: string;
    try {
      text = fs.readFileSync(opts.config, 'utf8');
    } catch (e) {
      throw configError(opts.config, null, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    groups = await parseStatsConfig(text, opts.config, await volumesOf(ctx, array));
  } else {
    const r = parseGroupRef(await need(ctx, ref, { name: 'the group (ARRAY:GROUP)', message: 'Group (ARRAY:GROUP):' }));
    array = r.array;
    existingArrayDir(array, ctx.home);
    const volText = await need(ctx, opts.volumes, { name: '--volumes', message: 'Volumes (comma separated):' });
    const volumes = String(volText).split(',').map((s) => s.trim()).filter(Boolean);
    if (volumes.length === 0) throw E.usage('--volumes needs at least one volume', 'e.g. --volumes db,logs');
    for (const v of volumes) checkName('volume', v);
    const intervalMs = opts.interval !== undefined ? parseDuration(opts.interval, { option: '--interval' }) : DEFAULT_INTERVAL_MS;
    if (!(intervalMs >= 100)) throw E.badInput(`invalid --interval '${opts.interval}'`, 'at least 100ms, e.g. 1m');
    const datasets = (opts.dataset ?? []).map((d: string) => parseDataSetSpec(d));
    groups = [{ name: r.group, intervalMs, volumes, datasets }];
  }
  const infos = await call<GroupInfo[]>(ctx, array, 'stats.define', { groups });
  return {
    data: infos.map((g) => groupJson(array, g, false)),
    text: infos.map((g) => `defined ${array}:${g.name}: volumes ${g.members.filter((m) => !m.external).map((m) => m.volume).join(', ')}${g.datasets.length ? `; data sets ${g.datasets.map((d) => d.name).join(', ')}` : ''}; interval ${durationText(g.intervalMs)}`).join('\n'),
  };
}

// ---------------------------------------------------------------- list

function groupJson(array: string, g: GroupInfo, controllerUp: boolean) {
  return {
    array,
    group: g.name,
    volumes: g.members.filter((m) => !m.external).map((m) => m.volume),
    traceDevices: g.members.filter((m) => m.external).map((m) => ({ name: m.volume, tracks: m.tracks, trackSize: m.trackSize })),
    datasets: g.datasets,
    intervalMs: g.intervalMs,
    interval: durationText(g.intervalMs),
    running: g.running && controllerUp,
    /** Marked running in the store: resumes when the controller starts. */
    enabled: g.running,
    since: g.since,
    intervalStart: g.intervalStart,
    lastCollect: g.lastCollect,
    entries: g.entries,
    from: g.from,
    to: g.to,
    storedBytes: g.storedBytes,
  };
}

export async function list(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const array = await pickArray(ctx, arrayArg as string | undefined);
  const dir = existingArrayDir(array, ctx.home);
  const up = livePid(dir) !== null;
  const rows = withStore(ctx, array, (s) => s.groups()).map((g) => groupJson(array, g, up));
  return {
    data: rows,
    table: {
      head: ['group', 'volumes', 'data sets', 'interval', 'collection', 'entries', 'span', 'stored'],
      rows: rows.map((r) => [
        r.group,
        [...r.volumes, ...r.traceDevices.map((d) => `${d.name} (trace)`)].join(', '),
        r.datasets.map((d) => `${d.name}=${d.volume}:${formatBytes(d.startByte)}-${formatBytes(d.endByte)}`).join(', '),
        r.interval,
        r.running ? `running since ${iso(r.since)}` : r.enabled ? 'resumes when the controller starts' : 'stopped',
        r.entries,
        r.from !== null ? `${iso(r.from)} .. ${iso(r.to)}` : '',
        formatBytes(r.storedBytes),
      ]),
    },
    text: rows.length ? undefined : `no statistics groups on ${array} (define one with: rcopy stats define ${array}:GROUP --volumes VOL1,VOL2)`,
  };
}

// ---------------------------------------------------------------- start / stop / collect

async function pickGroup(ctx: CliContext, ref: string | undefined): Promise<{ array: string; group: string }> {
  if (ref) {
    const r = parseGroupRef(ref);
    existingArrayDir(r.array, ctx.home);
    return r;
  }
  if (!ctx.interactive) throw E.usage('missing the group (ARRAY:GROUP)', 'give it on the command line, e.g. siteA:oltp (see rcopy stats list ARRAY)');
  const withGroups = async (): Promise<Choice[]> =>
    (await arrayChoices(ctx)).filter((c) => withStore(ctx, c.value, (s) => s.groups().length > 0));
  const array = await need(ctx, undefined, { name: 'the array', message: 'Which array?', choices: withGroups });
  const group = await need(ctx, undefined, {
    name: 'the group',
    message: 'Which group?',
    choices: async () => withStore(ctx, array, (s) => s.groups()).map((g) => ({ name: `${g.name}  (${g.members.length} volumes, ${g.entries} entries)`, value: g.name })),
  });
  return { array, group };
}

export async function start(ctx: CliContext, [ref]: Args, opts: Record<string, any>): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const intervalMs = opts.interval !== undefined ? parseDuration(opts.interval, { option: '--interval' }) : undefined;
  const g = await call<GroupInfo>(ctx, r.array, 'stats.start', { group: r.group, intervalMs });
  return { data: groupJson(r.array, g, true), text: `collecting ${r.array}:${r.group} (${g.members.filter((m) => !m.external).map((m) => m.volume).join(', ')}) every ${durationText(g.intervalMs)}` };
}

function cutText(verb: string, ref: string, c: { start: number; end: number; entries: number; changedTracks: number; writes: number; writeBytes: number }): string {
  if (c.entries === 0) return `${verb} ${ref}: nothing to store (the interval had just started)`;
  return `${verb} ${ref}: stored ${c.entries} entr${c.entries === 1 ? 'y' : 'ies'} for ${iso(c.start)} .. ${iso(c.end)}: ${c.changedTracks} tracks changed by ${c.writes} writes (${formatBytes(c.writeBytes)})`;
}

export async function stop(ctx: CliContext, [ref]: Args): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const c = await call(ctx, r.array, 'stats.stop', { group: r.group });
  return { data: c, text: cutText('stopped', `${r.array}:${r.group}`, c) };
}

export async function collect(ctx: CliContext, [ref]: Args): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const c = await call(ctx, r.array, 'stats.collect', { group: r.group });
  return { data: c, text: cutText('collected', `${r.array}:${r.group}`, c) };
}

// ---------------------------------------------------------------- import

export async function importTrace(ctx: CliContext, [ref]: Args, opts: Record<string, any>): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const dir = existingArrayDir(r.array, ctx.home);
  const file = await need(ctx, opts.trace, { name: '--trace FILE', message: 'Trace file:' });
  const format = await need(ctx, opts.traceFormat, { name: '--format (msr, blkparse, spc or fioiolog)', message: 'Trace format:', choices: async () => TRACE_FORMATS.map((f) => ({ name: f, value: f })) });
  if (!(TRACE_FORMATS as readonly string[]).includes(format)) throw E.usage(`unknown trace format '${format}'`, 'use --format msr, blkparse, spc or fioiolog');
  // the group keeps this interval: a later `stats start` runs a timer with it
  const intervalMs = parseDuration(opts.interval ?? '1m', { option: '--interval' });
  if (!(intervalMs >= 1)) throw E.badInput(`invalid --interval '${opts.interval}'`);
  const trackSize = opts.trackSize !== undefined ? parseSize(opts.trackSize) : peekArray(dir).trackSize;
  if (!(trackSize >= 512 && trackSize <= 2 ** 30)) throw E.badSize(String(opts.trackSize), 'a track is from 512 bytes to 1 GiB');
  const deviceSize = opts.deviceSize !== undefined ? parseSize(opts.deviceSize) : undefined;
  if (deviceSize !== undefined && !(deviceSize > 0)) throw E.badSize(String(opts.deviceSize), 'a device has at least one byte');
  const { importTrace: run } = await import('../../engine/stats/traces/import.js');
  const p = await progress(ctx, `reading ${path.basename(file)}`);
  const t0 = performance.now();
  let result;
  try {
    result = await run(file, { format: format as (typeof TRACE_FORMATS)[number], intervalMs, trackSize, deviceSize, strict: !!opts.strict, onProgress: (done, total) => p.update(done, total) });
  } finally {
    p.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cn = result.counters;
  if (cn.reads + cn.writes === 0) {
    const why = cn.malformed > 0 ? `all ${cn.malformed} non-blank lines are malformed (first: line ${cn.firstMalformed?.line}${reasonText(cn.firstMalformed?.reason)}: '${cn.firstMalformed?.text}')` : 'it has no read or write records';
    throw new RcopyError('ERR_RCOPY_BAD_TRACE', `nothing to import from '${file}': ${why}`, { kind: 'integrity', hint: `check that it is a ${format} trace (--format msr, blkparse, spc or fioiolog)` });
  }
  const encoded = result.entries;
  const payload = Buffer.concat(encoded.map((e) => e.data));
  const g = await call<GroupInfo>(ctx, r.array, 'stats.import', {
    group: r.group,
    intervalMs,
    members: result.devices.map((d) => ({ volume: d.name, tracks: d.tracks, trackSize: d.trackSize })),
    entries: encoded.map((e) => ({ start: Math.floor(e.start), end: Math.ceil(e.end), volume: e.volume, tracks: e.tracks, trackSize: e.trackSize, count: e.count, writes: e.writes, writeBytes: e.writeBytes, enc: e.enc, length: e.data.length })),
  }, { payload });
  const data = {
    array: r.array,
    group: r.group,
    trace: file,
    format,
    gzip: result.gzip,
    lines: cn.lines,
    writes: cn.writes,
    reads: cn.reads,
    other: cn.other,
    malformed: cn.malformed,
    firstMalformed: cn.firstMalformed ?? null,
    outOfOrder: cn.outOfOrder,
    devices: result.devices,
    entries: encoded.length,
    storedBytes: payload.length,
    from: result.entries.length ? result.entries[0]!.start : null,
    to: result.entries.length ? result.entries.reduce((m, e) => Math.max(m, e.end), -Infinity) : null,
    intervalMs,
    trackSize,
    seconds: Math.round(seconds * 1000) / 1000,
    linesPerSecond: Math.round(cn.lines / Math.max(seconds, 1e-6)),
    groupEntries: g.entries,
  };
  const c = await colors(ctx);
  const lines = [
    `imported ${file}${result.gzip ? ' (gzip)' : ''} into ${r.array}:${r.group}: ${cn.lines.toLocaleString('en')} lines, ${cn.writes.toLocaleString('en')} writes, ${cn.reads.toLocaleString('en')} reads, ${cn.other.toLocaleString('en')} other, ${cn.malformed.toLocaleString('en')} malformed`,
    `  devices: ${result.devices.map((d) => `${d.name} (${d.tracks} tracks)`).join(', ')}`,
    `  ${encoded.length} entries of ${durationText(intervalMs)}, ${formatBytes(trackSize)} tracks, ${formatBytes(payload.length)} stored; ${Math.round(data.linesPerSecond).toLocaleString('en')} lines/s`,
  ];
  if (cn.malformed > 0) lines.push(c.warn(`  first malformed line ${cn.firstMalformed?.line}${reasonText(cn.firstMalformed?.reason)}: '${cn.firstMalformed?.text}' (use --strict to refuse the trace)`));
  if (cn.outOfOrder > 0) lines.push(`  ${cn.outOfOrder} records earlier than their interval were counted in it`);
  return { data, text: lines.join('\n') };
}

const reasonText = (reason: string | undefined): string => (reason ? ` (${reason})` : '');

// ---------------------------------------------------------------- report

/**
 * The report runs here, on a read-only connection to the store, not in the controller: the entries
 * need not cross the socket (a week of entries is gigabytes of bitmaps once decoded), a report of
 * several seconds does not stall the controller's event loop and with it every host write, and no
 * controller has to be started (a cron job reads an idle array as it is).
 */
export async function report(ctx: CliContext, [ref]: Args, opts: Record<string, any>): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const windowText = await need(ctx, opts.window, { name: '--window', message: 'Window (e.g. 10m, 1h):', default: '10m' });
  const by = (opts.by ?? 'controller') as ReportBy;
  if (!['controller', 'volume', 'dataset'].includes(by)) throw E.usage(`unknown --by '${opts.by}'`, 'use controller, volume or dataset');
  // report spans are no timers: up to MAX_SPAN_MS
  const ropts: ReportOptions = { windowMs: parseDuration(windowText, { option: '--window', max: MAX_SPAN_MS }), by };
  if (opts.slide !== undefined) ropts.slideMs = parseDuration(opts.slide, { option: '--slide', max: MAX_SPAN_MS });
  if (opts.from !== undefined) ropts.fromMs = parseTime(opts.from);
  if (opts.to !== undefined) ropts.toMs = parseTime(opts.to);
  if (opts.resyncTime !== undefined) ropts.resyncTimeMs = parseDuration(opts.resyncTime, { option: '--resync-time', max: MAX_SPAN_MS });
  if (opts.chart) checkOutputPath(opts.chart, '--chart');
  if (opts.bandwidth !== undefined) ropts.bandwidth = parseRate(opts.bandwidth);
  if (opts.pathSpeed !== undefined) ropts.pathSpeed = parseRate(opts.pathSpeed);
  if (opts.overhead !== undefined) ropts.overhead = parsePercent(opts.overhead);
  const { reportFromStore } = await import('../../engine/stats/report/from-store.js');
  const t0 = performance.now();
  const s = StatsStore.openReadOnly(existingArrayDir(r.array, ctx.home));
  let rep: Report;
  try {
    const g = s.needDefinition(r.array, r.group);
    if (by === 'dataset' && g.datasets.length === 0) throw E.usage(`group '${r.array}:${r.group}' has no data sets`, `define some: rcopy stats define ${r.array}:${r.group} --volumes ... --dataset NAME=VOL:START-END`);
    ropts.datasets = g.datasets;
    checkWindowCount(s.groups().find((x) => x.name === r.group), ropts, opts);
    rep = await reportFromStore(s, r.array, r.group, ropts);
  } finally {
    s.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  let chart: string | null = null;
  if (opts.chart) {
    const { chartSvg } = await import('../render/chart.js');
    chart = writeOutputFile(opts.chart, '--chart', chartSvg(rep, { title: `${r.array}:${r.group}: replication bandwidth per ${durationText(rep.windowMs)} window` }));
  }
  const data = { array: r.array, group: r.group, ...rep, chart, seconds: Math.round(seconds * 1000) / 1000 };
  if (ctx.format === 'csv') return { data, table: csvTable(rep) };
  if (ctx.format !== 'table') return { data };
  if (rep.windows.length > MAX_TABLE_WINDOWS) {
    const note = `(${rep.windows.length.toLocaleString('en')} windows: more than a table shows; --format csv or --json lists each one)`;
    return { data, text: `${note}\n${await summaryText(ctx, r, rep, ropts, chart)}` };
  }
  return { data, table: windowTable(rep), text: await summaryText(ctx, r, rep, ropts, chart) };
}

/** The most windows a report places (a year of one-minute windows is 525,600). */
export const MAX_REPORT_WINDOWS = 1_000_000;
/** The most windows printed as a table (one row each); beyond, the summary and chart only. */
const MAX_TABLE_WINDOWS = 10_000;

const when = (ms: number): string => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`);

/** Refuses a window, slide or time range that would place more than MAX_REPORT_WINDOWS windows. */
function checkWindowCount(g: { from: number | null; to: number | null } | undefined, ropts: ReportOptions, opts: Record<string, any>): void {
  const from = ropts.fromMs ?? g?.from ?? null;
  const to = ropts.toMs ?? g?.to ?? null;
  if (from === null || to === null || !(to > from)) return;
  const step = ropts.slideMs ?? ropts.windowMs;
  const n = Math.ceil((to - from) / step);
  if (n <= MAX_REPORT_WINDOWS) return;
  const what = opts.slide !== undefined ? `--slide ${opts.slide}` : `--window ${opts.window}`;
  throw E.outOfRange(`${what} places ${n.toLocaleString('en')} windows from ${when(from)} to ${when(to)}: at most ${MAX_REPORT_WINDOWS.toLocaleString('en')} (use a longer window or slide, or --from/--to)`);
}

const mb = (n: number) => Math.round(n);

function csvTable(rep: Report): Output['table'] {
  const head = ['group', 'start', 'end', 'changedTracks', 'changedBytes', 'writes', 'writeBytes', 'bandwidth', 'naiveBandwidth'];
  const rows: Cell[][] = [];
  const add = (name: string, ws: Report['windows']) => {
    for (const w of ws) rows.push([name, w.startIso, w.endIso, w.changedTracks, w.changedBytes, w.writes, w.writeBytes, mb(w.bandwidth), mb(w.naiveBandwidth)]);
  };
  add(rep.by === 'controller' ? 'all' : `all (${rep.by === 'dataset' ? 'OR of data sets' : 'all volumes'})`, rep.windows);
  for (const g of rep.groups) add(g.name, g.windows);
  return { head, rows };
}

function windowTable(rep: Report): Output['table'] {
  const peak = rep.summary.peak;
  return {
    head: ['window start', 'end', 'changed tracks', 'changed', 'bandwidth', 'writes', 'written', 'naive rate'],
    rows: rep.windows.map((w) => [
      w.startIso.replace('T', ' ').replace(/\.000Z$/, 'Z'),
      w.endIso.replace('T', ' ').replace(/\.000Z$/, 'Z'),
      w.changedTracks,
      formatBytes(w.changedBytes),
      `${formatRate(w.bandwidth)}${peak && w.start === peak.start ? ' (peak)' : ''}`,
      w.writes,
      formatBytes(w.writeBytes),
      formatRate(w.naiveBandwidth),
    ]),
  };
}

async function summaryText(ctx: CliContext, r: { array: string; group: string }, rep: Report, ropts: ReportOptions, chart: string | null): Promise<string> {
  const c = await colors(ctx);
  const s = rep.summary;
  const lines: string[] = [];
  if (rep.from === null) return `no entries in ${r.array}:${r.group}${s.windows ? '' : ' for this time range'} (collect with rcopy stats start / collect, or import a trace)`;
  lines.push('');
  lines.push(c.bold(`${r.array}:${r.group}: ${s.windows} windows of ${durationText(rep.windowMs)}${rep.slideMs !== rep.windowMs ? ` every ${durationText(rep.slideMs)}` : ''} from ${iso(rep.from)} to ${iso(rep.to)}${rep.overhead ? `, ${Math.round(rep.overhead * 100)}% overhead` : ''}`));
  if (s.peak) lines.push(`  peak       ${formatRate(s.peak.bandwidth)} (${s.peak.changedTracks} tracks, ${formatBytes(s.peak.changedBytes)} in the window from ${s.peak.startIso})`);
  lines.push(`  95th pct   ${formatRate(s.p95Bandwidth)}    mean ${formatRate(s.meanBandwidth)}`);
  lines.push(`  naive      peak ${formatRate(s.naivePeakBandwidth)}, 95th pct ${formatRate(s.naiveP95Bandwidth)}, mean ${formatRate(s.naiveMeanBandwidth)} (every byte written)`);
  if (s.naivePeakBandwidth > 0 && s.peak) {
    const pct = Math.round((1 - s.peak.bandwidth / s.naivePeakBandwidth) * 100);
    if (pct >= 0) lines.push(c.ok(`  saving     counting each track once needs ${pct}% less than the naive peak`));
    else lines.push(c.warn(`  no saving  whole tracks ship: ${-pct}% more than the bytes written (writes smaller than a track)`));
  }
  lines.push(`  distinct   ${s.distinctTracks} tracks (${formatBytes(s.distinctBytes)}) changed over the whole span by ${s.writes} writes (${formatBytes(s.writeBytes)})`);
  if (s.requiredBandwidth !== undefined) lines.push(c.bold(`  required   ${formatRate(s.requiredBandwidth)}${ropts.resyncTimeMs !== undefined ? ` to resynchronise the peak window's changes in ${formatDuration(ropts.resyncTimeMs)}` : ' (the peak bandwidth)'}`));
  if (s.paths !== undefined) lines.push(c.bold(`  paths      ${s.paths} parallel path${s.paths === 1 ? '' : 's'}`));
  if (s.resyncSeconds !== undefined) lines.push(c.bold(`  resync     ${formatDuration(s.resyncSeconds * 1000)} for the peak window's changes at the given bandwidth`));
  for (const g of rep.groups) {
    lines.push(`  ${g.kind === 'volume' ? 'volume' : 'data set'} ${g.name}: peak ${formatRate(g.summary.peak?.bandwidth ?? 0)}, 95th pct ${formatRate(g.summary.p95Bandwidth)}, ${g.summary.distinctTracks} distinct tracks${g.writesScope === 'volume' ? ' (writes counted for the whole volume)' : ''}`);
  }
  lines.push('');
  const { chartText } = await import('../render/chart.js');
  lines.push(chartText(rep, Math.min(process.stdout.columns ?? 100, 120)).trimEnd());
  if (chart) lines.push(`\nchart written to ${chart}`);
  return lines.join('\n');
}
