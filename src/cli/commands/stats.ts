/**
 * rcopy stats define|list|start|stop|collect|import|report: PB-bit update statistics and link sizing.
 * define/start/stop/collect/import go through the array's controller (the store's only writer);
 * list and report ask the engine, which reads the store read-only, in this process
 * (engine/stats/queries.ts, report/from-store.ts). What they show: ../render/stats-*.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { livePid } from '../../engine/array/controller-process.js';
import type { GroupInfo } from '../../engine/stats/store.js';
import { arrayTrackSize, listGroups } from '../../engine/stats/queries.js';
import { DEFAULT_INTERVAL_MS, configError, parseDataSetSpec, parseStatsConfig } from '../../engine/stats/config.js';
import type { ReportBy, ReportOptions } from '../../engine/stats/report/options.js';
import { TRACE_FORMATS, type TraceFormat } from '../../engine/stats/traces/records.js';
import { MAX_SPAN_MS, checkName, parseDuration, parsePercent, parseRate, parseSize, parseTime } from '../../units.js';
import { checkOutputPath, writeOutputFile } from '../paths.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { collectingText, cutText, definedText, groupJson, groupsOutput } from '../render/stats-groups.js';
import { importText, reasonText, type ImportSummary } from '../render/stats-import.js';
import { chartTitle, reportOutput } from '../render/stats-report.js';
import { need, type Choice } from '../ui.js';
import { progress } from '../render/progress.js';
import { arrayChoices, call, pickArray, withArray } from './common.js';
import { onInterrupt, wasInterrupted } from '../interrupt.js';
import type { ParamsOf } from '../../server/methods.js';

type Args = Array<string | string[] | undefined>;

/** ARRAY:GROUP -> names (checked). */
export function parseGroupRef(ref: string): { array: string; group: string } {
  const i = String(ref).indexOf(':');
  if (i <= 0 || i === ref.length - 1) throw E.usage(`'${ref}' is not ARRAY:GROUP`, 'name a statistics group as ARRAY:GROUP, e.g. siteA:oltp');
  return { array: checkName('array', ref.slice(0, i)), group: checkName('group', ref.slice(i + 1)) };
}

/** The groups of an array, read from its store by the engine (read-only, no controller needed). */
const groupsOf = (ctx: CliContext, array: string): GroupInfo[] => listGroups(existingArrayDir(array, ctx.home));

const volumesOf = async (ctx: CliContext, array: string): Promise<Map<string, number>> => new Map((await call(ctx, array, 'volume.list')).map((v) => [v.name, v.size]));

// ---------------------------------------------------------------- define

export async function define(ctx: CliContext, [refArg]: Args, opts: CommandOpts): Promise<Output> {
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
    const volumes = String(volText)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (volumes.length === 0) throw E.usage('--volumes needs at least one volume', 'e.g. --volumes db,logs');
    for (const v of volumes) checkName('volume', v);
    const intervalMs = opts.interval !== undefined ? parseDuration(opts.interval, { option: '--interval' }) : DEFAULT_INTERVAL_MS;
    if (!(intervalMs >= 100)) throw E.badInput(`invalid --interval '${opts.interval}'`, 'at least 100ms, e.g. 1m');
    const datasets = (opts.dataset ?? []).map((d: string) => parseDataSetSpec(d));
    groups = [{ name: r.group, intervalMs, volumes, datasets }];
  }
  const infos = await call(ctx, array, 'stats.define', { groups });
  return { data: infos.map((g) => groupJson(array, g, false)), text: definedText(array, infos) };
}

// ---------------------------------------------------------------- list

export async function list(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const array = await pickArray(ctx, arrayArg as string | undefined);
  const dir = existingArrayDir(array, ctx.home);
  const up = livePid(dir) !== null;
  return groupsOutput(
    array,
    groupsOf(ctx, array).map((g) => groupJson(array, g, up)),
  );
}

// ---------------------------------------------------------------- start / stop / collect

async function pickGroup(ctx: CliContext, ref: string | undefined): Promise<{ array: string; group: string }> {
  if (ref) {
    const r = parseGroupRef(ref);
    existingArrayDir(r.array, ctx.home);
    return r;
  }
  if (!ctx.interactive) throw E.usage('missing the group (ARRAY:GROUP)', 'give it on the command line, e.g. siteA:oltp (see rcopy stats list ARRAY)');
  const withGroups = async (): Promise<Choice[]> => (await arrayChoices(ctx)).filter((c) => groupsOf(ctx, c.value).length > 0);
  const array = await need(ctx, undefined, { name: 'the array', message: 'Which array?', choices: withGroups });
  const group = await need(ctx, undefined, {
    name: 'the group',
    message: 'Which group?',
    choices: async () => groupsOf(ctx, array).map((g) => ({ name: `${g.name}  (${g.members.length} volumes, ${g.entries} entries)`, value: g.name })),
  });
  return { array, group };
}

export async function start(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const intervalMs = opts.interval !== undefined ? parseDuration(opts.interval, { option: '--interval' }) : undefined;
  const g = await call(ctx, r.array, 'stats.start', { group: r.group, intervalMs });
  return { data: groupJson(r.array, g, true), text: collectingText(r, g) };
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

// long: one flow a user watches: check the input, read it with progress, then report what was imported
export async function importTrace(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const r = await pickGroup(ctx, ref as string | undefined);
  const dir = existingArrayDir(r.array, ctx.home);
  const file = await need(ctx, opts.trace, { name: '--trace FILE', message: 'Trace file:' });
  const format = await need(ctx, opts.traceFormat, {
    name: `--format (${TRACE_FORMATS.join(', ')})`,
    message: 'Trace format:',
    choices: async () => TRACE_FORMATS.map((f) => ({ name: f, value: f })),
  });
  if (!(TRACE_FORMATS as readonly string[]).includes(format)) throw E.usage(`unknown trace format '${format}'`, `use --format ${TRACE_FORMATS.join(', ')}`);
  // the group keeps this interval: a later `stats start` runs a timer with it
  const intervalMs = parseDuration(opts.interval ?? '1m', { option: '--interval' });
  if (!(intervalMs >= 1)) throw E.badInput(`invalid --interval '${opts.interval}'`);
  const trackSize = opts.trackSize !== undefined ? parseSize(opts.trackSize) : arrayTrackSize(dir);
  if (!(trackSize >= 512 && trackSize <= 2 ** 30)) throw E.badSize(String(opts.trackSize), 'a track is from 512 bytes to 1 GiB');
  const deviceSize = opts.deviceSize !== undefined ? parseSize(opts.deviceSize) : undefined;
  if (deviceSize !== undefined && !(deviceSize > 0)) throw E.badSize(String(opts.deviceSize), 'a device has at least one byte');
  const { importTrace: run } = await import('../../engine/stats/traces/import.js');
  const p = await progress(ctx, `reading ${path.basename(file)}`);
  const t0 = performance.now();
  // Ctrl-C / SIGTERM while reading stops the reader: nothing was sent, the collection is as it was
  let stop = false;
  const off = onInterrupt('the trace import', async () => void (stop = true));
  let result;
  try {
    const onProgress = (done: number, total: number): void => {
      if (stop) throw E.aborted('trace import cancelled');
      p.update(done, total);
    };
    result = await run(file, { format: format as TraceFormat, intervalMs, trackSize, deviceSize, strict: !!opts.strict, onProgress });
  } catch (e) {
    if (!wasInterrupted()) throw e;
    return { data: { cancelled: true, array: r.array, group: r.group }, text: `trace import cancelled while reading ${file}; the collection ${r.array}:${r.group} is as it was`, exitCode: 130 };
  } finally {
    off();
    p.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cn = result.counters;
  if (cn.reads + cn.writes === 0) {
    const why =
      cn.malformed > 0
        ? `all ${cn.malformed} non-blank lines are malformed (first: line ${cn.firstMalformed?.line}${reasonText(cn.firstMalformed?.reason)}: '${cn.firstMalformed?.text}')`
        : 'it has no read or write records';
    throw E.badTrace(`nothing to import from '${file}': ${why}`, `check that it is a ${format} trace (--format ${TRACE_FORMATS.join(', ')})`);
  }
  const encoded = result.entries;
  const payload = Buffer.concat(encoded.map((e) => e.data));
  const g = await storeImport(
    ctx,
    r,
    {
      group: r.group,
      intervalMs,
      members: result.devices.map((d) => ({ volume: d.name, tracks: d.tracks, trackSize: d.trackSize })),
      entries: encoded.map((e) => ({
        start: Math.floor(e.start),
        end: Math.ceil(e.end),
        volume: e.volume,
        tracks: e.tracks,
        trackSize: e.trackSize,
        count: e.count,
        writes: e.writes,
        writeBytes: e.writeBytes,
        enc: e.enc,
        length: e.data.length,
      })),
    },
    payload,
  );
  if (!('entries' in g)) return g;
  const data: ImportSummary & Record<string, unknown> = {
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
  return { data, text: await importText(ctx, data) };
}

/** The group's entries now (null: no such group yet). */
async function entriesOf(ctx: CliContext, r: { array: string; group: string }): Promise<number | null> {
  return call(ctx, r.array, 'stats.status', { group: r.group }).then(
    (g) => g.entries,
    () => null,
  );
}

/**
 * Sends the imported entries (one transaction in the controller). Ctrl-C / SIGTERM meanwhile closes
 * the connection, which the controller checks before it commits; what happened is then read back.
 */
async function storeImport(ctx: CliContext, r: { array: string; group: string }, params: Record<string, unknown>, payload: Buffer): Promise<GroupInfo | Output> {
  const before = await entriesOf(ctx, r);
  try {
    return await withArray(ctx, r.array, async (c) => {
      const off = onInterrupt('the trace import', async () => c.close());
      try {
        return (await c.call('stats.import', params as ParamsOf<'stats.import'>, { payload })).result;
      } finally {
        off();
      }
    });
  } catch (e) {
    if (!wasInterrupted()) throw e;
    const after = await entriesOf(ctx, r);
    const text =
      after === before
        ? `trace import cancelled; the collection ${r.array}:${r.group} is as it was (${before ?? 0} entries)`
        : `interrupted too late: the import was stored already (${r.array}:${r.group} has ${after} entries)`;
    return { data: { cancelled: after === before, array: r.array, group: r.group, groupEntries: after }, text, exitCode: 130 };
  }
}

// ---------------------------------------------------------------- report

/** The report runs in this process, on a read-only connection to the store (see reportOfArrayGroup). */
export async function report(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
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
  const { reportOfArrayGroup } = await import('../../engine/stats/report/from-store.js');
  const t0 = performance.now();
  const step = opts.slide !== undefined ? `--slide ${opts.slide}` : `--window ${opts.window}`;
  const rep = await reportOfArrayGroup(existingArrayDir(r.array, ctx.home), r.array, r.group, ropts, step);
  const seconds = (performance.now() - t0) / 1000;
  let chart: string | null = null;
  if (opts.chart) {
    const title = chartTitle(r, rep);
    const { chartSvg } = await import('../render/chart.js');
    const { reportHtml } = await import('../render/report-html.js');
    const page = /\.html?$/i.test(String(opts.chart));
    chart = writeOutputFile(opts.chart, '--chart', page ? reportHtml(rep, title, { link: ropts.bandwidth, resyncTimeMs: ropts.resyncTimeMs }) : chartSvg(rep, { title, link: ropts.bandwidth }));
  }
  const data = { array: r.array, group: r.group, ...rep, chart, seconds: Math.round(seconds * 1000) / 1000 };
  return reportOutput(ctx, r, rep, ropts, chart, data, !!opts.summary);
}
