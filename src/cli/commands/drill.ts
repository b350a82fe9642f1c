/** rcopy drill start|stop|list|show|report: DR drills on the secondary (engine/drill/drills.ts). */
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { livePid } from '../../engine/array/controller-process.js';
import { checkName, formatBytes, formatDuration, parseDuration, parseSize, parseVolRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import { writeOutputFile } from '../paths.js';
import { drillJson, drillReportHtml, drillTable, drillText, summarize, summaryText, type DrillJson } from '../render/drills.js';
import type { Output } from '../render/output.js';
import { arrayNames, call } from './common.js';
import { resolvePairs } from './pair.js';

type Args = Array<string | string[] | undefined>;

export async function start(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const maxSize = opts.maxSize === undefined ? undefined : parseSize(String(opts.maxSize));
  const name = opts.name === undefined ? undefined : checkName('drill', String(opts.name));
  let array: string;
  const params: { volume?: string; group?: string; name?: string; maxSize?: number } = { name, maxSize };
  if (opts.group) {
    const g = checkName('group', String(opts.group));
    array = ref ? checkName('array', String(ref)) : (await resolvePairs(ctx, undefined, g))[0]!.sArray;
    params.group = g;
  } else {
    if (!ref) throw E.usage('name an S-VOL (ARRAY:VOLUME) or give --group NAME', 'e.g. rcopy drill start siteB:db');
    const v = parseVolRef(String(ref));
    existingArrayDir(v.array, ctx.home);
    array = v.array;
    params.volume = v.name;
  }
  const d = drillJson(await call(ctx, array, 'drill.start', params));
  return {
    data: d,
    text: `drill ${d.ref} started on group ${d.group} at seq ${d.seq} (consistency time ${d.consistencyTime ?? 'not known'}, RPO ${d.rpoSeconds === null ? '?' : `${d.rpoSeconds.toFixed(1)}s`}), usable in ${formatDuration(d.usableMs)}: ${d.volumes.join(', ')}`,
  };
}

/** ARRAY:NAME, or a NAME that one running controller has a drill of. */
async function locate(ctx: CliContext, ref: string | undefined): Promise<{ array: string; name: string }> {
  const text = String(ref ?? '');
  const i = text.indexOf(':');
  if (i > 0) {
    existingArrayDir(text.slice(0, i), ctx.home);
    return { array: text.slice(0, i), name: checkName('drill', text.slice(i + 1)) };
  }
  const name = checkName('drill', text);
  for (const a of arrayNames(ctx).filter((x) => livePid(existingArrayDir(x, ctx.home)) !== null)) {
    if ((await call(ctx, a, 'drill.list', {})).some((d) => d.name === name)) return { array: a, name };
  }
  throw E.notFound('drill', name, 'name it as ARRAY:NAME (rcopy drill list)');
}

export async function stop(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const { array, name } = await locate(ctx, ref as string | undefined);
  const result = opts.result === undefined ? undefined : String(opts.result);
  if (result !== undefined && result !== 'pass' && result !== 'fail') throw E.usage(`--result must be pass or fail, not '${result}'`);
  const d = drillJson(await call(ctx, array, 'drill.stop', { name, result: result as 'pass' | 'fail' | undefined, note: opts.note === undefined ? undefined : String(opts.note) }));
  return { data: d, text: `drill ${d.ref} stopped${d.result ? ` (${d.result})` : ''}: ${formatBytes(d.keptBytes)} freed, ${formatBytes(d.bytesWritten)} had been written into the views` };
}

export async function show(ctx: CliContext, [ref]: Args): Promise<Output> {
  const { array, name } = await locate(ctx, ref as string | undefined);
  const d = drillJson(await call(ctx, array, 'drill.show', { name }));
  return { data: d, text: drillText(d) };
}

async function rows(ctx: CliContext, arrayArg: string | undefined, since: number): Promise<DrillJson[]> {
  const arrays = arrayArg ? [arrayArg] : arrayNames(ctx).filter((x) => livePid(existingArrayDir(x, ctx.home)) !== null);
  if (arrayArg) existingArrayDir(arrayArg, ctx.home);
  const out: DrillJson[] = [];
  for (const a of arrays) for (const d of await call(ctx, a, 'drill.list', { since })) out.push(drillJson(d));
  return out.sort((x, y) => x.started.localeCompare(y.started));
}

export async function list(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const list = await rows(ctx, arrayArg as string | undefined, 0);
  return { data: list, table: list.length ? drillTable(list) : undefined, csvFromData: true, text: list.length ? undefined : 'no drills (rcopy drill start ARRAY:SVOL)' };
}

export async function report(ctx: CliContext, [arrayArg]: Args, opts: CommandOpts): Promise<Output> {
  const sinceMs = opts.since === undefined ? null : parseDuration(String(opts.since), { option: '--since', max: 100 * 365 * 86_400_000 });
  const list = await rows(ctx, arrayArg as string | undefined, sinceMs === null ? 0 : Date.now() - sinceMs);
  const s = summarize(list);
  const since = sinceMs === null ? 'in all' : `in the last ${String(opts.since)}`;
  let footer: string | undefined;
  if (opts.html) footer = `report written to ${writeOutputFile(String(opts.html), '--html', drillReportHtml(list, s, since))}`;
  return { data: { summary: s, drills: list }, table: list.length ? drillTable(list) : undefined, text: summaryText(s, since), footer };
}
