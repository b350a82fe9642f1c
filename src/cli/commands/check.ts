/**
 * rcopy check: a monitoring plugin (Nagios/Icinga). Asks each array's controller — never starting
 * one: a controller that is not running is a finding — and lets engine/ops/check.ts decide.
 * Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments included: a plugin's convention).
 */
import { RcopyError } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { DEFAULT_THRESHOLDS, evaluate, formatCheck, type CheckInput, type CheckSide, type Thresholds } from '../../engine/ops/check.js';
import { readPairsOffline } from '../../engine/array/offline.js';
import { connectArray } from '../../server/client.js';
import type { Method, ParamsOf, ResultOf } from '../../server/methods.js';
import type { CallArgs } from '../../server/protocol.js';
import { checkName, parseDuration } from '../../units.js';
import { E } from '../../errors.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { arrayNames } from './common.js';

export const CHECK_SCHEMA_VERSION = 1;
const TIMEOUT_MS = 10_000;

function pct(opt: string, text: unknown, dflt: number): number {
  if (text === undefined) return dflt;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(String(text).trim());
  if (!m || Number(m[1]) > 100) throw E.badInput(`${opt} '${String(text)}' is not a percentage`, 'use e.g. 80%');
  return Number(m[1]);
}

export function thresholdsOf(opts: CommandOpts): Thresholds {
  const d = DEFAULT_THRESHOLDS;
  const secs = (opt: string, v: unknown, dflt: number): number => (v === undefined ? dflt : parseDuration(String(v), { option: opt }) / 1000);
  const t: Thresholds = {
    rpoWarnSeconds: secs('--rpo-warn', opts.rpoWarn, d.rpoWarnSeconds),
    rpoCritSeconds: secs('--rpo-crit', opts.rpoCrit, d.rpoCritSeconds),
    journalWarnPct: pct('--journal-warn', opts.journalWarn, d.journalWarnPct),
    journalCritPct: pct('--journal-crit', opts.journalCrit, d.journalCritPct),
    backupVerifyAgeSeconds: opts.backupVerifyAge === undefined ? null : secs('--backup-verify-age', opts.backupVerifyAge, 0),
  };
  if (t.rpoWarnSeconds > t.rpoCritSeconds) throw E.badInput('--rpo-warn is over --rpo-crit', 'the warning threshold comes first');
  if (t.journalWarnPct > t.journalCritPct) throw E.badInput('--journal-warn is over --journal-crit', 'the warning threshold comes first');
  return t;
}

type Probe = { name: string; answered: boolean; error: string | null; views: CheckSide[]; pulls: CheckInput['pulls']; backups: CheckInput['backups']; offline: number };

/** One array: its pairs, its pulls and its backups, or why it did not answer. */
async function probe(ctx: CliContext, name: string): Promise<Probe> {
  const out: Probe = { name, answered: false, error: null, views: [], pulls: [], backups: [], offline: 0 };
  let c;
  try {
    c = await connectArray(name, ctx.home, { autostart: false });
  } catch (e) {
    out.error = (e as Error).message;
    out.offline = readPairsOffline(name, ctx.home).length;
    return out;
  }
  const conn = c;
  const ask = async <M extends Method>(m: M, params: ParamsOf<M>): Promise<ResultOf<M>> => (await conn.call(m, ...([params, { timeoutMs: TIMEOUT_MS }] as unknown as CallArgs<M>))).result;
  try {
    out.views = (await ask('pair.list', {})) as unknown as CheckSide[];
    out.answered = true;
    for (const j of new Set(out.views.filter((v) => v.state && (v as { role?: string }).role === 'S').map((v) => v.journal))) {
      const st = await ask('pull.status', { journal: j.slice(j.indexOf(':') + 1) });
      out.pulls.push({ journal: j, lastError: st.lastError, failingSince: st.failingSince });
    }
    out.backups = (await ask('backup.list', {})).map((b) => ({ id: b.id, source: b.source, state: b.state, error: b.error, lastVerify: b.lastVerify }));
  } catch (e) {
    if (!out.answered) {
      out.error = (e as Error).message;
      out.offline = readPairsOffline(name, ctx.home).length;
    }
  } finally {
    c.close();
  }
  return out;
}

async function gather(ctx: CliContext, arrayArg: string | undefined, group: string | undefined): Promise<CheckInput> {
  const todo = arrayArg ? [checkName('array', arrayArg)] : arrayNames(ctx);
  for (const a of todo) existingArrayDir(a, ctx.home);
  const probes = new Map<string, Probe>();
  while (todo.length) {
    const batch = todo.splice(0).filter((a) => !probes.has(a));
    for (const p of await Promise.all(batch.map((a) => probe(ctx, a)))) {
      probes.set(p.name, p);
      // the other side of every pair is looked at too (a dead peer is a finding)
      for (const v of p.views) for (const ref of [v.pvol, v.svol]) todo.push(ref.slice(0, ref.indexOf(':')));
      if (!p.answered) for (const r of readPairsOffline(p.name, ctx.home)) todo.push(r.remoteArray);
    }
  }
  const inGroup = (g: string): boolean => !group || g === group;
  const pairs = new Map<string, { id: string; p: CheckSide | null; s: CheckSide | null }>();
  for (const pr of probes.values())
    for (const v of pr.views.filter((x) => inGroup(x.group))) {
      const e = pairs.get(v.id) ?? { id: v.id, p: null, s: null };
      if ((v as { role?: string }).role === 'P') e.p = v;
      else e.s = v;
      pairs.set(v.id, e);
    }
  const groupPairs = (name: string): number => readPairsOffline(name, ctx.home, { group }).length;
  const arrays = [...probes.values()].map((p) => ({
    name: p.name,
    answered: p.answered,
    error: p.error,
    pairs: p.answered ? p.views.filter((v) => inGroup(v.group)).length : group ? groupPairs(p.name) : p.offline,
  }));
  const journals = new Set([...pairs.values()].map((x) => x.s?.journal));
  return {
    now: Date.now(),
    arrays: arrays.filter((a) => a.answered || a.pairs > 0),
    pairs: [...pairs.values()],
    pulls: [...probes.values()].flatMap((p) => p.pulls).filter((p) => journals.has(p.journal)),
    backups: group ? [] : [...probes.values()].flatMap((p) => p.backups),
  };
}

export async function check(ctx: CliContext, [arrayArg]: Array<string | string[] | undefined>, opts: CommandOpts): Promise<Output> {
  try {
    const t = thresholdsOf(opts);
    const input = await gather(ctx, arrayArg as string | undefined, opts.group as string | undefined);
    const r = evaluate(input, t);
    return { data: { schemaVersion: CHECK_SCHEMA_VERSION, checkedAt: new Date(input.now).toISOString(), ...r, thresholds: t }, text: formatCheck(r), exitCode: r.exitCode };
  } catch (e) {
    const err = e instanceof RcopyError ? e : E.badInput((e as Error).message);
    return {
      data: { schemaVersion: CHECK_SCHEMA_VERSION, status: 'UNKNOWN', exitCode: 3, error: { code: err.code, message: err.message, hint: err.hint ?? null } },
      text: `RCOPY UNKNOWN - ${err.code}: ${err.message}`,
      exitCode: 3,
    };
  }
}
