/**
 * Checks before a command changes a journal group on this side (pair split, resync, takeover,
 * delete, and a delete asked for by the pair's primary: repl.primaryDelete with `guard`): a feature with work on the group (a running drill, handlers/drill-handlers.ts) refuses
 * and says what would happen, or, with `yes`, ends that work first.
 */
import type { HandlerContext } from '../handlers.js';
import { bool, str, type Params } from '../validate.js';

export type GroupGuard = (pairId: string, yes: boolean, what: string) => Promise<void>;

const guards = new WeakMap<HandlerContext, GroupGuard[]>();

/** The guards of a controller (features add theirs when their service is made). */
export function groupGuards(ctx: HandlerContext): GroupGuard[] {
  let list = guards.get(ctx);
  if (!list) guards.set(ctx, (list = []));
  return list;
}

/** Runs the guards for the pair `p.id` (params `id` and `yes`); returns the id. */
export async function guarded(ctx: HandlerContext, p: Params, what: string): Promise<string> {
  const id = str(p, 'id');
  await guardPair(ctx, id, bool(p, 'yes'), what);
  return id;
}

/** Runs the guards for pair `id` (a delete that the pair's other side asks for: repl.primaryDelete). */
export async function guardPair(ctx: HandlerContext, id: string, yes: boolean, what: string): Promise<void> {
  for (const g of groupGuards(ctx)) await g(id, yes, what);
}
