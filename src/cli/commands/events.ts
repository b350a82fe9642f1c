/**
 * rcopy events [ARRAY] [--since 1h] [--follow] [--json]: the arrays' events (engine/ops/events.ts),
 * oldest first; --json prints one JSON object per line (JSON lines), --follow keeps printing new
 * ones as they come (every 300 ms) until interrupted. Streaming output is written as it comes.
 */
import { existingArrayDir } from '../../engine/array/home.js';
import type { EventRow } from '../../engine/ops/events.js';
import { parseDuration } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { arrayNames, call } from './common.js';

export const EVENTS_SCHEMA_VERSION = 1;

type Line = EventRow & { array: string };

function format(e: Line, json: boolean): string {
  const time = new Date(e.time).toISOString();
  if (json) return JSON.stringify({ schemaVersion: EVENTS_SCHEMA_VERSION, id: e.id, time, array: e.array, pair: e.pair, kind: e.kind, event: e.event });
  return `${time}  ${e.array}  ${e.pair ?? '-'}  ${e.kind}  ${e.event}`;
}

export async function events(ctx: CliContext, [arrayArg]: Array<string | string[] | undefined>, opts: CommandOpts): Promise<Output> {
  const arrays = arrayArg ? [String(arrayArg)] : arrayNames(ctx);
  for (const a of arrays) existingArrayDir(a, ctx.home);
  const since = opts.since ? Date.now() - parseDuration(String(opts.since), { option: '--since', max: 100 * 365 * 86_400_000 }) : 0;
  const after = new Map<string, number>();
  const fetchNew = async (): Promise<Line[]> => {
    const out: Line[] = [];
    for (const a of arrays) {
      const r = await call(ctx, a, 'events.list', { afterId: after.get(a) ?? 0, since });
      for (const e of r.events) out.push({ ...e, array: a });
      if (r.events.length) after.set(a, r.events[r.events.length - 1]!.id);
    }
    return out.sort((x, y) => x.time - y.time || x.id - y.id);
  };
  const json = !!opts.json;
  // JSON lines are this command's text: the renderer's JSON (one document) is not used
  ctx.format = 'table';
  if (!opts.follow) {
    const all: Line[] = [];
    for (let got = await fetchNew(); got.length; got = await fetchNew()) all.push(...got);
    all.sort((x, y) => x.time - y.time || x.id - y.id);
    return { text: all.length ? all.map((e) => format(e, json)).join('\n') : json ? '' : 'no events' };
  }
  for (;;) {
    const got = await fetchNew();
    for (const e of got) process.stdout.write(`${format(e, json)}\n`);
    if (!got.length) await new Promise((r) => setTimeout(r, 300));
  }
}
