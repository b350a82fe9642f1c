/** Shared by command modules: reaching a controller, and choosing arrays and volumes. */
import { arraysDir, isArrayDir, listArrayNames } from '../../engine/array/home.js';
import { knownArray } from '../../server/transport/resolve.js';
import { listRemotes } from '../../server/transport/remotes.js';
import { connectArray } from '../../server/client.js';
import type { Method, ResultOf } from '../../server/methods.js';
import type { CallArgs, RpcClient } from '../../server/protocol.js';
import { checkName, formatBytes, parseVolRef } from '../../units.js';
import type { CliContext } from '../context.js';
import type { VolumeInfo } from '../../engine/array/volume.js';
import { need, type Choice } from '../ui.js';
import path from 'node:path';

/** Calls one method on an array's controller (starting it if needed); typed by the contract. */
export async function call<M extends Method>(ctx: CliContext, array: string, method: M, ...args: CallArgs<M>): Promise<ResultOf<M>> {
  const c = await connectArray(array, ctx.home);
  try {
    return (await c.call(method, ...args)).result;
  } finally {
    c.close();
  }
}

/** Runs fn with an open connection to an array's controller. */
export async function withArray<T>(ctx: CliContext, array: string, fn: (c: RpcClient) => Promise<T>): Promise<T> {
  const c = await connectArray(array, ctx.home);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export function arrayNames(ctx: CliContext): string[] {
  return listArrayNames(ctx.home).filter((n) => isArrayDir(path.join(arraysDir(ctx.home), n)));
}

/** The remote arrays of this home (rcopy remote add). */
export function remoteNames(ctx: CliContext): string[] {
  return listRemotes(ctx.home).map((r) => r.name);
}

export async function arrayChoices(ctx: CliContext): Promise<Choice[]> {
  return arrayNames(ctx).map((n) => ({ name: n, value: n }));
}

export async function pickArray(ctx: CliContext, value: string | undefined): Promise<string> {
  const name = await need(ctx, value, { name: 'the array name', message: 'Which array?', choices: () => arrayChoices(ctx) });
  checkName('array', name);
  knownArray(name, ctx.home);
  return name;
}

export async function volumeChoices(ctx: CliContext, filter?: (v: VolumeInfo) => boolean): Promise<Choice[]> {
  const out: Choice[] = [];
  for (const a of arrayNames(ctx)) {
    const vols = await call(ctx, a, 'volume.list');
    for (const v of vols) {
      if (filter && !filter(v)) continue;
      out.push({ name: `${a}:${v.name}  (${formatBytes(v.size)}, ${v.allocatedTracks} tracks written)`, value: `${a}:${v.name}` });
    }
  }
  return out;
}

/** ARRAY:VOLUME from the command line, or chosen from a list on a terminal. */
export async function pickVolume(ctx: CliContext, value: string | undefined, message = 'Which volume?'): Promise<{ array: string; name: string; ref: string }> {
  const ref = await need(ctx, value, { name: 'the volume (ARRAY:VOLUME)', message, choices: () => volumeChoices(ctx) });
  const r = parseVolRef(ref);
  knownArray(r.array, ctx.home);
  return { ...r, ref: `${r.array}:${r.name}` };
}
