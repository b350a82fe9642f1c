/** rcopy export …: NBD exports of volumes, served by the array's controller. */
import path from 'node:path';
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { formatBytes, parseVolOrViewRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { ParamsOf } from '../../server/methods.js';
import type { ExportView } from '../../server/nbd/types.js';
import type { Output } from '../render/output.js';
import { arrayNames, call, pickArray } from './common.js';

type Args = Array<string | string[] | undefined>;

function rows(list: ExportView[]): { head: string[]; rows: Array<Array<string | number>> } {
  return {
    head: ['array', 'volume', 'export', 'uri', 'mode', 'clients', 'read', 'written', 'state'],
    rows: list.map((x) => [
      x.array,
      x.volume,
      x.name,
      x.uri,
      `${x.readOnly ? 'ro' : 'rw'}${x.tlsPsk ? '+tls' : ''}`,
      x.clients,
      formatBytes(x.bytesRead),
      formatBytes(x.bytesWritten),
      x.serving ? 'serving' : `down: ${x.error ?? ''}`,
    ]),
  };
}

export async function exportStart(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  if (!ref) throw E.usage('missing the volume (ARRAY:VOLUME)');
  const v = parseVolOrViewRef(ref as string);
  existingArrayDir(v.array, ctx.home);
  const params: ParamsOf<'export.start'> = { volume: v.name, readOnly: !!opts.readOnly };
  if (typeof opts.name === 'string') params.name = opts.name;
  // the controller runs elsewhere: a relative path is the caller's
  if (typeof opts.socket === 'string') params.socket = path.resolve(opts.socket);
  if (typeof opts.listen === 'string') params.listen = opts.listen;
  if (typeof opts.tlsPsk === 'string') params.tlsPsk = path.resolve(opts.tlsPsk);
  const r = await call(ctx, v.array, 'export.start', params);
  if (r.already) return { data: r, text: `${v.array}:${v.name} is already exported as '${r.name}' at ${r.uri} (same options; nothing changed)` };
  return { data: r, text: `exported ${v.array}:${v.name} as '${r.name}' at ${r.uri}` };
}

export async function exportList(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const arrays = arrayArg ? [await pickArray(ctx, arrayArg as string)] : arrayNames(ctx);
  const list: ExportView[] = [];
  for (const a of arrays) list.push(...(await call(ctx, a, 'export.list')));
  return { data: list, table: rows(list), text: list.length ? undefined : 'no exports (rcopy export start ARRAY:VOLUME)' };
}

export async function exportStop(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  if (opts.all) {
    if (ref) throw E.usage('give ARRAY:VOLUME or --all, not both');
    const stopped: string[] = [];
    for (const a of arrayNames(ctx)) for (const n of (await call(ctx, a, 'export.stop', { volume: null })).stopped) stopped.push(`${a}:${n}`);
    return { data: { stopped }, text: stopped.length ? `stopped ${stopped.join(', ')}` : 'no exports' };
  }
  if (!ref) throw E.usage('missing the volume (ARRAY:VOLUME) or --all');
  const v = parseVolOrViewRef(ref as string);
  existingArrayDir(v.array, ctx.home);
  const r = await call(ctx, v.array, 'export.stop', { volume: v.name });
  return { data: r, text: `stopped ${r.stopped.map((n) => `${v.array}:${n}`).join(', ')}` };
}
