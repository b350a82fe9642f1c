/**
 * What a command that changes a journal group (pair split, resync, takeover, delete, and a journal,
 * volume or array delete --force, which deletes the pairs first) does to the group's running drill,
 * said the same way for all: the sentence the controller refuses with (server/handlers/drill-handlers.ts,
 * guard). takeover and the deletes always ask (or need --yes): their question names the drill. split and resync ask at a terminal when a drill would end; in a script
 * the controller refuses with that sentence unless --yes.
 */
import { parseVolRef } from '../../units.js';
import type { CliContext } from '../context.js';
import { confirm } from '../ui.js';
import { call } from './common.js';

export type GroupCommand = 'pair split' | 'pair resync' | 'pair takeover' | 'pair delete' | 'journal delete' | 'volume delete' | 'array delete';

/** The group and its running drills (ARRAY:NAME), or null when none would end. */
export interface GroupDrills {
  group: string;
  names: string[];
}

/** Whether the command changes a group in this state (the controller's rule: a re-run that changes nothing keeps the drill). */
function changes(what: GroupCommand, state: string, writable: boolean): boolean {
  if (what === 'pair split') return state !== 'SSUS' && state !== 'PSUS';
  if (what === 'pair resync') return state !== 'PAIR';
  if (what === 'pair takeover') return !writable;
  return true;
}

/** The running drills the command would end on the pair's secondary; null when none, or when it cannot be reached (the controller checks again). */
export async function drillsEnded(ctx: CliContext, t: { id: string; sArray: string }, what: GroupCommand): Promise<GroupDrills | null> {
  try {
    const s = await call(ctx, t.sArray, 'pair.show', { id: t.id });
    if (s.role !== 'S' || !changes(what, s.state, s.writable)) return null;
    const svol = parseVolRef(s.svol).name;
    const names = (await call(ctx, t.sArray, 'drill.list', {})).filter((d) => d.state === 'running' && d.volumes.includes(svol)).map((d) => `${t.sArray}:${d.name}`);
    return names.length ? { group: s.group, names } : null;
  } catch {
    return null;
  }
}

/** "journal group G has a running drill (B:d1): pair split ends it (...)" — as the controller says it. */
export function drillSentence(d: GroupDrills, what: GroupCommand): string {
  return `journal group ${d.group} has a running drill (${d.names.join(', ')}): ${what} ends it (its views and their space go, its record stays)`;
}

/** The sentence as a question's own sentence: capitalised, with its full stop and a space before it. */
export function drillNote(d: GroupDrills, what: GroupCommand): string {
  const s = drillSentence(d, what);
  return ` ${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

/** The sentences for the drills of several pairs (one per group), to add to a question; '' when none. */
export async function drillNotes(ctx: CliContext, targets: Array<{ id: string; sArray: string }>, what: GroupCommand): Promise<string> {
  if (ctx.yes) return '';
  const seen = new Map<string, string>();
  for (const t of targets) {
    const d = await drillsEnded(ctx, t, what);
    if (d && !seen.has(`${t.sArray}:${d.group}`)) seen.set(`${t.sArray}:${d.group}`, drillNote(d, what));
  }
  return [...seen.values()].join('');
}

/**
 * split and resync: whether to send `yes`. With --yes, yes; at a terminal, a drill that would end is
 * asked about first; in a script, no (the controller refuses, naming the drill).
 */
export async function endDrillsAsked(ctx: CliContext, t: { id: string; sArray: string }, what: GroupCommand): Promise<boolean> {
  if (ctx.yes) return true;
  if (!ctx.interactive) return false;
  const d = await drillsEnded(ctx, t, what);
  if (!d) return false;
  const s = drillSentence(d, what);
  await confirm(ctx, `${s[0]!.toUpperCase()}${s.slice(1)}. Go on?`);
  return true;
}
