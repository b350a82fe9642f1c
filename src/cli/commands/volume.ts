/** rcopy volume create|list|show|delete */
import { E } from '../../errors.js';
import { checkName, formatBytes, parseVolRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import { iso, type Output } from '../render/output.js';
import { volumeRows } from '../render/volumes.js';
import { need, needSize } from '../ui.js';
import { arrayChoices, call, pickArray, pickVolume } from './common.js';

type Args = Array<string | string[] | undefined>;

export async function create(ctx: CliContext, [refArg]: Args, opts: CommandOpts): Promise<Output> {
  let ref = refArg as string | undefined;
  if (!ref && ctx.interactive) {
    const array = await need(ctx, undefined, { name: 'the array', message: 'On which array?', choices: () => arrayChoices(ctx) });
    const name = await need(ctx, undefined, { name: 'the volume name', message: 'Volume name:', validate: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v) ? true : 'letters, digits, . _ -') });
    ref = `${array}:${name}`;
  }
  if (!ref) throw E.usage('missing the volume (ARRAY:NAME)', 'e.g. rcopy volume create siteA:vol1 --size 10G');
  const { array, name } = parseVolRef(ref);
  await pickArray(ctx, array);
  const trackSize = opts.size === undefined && ctx.interactive ? (await call(ctx, array, 'array.info')).trackSize : undefined;
  const size = await needSize(ctx, opts.size, { name: '--size', message: 'Size (e.g. 10G):', default: '1G', multipleOf: trackSize });
  const count = opts.count === undefined ? 1 : Number(opts.count);
  if (!Number.isInteger(count) || count < 1 || count > 1024) throw E.badInput(`invalid --count '${opts.count}'`, 'a whole number from 1 to 1024');
  const names = count === 1 ? [name] : Array.from({ length: count }, (_, i) => checkName('volume', `${name}-${i}`));
  const created = [];
  for (const n of names) created.push(await call(ctx, array, 'volume.create', { name: n, size }));
  return {
    data: count === 1 ? created[0] : created,
    text: created.map((v) => `created ${array}:${v.name} (${formatBytes(v.size)}, ${v.tracks} tracks of ${formatBytes(v.trackSize)})`).join('\n'),
  };
}

export async function list(ctx: CliContext, [arrayArg]: Args, _o?: CommandOpts): Promise<Output> {
  const array = await pickArray(ctx, arrayArg as string | undefined);
  const vols = await call(ctx, array, 'volume.list');
  return { data: vols, table: volumeRows(vols), text: vols.length ? undefined : `array ${array} has no volumes (rcopy volume create ${array}:NAME --size 1G)` };
}

export async function show(ctx: CliContext, [refArg]: Args): Promise<Output> {
  const v = await pickVolume(ctx, refArg as string | undefined);
  const info = await call(ctx, v.array, 'volume.show', { name: v.name });
  return { data: { array: v.array, ...info, createdAt: iso(info.created) || null } };
}

export async function remove(ctx: CliContext, [refArg]: Args, opts: CommandOpts): Promise<Output> {
  const v = await pickVolume(ctx, refArg as string | undefined, 'Delete which volume?');
  const info = await call(ctx, v.array, 'volume.show', { name: v.name });
  const { askAndRelease } = await import('./safe-delete.js');
  const released = await askAndRelease(ctx, { array: v.array, volume: v.name }, !!opts.force, `Delete volume ${v.ref}? ${formatBytes(info.allocatedBytes)} of written data is lost.`, 'volume delete');
  await call(ctx, v.array, 'volume.delete', { name: v.name });
  return { data: { deleted: v.ref, released }, text: [...released, `deleted ${v.ref}`].join('\n') };
}
