/** rcopy pair create|list|show|wait|split|resync|takeover|revert|delete */
import { E, RcopyError } from '../../errors.js';
import { knownArray } from '../../server/transport/resolve.js';
import { formatBytes, formatRate, parseDuration, parseVolRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { CopyStats } from '../../engine/repl/copy-stats.js';
import type { PairOpResult, ParamsOf } from '../../server/methods.js';
import { iso, type Output } from '../render/output.js';
import { pairListRows, pairListTable, pairShowData, pairShowText, withExports, type PairSides } from '../render/pairs.js';
import type { ExportView } from '../../server/nbd/types.js';
import { confirm, need, type Choice } from '../ui.js';
import { onInterrupt } from '../interrupt.js';
import { arrayNames, call, remoteNames, volumeChoices } from './common.js';
import { drillNotes, endDrillsAsked } from './pair-drills.js';
import { copyStopped, errorSuspended, matches, views, waitFor, type PairTarget, type PairViews } from './pair-wait.js';

export type { PairTarget } from './pair-wait.js';
import { arrayDir, isArrayDir } from '../../engine/array/home.js';

const arrayExists = (ctx: CliContext, name: string): boolean => isArrayDir(arrayDir(name, ctx.home));

type Args = Array<string | string[] | undefined>;

/** Finds the pairs named by a volume (either side) or by --group. */
export async function resolvePairs(ctx: CliContext, ref: string | undefined, group: string | undefined): Promise<PairTarget[]> {
  if (group) {
    // SQLite (a native module) is loaded only for a group: a pair named by a volume asks its controller
    const { readPairsOffline } = await import('../../engine/array/offline.js');
    const out = new Map<string, PairTarget>();
    for (const a of arrayNames(ctx)) {
      for (const r of readPairsOffline(a, ctx.home, { group })) {
        if (r.role === 'S') out.set(r.id, { id: r.id, sArray: a, pArray: r.remoteArray });
        else if (!out.has(r.id)) out.set(r.id, { id: r.id, sArray: r.remoteArray, pArray: a });
      }
    }
    if (!out.size) throw E.notFound('pair group', group, "run 'rcopy pair list' to see the groups");
    return [...out.values()];
  }
  if (!ref) throw E.usage('name a pair by one of its volumes (ARRAY:VOLUME), or give --group NAME');
  const v = parseVolRef(ref);
  knownArray(v.array, ctx.home);
  const found = await call(ctx, v.array, 'pair.find', { volume: v.name });
  if (!found.length) throw E.state(`${ref} is not in a pair (SMPL)`, 'create one: rcopy pair create P-ARRAY:VOL S-ARRAY:VOL --journal P-ARRAY:J,S-ARRAY:J');
  if (found.length > 1) {
    throw E.usage(`${ref} is in ${found.length} pairs (${found.map((f) => `${f.pvol} -> ${f.svol}`).join(', ')})`, 'name the pair by its other volume');
  }
  const d = found[0]!;
  return [{ id: d.id, sArray: parseVolRef(d.svol).array, pArray: parseVolRef(d.pvol).array, side: d.role }];
}

async function one(ctx: CliContext, ref: string | undefined, group: string | undefined): Promise<PairTarget> {
  const ps = await resolvePairs(ctx, ref, group);
  return ps[0]!;
}

export async function create(ctx: CliContext, [pvolArg, svolArg]: Args, opts: CommandOpts): Promise<Output> {
  const pvol = await need(ctx, pvolArg as string | undefined, { name: 'the P-VOL (ARRAY:VOLUME)', message: 'Primary volume (P-VOL)?', choices: () => volumeChoices(ctx) });
  const p = parseVolRef(pvol);
  const svol = await need(ctx, svolArg as string | undefined, {
    name: 'the S-VOL (ARRAY:VOLUME)',
    message: 'Secondary volume (S-VOL)?',
    choices: async () => (await volumeChoices(ctx)).filter((c) => !c.value.startsWith(`${p.array}:`)),
  });
  const s = parseVolRef(svol);
  knownArray(p.array, ctx.home);
  knownArray(s.array, ctx.home);
  let journals = opts.journal as string | undefined;
  if (!journals && ctx.interactive) {
    const jchoices = async (a: string): Promise<Choice[]> =>
      (await call(ctx, a, 'journal.list')).map((j) => ({ name: `${a}:${j.name}  (${formatBytes(j.capacity)}, ${j.usedPct}% used, ${j.role ?? 'unused'})`, value: `${a}:${j.name}` }));
    const j1 = await need(ctx, undefined, { name: '--journal', message: `Master journal on ${p.array}?`, choices: () => jchoices(p.array) });
    const j2 = await need(ctx, undefined, { name: '--journal', message: `Restore journal on ${s.array}?`, choices: () => jchoices(s.array) });
    journals = `${j1},${j2}`;
  }
  if (!journals) throw E.usage('missing --journal P-ARRAY:J1,S-ARRAY:J2', 'each side needs a journal: rcopy journal create ARRAY:J --size 1G');
  const parts = journals.split(',').map((x) => parseVolRef(x.trim()));
  if (parts.length !== 2 || parts[0]!.array !== p.array || parts[1]!.array !== s.array) {
    throw E.usage(`--journal must be ${p.array}:J1,${s.array}:J2 (the primary's journal first)`);
  }
  const mode = opts.mode ?? 'async';
  if (mode !== 'async' && mode !== 'sync') throw E.badInput(`unknown mode '${mode}'`, 'use async or sync');
  const fence = String(opts.fence ?? 'never');
  if (fence !== 'never' && fence !== 'data') throw E.badInput(`unknown fence policy '${fence}'`, 'use never (suspend and complete the write) or data (suspend and fail the write)');
  const syncTimeoutMs = parseDuration(String(opts.syncTimeout ?? '5s'));
  if (!(syncTimeoutMs >= 100 && syncTimeoutMs <= 3_600_000)) throw E.badInput(`--sync-timeout ${opts.syncTimeout}: must be between 100ms and 1h`);
  const params: ParamsOf<'pair.create'> = {
    pvol,
    svol: s.name,
    pjournal: parts[0]!.name,
    sjournal: parts[1]!.name,
    mode: mode as 'async' | 'sync',
    group: opts.group,
    nocopy: !!opts.nocopy,
    syncTimeoutMs,
    fence: fence as 'never' | 'data',
    ...(opts.references === false ? { references: false } : {}),
  };
  const d = await call(ctx, s.array, 'pair.create', params);
  let text = `created pair ${d.pvol} -> ${d.svol} (${d.mode}, group ${d.group}): ${d.state}`;
  if (opts.wait) {
    const t = { id: d.id, sArray: s.array, pArray: p.array };
    await waitFor(ctx, [t], 'PAIR', false, opts.timeout ? parseDuration(opts.timeout) : 600_000, true, copyStopped);
    text += '\ninitial copy complete: PAIR';
  }
  return { data: d, text };
}

export async function list(ctx: CliContext, [arrayArg]: Args): Promise<Output> {
  const arrays = arrayArg ? [arrayArg as string] : arrayNames(ctx);
  for (const a of arrays) knownArray(a, ctx.home);
  // without an array named: the remotes of this home too, those that answer
  const remotes = arrayArg ? [] : remoteNames(ctx);
  const byId: PairSides = new Map();
  const linkBw = new Map<string, number | null>();
  const exports: ExportView[] = [];
  for (const a of [...arrays, ...remotes]) {
    const pairs = await call(ctx, a, 'pair.list').catch((e: unknown) => {
      if (remotes.includes(a)) return [];
      throw e;
    });
    for (const d of pairs) {
      const e = byId.get(d.id) ?? {};
      if (d.role === 'P') e.p = d;
      else e.s = d;
      byId.set(d.id, e);
    }
    for (const l of await call(ctx, a, 'link.list').catch(() => [])) linkBw.set([a, l.peer].sort().join('|'), l.bandwidth);
    exports.push(...(await call(ctx, a, 'export.list').catch(() => [])));
  }
  const rows = withExports(pairListRows(byId, linkBw), exports);
  return { data: rows, table: pairListTable(rows), csvFromData: true, text: rows.length ? undefined : 'no pairs (rcopy pair create P-ARRAY:VOL S-ARRAY:VOL --journal P-ARRAY:J1,S-ARRAY:J2)' };
}

export async function show(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const t = await one(ctx, ref as string | undefined, opts.group);
  const { p, s } = await views(ctx, t);
  const either = s ?? p;
  if (!either) throw E.peer(`neither side of pair ${t.id} answered`);
  const data = pairShowData(t.id, either, p, s);
  return { data, text: pairShowText(data, p, s) };
}

export async function wait(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const targets = await resolvePairs(ctx, ref as string | undefined, opts.group);
  const state = String(opts.state ?? 'PAIR').toUpperCase();
  if (!['COPY', 'PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS'].includes(state)) throw E.badInput(`unknown state '${opts.state}'`, 'use PAIR, COPY, PSUS, SSUS, PSUE, PFUS, PFUL or SSWS');
  const timeoutMs = parseDuration(opts.timeout ?? '5m');
  const t0 = Date.now();
  const hopeless = ['PAIR', 'COPY', 'PFUL'].includes(state) ? errorSuspended(ctx) : undefined;
  const vs = await waitFor(ctx, targets, state, !!opts.drained, timeoutMs, true, hopeless);
  const secs = (Date.now() - t0) / 1000;
  return {
    data: {
      state,
      drained: !!opts.drained,
      seconds: secs,
      pairs: vs.map((v, i) => ({ id: targets[i]!.id, primary: v.p?.state, secondary: v.s?.state, restoredSeq: v.s?.restoredSeq, lastSeq: v.p?.lastSeq })),
    },
    text: `${targets.map((t) => t.id).join(', ')}: ${state}${opts.drained ? ', journal drained' : ''} (after ${secs.toFixed(1)}s)`,
  };
}

/** The primary's state as the split's reply gives it (PSUS unless it was suspended already). */
function primaryStateOf(r: PairOpResult): string {
  const states = Object.values(r?.primaryStates ?? {});
  return states.length ? [...new Set(states)].join('/') : 'PSUS';
}

export async function split(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const t = await one(ctx, ref as string | undefined, opts.group);
  const r = await call(ctx, t.sArray, 'pair.split', { id: t.id, rw: !!opts.rw, yes: await endDrillsAsked(ctx, t, 'pair split') });
  const ps = r.pairs;
  return {
    data: r,
    text: `${r.note ? `${r.note}: ` : ''}split ${ps.map((p) => `${p.pvol} -> ${p.svol}`).join(', ')}: primary ${primaryStateOf(r)}, secondary ${ps[0]?.state}${opts.rw ? ' (S-VOL writable)' : ''}; changes are tracked in the differential bitmaps.`,
  };
}

export async function resync(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const t = await one(ctx, ref as string | undefined, opts.group);
  const t0 = Date.now();
  const before = await views(ctx, t);
  const changed = (before.p?.changedTracks ?? 0) + (before.s?.changedTracks ?? 0);
  // re-run of a runbook: the end state holds already (as CCI's pairresync of a pair in PAIR)
  if (!opts.swap && matches('PAIR', before)) {
    return { data: { pairs: [before.s], already: true, tracksCopied: 0 }, text: `already PAIR: ${before.s?.pvol} -> ${before.s?.svol} (nothing to resync)` };
  }
  const yes = await endDrillsAsked(ctx, t, 'pair resync');
  const r = await call(ctx, t.sArray, 'pair.resync', { id: t.id, swap: !!opts.swap, yes, ...(typeof opts.references === 'boolean' ? { references: opts.references } : {}) });
  // the group's pairs, as the secondary that started the resync describes them
  const described = (Array.isArray(r.pairs) ? r.pairs : []) as Array<{ id?: unknown; pvol?: unknown; svol?: unknown; group?: string }>;
  const targets =
    described.length && described.every((d) => typeof d.id === 'string' && typeof d.pvol === 'string' && typeof d.svol === 'string')
      ? described.map((d) => ({ id: d.id as string, sArray: parseVolRef(d.svol as string).array, pArray: parseVolRef(d.pvol as string).array }))
      : await resolvePairs(ctx, undefined, described[0]?.group);
  if (opts.wait === false) return { data: r, text: `resync started for ${targets.map((x) => x.id).join(', ')} (${changed} changed tracks)` };
  const timeoutMs = opts.timeout ? parseDuration(opts.timeout) : 3_600_000;
  let vs: PairViews[];
  // Ctrl-C stops the resync in the controller: the group goes PSUE and keeps its consistent image
  let cancelling: Promise<PairOpResult> | null = null;
  const off = onInterrupt(`the resync of ${t.id}`, async () => void (await (cancelling = call(ctx, t.sArray, 'pair.cancel', { id: t.id }))));
  try {
    vs = await waitFor(ctx, targets, 'PAIR', false, timeoutMs, true, copyStopped);
  } catch (e) {
    // set by the signal handler meanwhile (TypeScript cannot see that)
    const pending = cancelling as Promise<PairOpResult> | null;
    if (pending !== null) return cancelledResync(t, await pending);
    if (e instanceof RcopyError && e.code === 'ERR_RCOPY_RESYNC_FAILED') throw e;
    const now = await Promise.all(targets.map((x) => views(ctx, x)));
    const failed = now.find((v) => v.s && v.s.state !== 'COPY' && v.s.state !== 'PAIR')?.s;
    if (failed)
      throw E.resyncFailed(`resync of ${failed.id} stopped: ${failed.state} (${failed.reason})`, `fix the cause, then rcopy pair resync ${failed.id} again, or rcopy pair revert ${failed.id}`);
    throw e;
  } finally {
    off();
  }
  const secs = (Date.now() - t0) / 1000;
  // what the resync did, from the receiving side's counters (tracks compared equal are skipped)
  const sum = (f: (r: CopyStats) => number): number => vs.reduce((n, v) => n + (v.s?.resync ? f(v.s.resync) : 0), 0);
  const visited = vs.reduce((n, v) => n + (v.s?.copyDone ?? 0), 0);
  const counted = vs.every((v) => v.s?.resync);
  const skipped = counted ? sum((r) => r.equalTracks) : 0;
  const tracks = visited - skipped;
  const trackSize = (before.s?.changedTracks ? before.s.changedBytes / before.s.changedTracks : 0) || 65536;
  const sent = counted ? sum((r) => r.dataBytes) : tracks * trackSize;
  const detail =
    counted && sum((r) => (r.references ? 1 : 0)) > 0
      ? ` (${skipped} already equal, ${sum((r) => r.referenceTracks)} by reference, ${sum((r) => r.zeroTracks)} zero, ${sum((r) => r.dataTracks)} as data)`
      : '';
  return {
    data: {
      pairs: vs.map((v) => v.s),
      swapped: !!opts.swap,
      changedTracksBefore: changed,
      tracksCopied: tracks,
      tracksSkipped: skipped,
      dataBytes: sent,
      referenceBytes: counted ? sum((r) => r.referenceBytes) : 0,
      seconds: secs,
    },
    text: `resync${opts.swap ? ' (swap)' : ''} complete: ${tracks} tracks copied${detail} in ${secs.toFixed(2)}s (${formatRate((tracks * trackSize) / Math.max(secs, 0.001))}); ${vs.map((v) => `${v.s?.pvol} -> ${v.s?.svol}`).join(', ')} PAIR`,
  };
}

function cancelledResync(t: PairTarget, r: PairOpResult): Output {
  const ps = r.pairs;
  return {
    data: { ...r, cancelled: true },
    text: `resync cancelled: ${ps.map((p) => `${p.pvol} -> ${p.svol} ${p.state}`).join(', ')}; the S-VOLs keep their consistent image (rcopy pair resync ${t.id} to start again, or rcopy pair revert ${t.id})`,
  };
}

export async function takeover(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const t = await one(ctx, ref as string | undefined, opts.group);
  const v = await views(ctx, t);
  await confirm(
    ctx,
    `Take over ${t.id} on ${t.sArray}? The S-VOL becomes writable; writes the primary makes from now on are lost when you resync with --swap.${await drillNotes(ctx, [t], 'pair takeover')}`,
    v.p ? `primary state ${v.p.state}, ${v.p.journalEntries ?? 0} journal entries not yet here` : 'the primary is not reachable',
  );
  // confirmed (asked, or --yes): a running drill of the group ends too, as the question said
  const r = await call(ctx, t.sArray, 'pair.takeover', { id: t.id, yes: true });
  if (opts.swap) {
    // takeover and reversal in one step: the S-VOL's side becomes the primary, the old P-VOL its copy
    const back = await resync(ctx, [ref], { ...opts, swap: true, wait: true });
    return { data: { takeover: r, resync: back.data }, text: `took over on ${t.sArray} and reversed the direction: ${back.text ?? ''}` };
  }
  return {
    data: r,
    text: `${r.note ? `${r.note}: ` : ''}took over on ${t.sArray}: ${r.pairs.map((p) => `${p.svol} SSWS`).join(', ')}${r.primaryReached === false ? ' (the primary was not reached; it suspends by itself)' : ''}. To reverse the direction: rcopy pair resync ${t.id} --swap`,
  };
}

export async function revert(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const t = await one(ctx, ref as string | undefined, opts.group);
  const v = await views(ctx, t);
  await confirm(
    ctx,
    `Revert ${v.s?.svol ?? t.id} to its consistent image of ${iso(v.s?.imageTime)}? Every track the interrupted resync copied is put back.`,
    v.s ? `${v.s.imageTracks ?? '?'} tracks saved; state ${v.s.state}` : undefined,
  );
  const r = await call(ctx, t.sArray, 'pair.revert', { id: t.id });
  const all = Array.isArray(r.pairs) ? r.pairs : [r.pair!];
  return {
    data: r,
    text: `reverted ${all.map((x) => x.svol).join(', ')} to the image of ${iso(r.pair!.imageTime)} (${r.tracksRestored} tracks put back); state ${r.pair!.state}. Next: rcopy pair resync ${t.id}`,
  };
}

export async function remove(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const targets = await resolvePairs(ctx, ref as string | undefined, opts.group);
  const notes = await drillNotes(
    ctx,
    targets.filter((t) => arrayExists(ctx, t.sArray)),
    'pair delete',
  );
  await confirm(ctx, `Delete ${targets.length} pair(s): ${targets.map((t) => t.id).join(', ')}? Replication stops; the volumes keep their data.${notes}`);
  const out = [];
  for (const t of targets) {
    // an orphan whose secondary array is gone is deleted from the primary's side (with --force)
    const gone = !arrayExists(ctx, t.sArray);
    if (gone && !opts.force) throw E.peer(`the array ${t.sArray} of ${t.id}'s secondary side is gone`, `delete this side alone: rcopy pair delete ${t.id} --force`);
    out.push(await call(ctx, gone ? t.pArray : t.sArray, 'pair.delete', { id: t.id, force: !!opts.force, yes: true }));
  }
  return { data: out, text: out.map((o) => `deleted pair ${o.deleted}${o.remote !== 'deleted' ? ` (the other side: ${o.remote})` : ''}`).join('\n') };
}
