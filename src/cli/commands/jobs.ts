/** rcopy jobs [ARRAY], rcopy jobs stop ARRAY:ID, rcopy workload stop [ARRAY]: work running in controllers. */
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { livePid } from '../../engine/array/controller-process.js';
import type { JobView } from '../../server/jobs.js';
import type { CliContext, CommandOpts } from '../context.js';
import { iso, type Output } from '../render/output.js';
import { arrayNames, call } from './common.js';
import { formatDuration } from '../../units.js';

type Args = Array<string | string[] | undefined>;
type Row = JobView & { array: string; ref: string };

/** The arrays to look at: one named, or every array whose controller runs (a stopped one runs nothing). */
function running(ctx: CliContext, arrayArg: string | undefined): string[] {
  if (arrayArg) {
    existingArrayDir(arrayArg, ctx.home);
    return [arrayArg];
  }
  return arrayNames(ctx).filter((a) => livePid(existingArrayDir(a, ctx.home)) !== null);
}

async function jobsOf(ctx: CliContext, arrays: string[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const a of arrays) for (const j of await call(ctx, a, 'jobs.list')) out.push({ ...j, array: a, ref: `${a}:${j.id}` });
  return out;
}

export async function list(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const rows = await jobsOf(ctx, running(ctx, arrayArg as string | undefined));
  const now = Date.now();
  return {
    data: rows.map((r) => ({ id: r.ref, array: r.array, kind: r.kind, what: r.what, started: iso(r.started), stopping: r.stopping })),
    table:
      rows.length === 0
        ? undefined
        : { head: ['id', 'kind', 'what', 'running for', 'state'], rows: rows.map((r) => [r.ref, r.kind, r.what, formatDuration(now - r.started), r.stopping ? 'stopping' : 'running']) },
    text: rows.length ? undefined : 'no jobs running',
  };
}

export async function stop(ctx: CliContext, [ref]: Args): Promise<Output> {
  const m = /^([^:]+):(\d+)$/.exec(String(ref ?? ''));
  if (!m) throw E.usage(`invalid job '${ref ?? ''}'`, "name a job as ARRAY:ID, as 'rcopy jobs' lists them");
  existingArrayDir(m[1]!, ctx.home);
  const hit = await call(ctx, m[1]!, 'jobs.stop', { id: Number(m[2]), reason: 'stopped by rcopy jobs stop' });
  if (!hit.length) throw E.notFound('job', ref as string, `run 'rcopy jobs ${m[1]}' to see the jobs`);
  return { data: hit, text: hit.map((j) => `asked ${m[1]}:${j.id} (${j.what}) to stop`).join('\n') };
}

export async function stopWorkloads(ctx: CliContext, [arrayArg]: Args, opts: CommandOpts): Promise<Output> {
  void opts;
  const stopped: string[] = [];
  for (const a of running(ctx, arrayArg as string | undefined)) {
    for (const j of await call(ctx, a, 'jobs.stop', { kind: 'workload', reason: 'stopped by rcopy workload stop' })) stopped.push(`${a}:${j.id} (${j.what})`);
  }
  return { data: { stopped }, text: stopped.length ? `asked to stop: ${stopped.join(', ')}` : 'no workload running' };
}
