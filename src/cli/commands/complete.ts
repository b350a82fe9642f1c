/**
 * rcopy __complete KIND [CURRENT] (hidden): the names a shell completes, one a line, read from the
 * home and the arrays' stores without starting a controller. Kinds: arrays, volumes and journals
 * (ARRAY:NAME), groups (pair groups), stats-groups, backups and drills (ARRAY:NAME), states.
 */
import { namesOffline, type NameKind } from '../../engine/array/offline-names.js';
import type { CliContext } from '../context.js';
import type { Output } from '../render/output.js';
import { arrayNames } from './common.js';

type Args = Array<string | string[] | undefined>;

export const STATES = ['SMPL', 'COPY', 'PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS'];

export async function complete(ctx: CliContext, [kindArg, curArg]: Args): Promise<Output> {
  const kind = String(kindArg ?? '');
  const cur = String(curArg ?? '');
  let words: string[] = [];
  if (kind === 'arrays') words = arrayNames(ctx);
  else if (kind === 'states') words = STATES;
  else if (kind === 'groups') words = [...new Set(arrayNames(ctx).flatMap((a) => namesOffline(a, ctx.home, 'groups')))];
  else if (['volumes', 'journals', 'stats-groups', 'backups', 'drills'].includes(kind)) {
    // only the array named before the colon is opened, once one is typed
    const colon = cur.indexOf(':');
    const arrays = colon > 0 ? [cur.slice(0, colon)].filter((a) => arrayNames(ctx).includes(a)) : arrayNames(ctx);
    words = arrays.flatMap((a) => namesOffline(a, ctx.home, kind as NameKind).map((n) => `${a}:${n}`));
  }
  const text = words.filter((w) => w.startsWith(cur)).join('\n');
  return { data: words, text };
}
