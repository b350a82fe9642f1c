/**
 * Deletes that refuse while something uses the object: an array, a volume or a journal used by a
 * pair (on either side), an NBD export or a running PB-bit collection. The refusal names each use
 * and the command that ends it; `--force` ends them in this order: exports stopped (hosts
 * disconnected), collections stopped, pairs deleted on both sides (the peer's side first, then
 * this one's; a peer that cannot be reached keeps an orphan that `pair delete --force` removes).
 * A pair whose secondary's group has a running drill ends that drill with it: the question names
 * the drill (in a script, the refusal without --yes does), and the output says it ended.
 */
import { E } from '../../errors.js';
import { parseVolRef } from '../../units.js';
import type { ObjectUse } from '../../server/methods.js';
import type { CliContext } from '../context.js';
import { confirm } from '../ui.js';
import { call } from './common.js';
import { drillNote, drillsEnded, type GroupCommand, type GroupDrills } from './pair-drills.js';

export type Target = { array: string; volume?: string; journal?: string };

function label(t: Target): string {
  if (t.volume !== undefined) return `volume ${t.array}:${t.volume}`;
  if (t.journal !== undefined) return `journal ${t.array}:${t.journal}`;
  return `array ${t.array}`;
}

function forceCommand(t: Target): string {
  if (t.volume !== undefined) return `rcopy volume delete ${t.array}:${t.volume} --force`;
  if (t.journal !== undefined) return `rcopy journal delete ${t.array}:${t.journal} --force`;
  return `rcopy array delete ${t.array} --force`;
}

/** What uses the object now. */
export async function usesOf(ctx: CliContext, t: Target): Promise<ObjectUse[]> {
  return call(ctx, t.array, 'array.usage', { ...(t.volume !== undefined ? { volume: t.volume } : {}), ...(t.journal !== undefined ? { journal: t.journal } : {}) });
}

/**
 * Refuses (ERR_RCOPY_VOLUME_IN_USE for a volume, else ERR_RCOPY_IN_USE; exit 2) when something uses the object, unless force: then ends every use
 * and returns one line per use ended.
 */
export async function releaseOrRefuse(ctx: CliContext, t: Target, force: boolean): Promise<string[]> {
  const uses = await usesOf(ctx, t);
  if (uses.length === 0) return [];
  if (!force) {
    const first = [...new Set(uses.map((u) => u.first))];
    const message = `${label(t)} is in use by ${uses.map((u) => u.what).join(', ')}`;
    const hint = `run first: ${first.join('; ')}; or all of it at once: ${forceCommand(t)}`;
    // a volume keeps the code its export refusal always had
    throw t.volume !== undefined ? E.volumeInUse(message, hint, 'usage') : E.inUse(message, hint);
  }
  const done: string[] = [];
  const order: Array<ObjectUse['kind']> = ['export', 'collection', 'pair'];
  for (const kind of order) {
    for (const u of uses.filter((x) => x.kind === kind)) {
      if (kind === 'export') await call(ctx, t.array, 'export.stop', { volume: u.volume ?? u.id });
      if (kind === 'collection') await call(ctx, t.array, 'stats.stop', { group: u.id });
      if (kind === 'pair') {
        const r = await call(ctx, t.array, 'pair.delete', { id: u.id, force: true, yes: true });
        done.push(`deleted ${u.what}${r.remote !== 'deleted' ? ` (the peer's side: ${r.remote})` : ' on both sides'}`);
        continue;
      }
      done.push(`stopped ${u.what}`);
    }
  }
  return done;
}

/** The running drills (one entry per secondary's group) that deleting the pairs among `uses` ends. */
async function drillsOfUses(ctx: CliContext, t: Target, uses: ObjectUse[], what: GroupCommand): Promise<GroupDrills[]> {
  const out = new Map<string, GroupDrills>();
  for (const u of uses.filter((x) => x.kind === 'pair')) {
    const p = await call(ctx, t.array, 'pair.show', { id: u.id }).catch(() => null);
    if (!p) continue;
    const sArray = parseVolRef(p.svol).array;
    const d = await drillsEnded(ctx, { id: u.id, sArray }, what);
    if (d) out.set(`${sArray}:${d.group}`, d);
  }
  return [...out.values()];
}

/**
 * A delete's steps before the object goes: refused while in use without force; the question (or,
 * in a script, the refusal without --yes) names what ends first, the running drills of the pairs'
 * groups included; then every use ended (force). Returns one line per use and drill ended.
 */
export async function askAndRelease(ctx: CliContext, t: Target, force: boolean, question: string, what: GroupCommand): Promise<string[]> {
  const uses = await usesOf(ctx, t);
  if (uses.length && !force) await releaseOrRefuse(ctx, t, false);
  const drills = uses.length ? await drillsOfUses(ctx, t, uses, what) : [];
  await confirm(ctx, `${question}${uses.length ? ` First: ${uses.map((u) => u.what).join(', ')} end.` : ''}${drills.map((d) => drillNote(d, what)).join('')}`);
  const released = await releaseOrRefuse(ctx, t, force);
  return [...released, ...drills.map((d) => `ended drill ${d.names.join(', ')} (journal group ${d.group}: its views and their space are gone, its record stays)`)];
}
