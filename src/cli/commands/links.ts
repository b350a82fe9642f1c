/** rcopy journal …, rcopy link …, rcopy pull … */
import { E } from '../../errors.js';
import { knownArray } from '../../server/transport/resolve.js';
import { checkName, formatBytes, formatRate, parseDuration, parseRate, parseVolRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { LinkRow } from '../../engine/repl/repl-store.js';
import type { JournalInfo, ParamsOf } from '../../server/methods.js';
import { iso, type Output } from '../render/output.js';
import { journalRows, linkText, pullText } from '../render/journals.js';
import { need, needSize, type Choice } from '../ui.js';
import { arrayChoices, arrayNames, call, pickArray } from './common.js';

type Args = Array<string | string[] | undefined>;

function journalRef(ref: string | undefined): { array: string; name: string } {
  if (!ref) throw E.usage('missing the journal (ARRAY:JOURNAL)');
  const r = parseVolRef(ref);
  checkName('journal', r.name);
  return r;
}

/** An existing journal: from the command line, or chosen from every array's journals on a terminal. */
async function pickJournal(ctx: CliContext, ref: string | undefined): Promise<{ array: string; name: string }> {
  const choices = async (): Promise<Choice[]> => {
    const out: Choice[] = [];
    for (const a of arrayNames(ctx))
      for (const j of await call(ctx, a, 'journal.list')) out.push({ name: `${a}:${j.name}  (${formatBytes(j.capacity)}, ${j.role ?? 'unused'})`, value: `${a}:${j.name}` });
    return out;
  };
  return journalRef(await need(ctx, ref, { name: 'the journal (ARRAY:JOURNAL)', message: 'Which journal?', choices }));
}

/** A new journal's ARRAY:NAME: on a terminal, the array from a list and the name typed. */
async function newJournalRef(ctx: CliContext, ref: string | undefined): Promise<{ array: string; name: string }> {
  if (ref || !ctx.interactive) return journalRef(ref);
  const array = await pickArray(ctx, undefined);
  const name = await need(ctx, undefined, { name: 'the journal name', message: 'Journal name:', validate: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v) ? true : 'letters, digits, . _ -') });
  return { array, name };
}

export async function journalCreate(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const j = await newJournalRef(ctx, ref as string | undefined);
  knownArray(j.array, ctx.home);
  const size = await needSize(ctx, opts.size, { name: '--size', message: 'Journal size (e.g. 1G):', default: '1G' });
  const params: ParamsOf<'journal.create'> = { name: j.name, size, autoResync: !!opts.autoResync };
  if (opts.blockadeWatch) params.blockadeWatchMs = parseDuration(opts.blockadeWatch);
  if (opts.overflowWatch) params.overflowWatchMs = parseDuration(opts.overflowWatch);
  const info = await call(ctx, j.array, 'journal.create', params);
  return { data: info, text: `created journal ${j.array}:${j.name} (${formatBytes(info.capacity)})` };
}

export async function journalSet(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const j = journalRef(ref as string);
  knownArray(j.array, ctx.home);
  const params: ParamsOf<'journal.set'> = { name: j.name };
  if (opts.blockadeWatch) params.blockadeWatchMs = parseDuration(opts.blockadeWatch);
  if (opts.overflowWatch) params.overflowWatchMs = parseDuration(opts.overflowWatch);
  if (opts.autoResync !== undefined) params.autoResync = opts.autoResync === true || opts.autoResync === 'on' || opts.autoResync === 'true';
  if (opts.references !== undefined) {
    if (!['on', 'off', 'auto', 'true', 'false'].includes(String(opts.references))) throw E.badInput(`invalid --references '${opts.references}'`, 'use on, off or auto');
    params.references = opts.references === 'auto' ? 'auto' : opts.references === 'on' || opts.references === 'true';
  }
  const info = await call(ctx, j.array, 'journal.set', params);
  return { data: info };
}

export async function journalList(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const arrays = arrayArg ? [await pickArray(ctx, arrayArg as string)] : arrayNames(ctx);
  const list: JournalInfo[] = [];
  for (const a of arrays) list.push(...(await call(ctx, a, 'journal.list')));
  return { data: list, table: journalRows(list), text: list.length ? undefined : 'no journals (rcopy journal create ARRAY:NAME --size 1G)' };
}

export async function journalShow(ctx: CliContext, [ref]: Args): Promise<Output> {
  const j = await pickJournal(ctx, ref as string | undefined);
  knownArray(j.array, ctx.home);
  const info = await call(ctx, j.array, 'journal.show', { name: j.name });
  return { data: { ...info, oldestTime: iso(info.oldestTimestamp) || null } };
}

export async function journalDelete(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const j = await pickJournal(ctx, ref as string | undefined);
  knownArray(j.array, ctx.home);
  const { askAndRelease } = await import('./safe-delete.js');
  const released = await askAndRelease(ctx, { array: j.array, journal: j.name }, !!opts.force, `Delete journal ${j.array}:${j.name}?`, 'journal delete');
  const r = await call(ctx, j.array, 'journal.delete', { name: j.name });
  return { data: { ...r, released }, text: [...released, `deleted journal ${j.array}:${j.name}`].join('\n') };
}

// ------------------------------------------------------------------ links

async function twoArrays(ctx: CliContext, a0: string | undefined, b0: string | undefined): Promise<[string, string]> {
  if ((!a0 || !b0) && !ctx.interactive) throw E.usage('name both arrays of the link', 'e.g. rcopy link add siteA siteB');
  const a = await need(ctx, a0, { name: 'the first array', message: 'Link from which array?', choices: () => arrayChoices(ctx) });
  const b = await need(ctx, b0, { name: 'the second array', message: `Link ${a} to which array?`, choices: async () => (await arrayChoices(ctx)).filter((c) => c.value !== a) });
  checkName('array', a);
  checkName('array', b);
  if (a === b) throw E.usage('a link joins two different arrays');
  knownArray(a, ctx.home);
  knownArray(b, ctx.home);
  return [a, b];
}

async function setLink(ctx: CliContext, a: string, b: string, patch: Omit<ParamsOf<'link.set'>, 'peer'>): Promise<LinkRow> {
  // the side that answers last holds the state: do both; a peer that is not reachable is an error
  const ra = await call(ctx, a, 'link.set', { peer: b, ...patch });
  await call(ctx, b, 'link.set', { peer: a, ...patch });
  return ra;
}

/** The link's row as side a keeps it, or null when there is none. */
async function findLink(ctx: CliContext, a: string, b: string): Promise<LinkRow | null> {
  return (await call(ctx, a, 'link.list')).find((x) => x.peer === b) ?? null;
}

export async function linkAdd(ctx: CliContext, [a0, b0]: Args, opts: CommandOpts): Promise<Output> {
  const [a, b] = await twoArrays(ctx, a0 as string, b0 as string);
  const bandwidth = opts.bandwidth ? parseRate(opts.bandwidth) : null;
  const latencyMs = opts.latency ? parseDuration(opts.latency) : 0;
  // an existing link keeps its settings and its state (a link down stays down): changing them is link set's
  const old = (await findLink(ctx, a, b)) ?? (await findLink(ctx, b, a));
  if (old) {
    const given = [opts.bandwidth ? `--bandwidth ${opts.bandwidth}` : '', opts.latency ? `--latency ${opts.latency}` : ''].filter(Boolean).join(' ');
    throw E.linkExists(a, b, `it is ${linkText(a, b, old)}; change it with: rcopy link set ${a} ${b} ${given || '--bandwidth RATE --latency TIME'}`);
  }
  const l = await setLink(ctx, a, b, { up: true, bandwidth, latencyMs });
  return { data: { a, b, ...l }, text: `link ${linkText(a, b, l)}` };
}

export async function linkSet(ctx: CliContext, [a0, b0]: Args, opts: CommandOpts): Promise<Output> {
  const [a, b] = await twoArrays(ctx, a0 as string, b0 as string);
  const patch: Omit<ParamsOf<'link.set'>, 'peer'> = {};
  if (opts.bandwidth) patch.bandwidth = opts.bandwidth === 'unlimited' ? null : parseRate(opts.bandwidth);
  if (opts.latency) patch.latencyMs = parseDuration(opts.latency);
  if (Object.keys(patch).length === 0) throw E.usage('nothing to change', 'give --bandwidth RATE (or unlimited) and/or --latency TIME');
  if (!(await findLink(ctx, a, b)) && !(await findLink(ctx, b, a))) throw E.notFound('link', `${a} <-> ${b}`, `create it: rcopy link add ${a} ${b}`);
  // only the options given change: the other settings and the up/down state are kept
  const l = await setLink(ctx, a, b, patch);
  return { data: { a, b, ...l }, text: `link ${linkText(a, b, l)}` };
}

export async function linkUpDown(ctx: CliContext, [a0, b0]: Args, opts: CommandOpts): Promise<Output> {
  const [a, b] = await twoArrays(ctx, a0 as string, b0 as string);
  const up = !!opts.__up;
  const old = await findLink(ctx, a, b);
  if (old && old.up === up && (await findLink(ctx, b, a))?.up === up) {
    return { data: { a, b, ...old, already: true }, text: `link ${linkText(a, b, old)} (already ${up ? 'up' : 'down'}; nothing changed)` };
  }
  const l = await setLink(ctx, a, b, { up });
  return { data: { a, b, ...l }, text: `link ${linkText(a, b, l)}${up ? '' : ' (pulls stop; pairs suspend with PSUE after the path-blockade watch time)'}` };
}

export async function linkList(ctx: CliContext): Promise<Output> {
  const seen = new Map<string, LinkRow & { link: string; a: string; b: string }>();
  for (const a of arrayNames(ctx)) {
    const links = await call(ctx, a, 'link.list');
    for (const l of links) {
      const key = [a, l.peer].sort().join(' <-> ');
      if (!seen.has(key)) seen.set(key, { link: key, a, b: l.peer, ...l });
    }
  }
  const list = [...seen.values()];
  return {
    data: list,
    table: { head: ['link', 'state', 'bandwidth', 'latency'], rows: list.map((l) => [l.link, l.up ? 'up' : 'DOWN', l.bandwidth ? formatRate(l.bandwidth) : 'unlimited', `${l.latencyMs} ms`]) },
    text: list.length ? undefined : 'no links (rcopy link add A B --bandwidth 100MB/s)',
  };
}

export async function linkShow(ctx: CliContext, [a0, b0]: Args): Promise<Output> {
  const [a, b] = await twoArrays(ctx, a0 as string, b0 as string);
  const links = await call(ctx, a, 'link.list');
  const l = links.find((x) => x.peer === b) ?? { peer: b, bandwidth: null, latencyMs: 0, up: true };
  return { data: { a, b, ...l }, text: linkText(a, b, l) };
}

// ------------------------------------------------------------------ pulls

export async function pull(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const j = journalRef(ref as string);
  knownArray(j.array, ctx.home);
  const verb = opts.__verb as 'start' | 'stop' | 'status' | 'once';
  if (verb === 'once') {
    const r = await call(ctx, j.array, 'pull.once', { journal: j.name });
    return { data: r, text: `pulled ${r.entries} entries (${formatBytes(r.bytes)})\n${pullText(r.status)}` };
  }
  const params: ParamsOf<'pull.start'> = { journal: j.name };
  if (verb === 'start' && opts.interval) params.intervalMs = parseDuration(opts.interval);
  if (verb === 'start' && typeof opts.references === 'boolean') params.references = opts.references;
  if (verb === 'start' || verb === 'stop') {
    // a pull already in the asked state (and, for start, with the asked options) is left as it is
    const now = await call(ctx, j.array, 'pull.status', { journal: j.name });
    const same = verb === 'stop' ? !now.enabled : now.enabled && (params.intervalMs === undefined || params.intervalMs === now.intervalMs) && params.references === undefined;
    if (same) return { data: { ...now, already: true }, text: `${pullText(now)}\n(already ${verb === 'start' ? 'started' : 'stopped'}; nothing changed)` };
  }
  const r = await call(ctx, j.array, verb === 'start' ? 'pull.start' : verb === 'stop' ? 'pull.stop' : 'pull.status', params);
  return { data: r, text: pullText(r) };
}
