/** rcopy backup create|list|show|verify|restore|delete */
import type { BackupRecord, RestoreResult, VerifyResult } from '../../engine/backup/manager.js';
import { formatBackupId, parseBackupId } from '../../engine/backup/id.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { E } from '../../errors.js';
import { checkName, formatBytes, formatDuration, parseRate, parseVolOrViewRef, parseVolRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { ParamsOf } from '../../server/methods.js';
import { iso, type Output } from '../render/output.js';
import { describeBackup, listRows } from '../render/backups.js';
import { confirm, need, type Choice } from '../ui.js';
import { progress } from '../render/progress.js';
import { knownArray } from '../../server/transport/resolve.js';
import { arrayNames, call, pickArray, pickVolume, volumeChoices, withArray } from './common.js';
import { onInterrupt, wasInterrupted } from '../interrupt.js';

type Args = Array<string | string[] | undefined>;

/** ARRAY:bk-NNNNNN or a bare id; a bare id is looked up in every array of the home. */
export async function resolveBackup(ctx: CliContext, text: string | undefined): Promise<{ array: string; number: number; ref: string }> {
  const t = await need(ctx, text, { name: 'the backup id (ARRAY:bk-NNNNNN)', message: 'Which backup?', choices: () => backupChoices(ctx) });
  const id = parseBackupId(t);
  if (id.array) {
    existingArrayDir(checkName('array', id.array), ctx.home);
    return { array: id.array, number: id.number, ref: `${id.array}:${formatBackupId(id.number)}` };
  }
  const found = await arraysHolding(ctx, id.number);
  if (found.length === 0) throw E.notFound('backup', formatBackupId(id.number), 'name it as ARRAY:bk-NNNNNN; see rcopy backup list ARRAY');
  if (found.length > 1) {
    throw E.usage(`backup id ${formatBackupId(id.number)} exists on several arrays: ${found.map((a) => `${a}:${formatBackupId(id.number)}`).join(', ')}`, 'name it as ARRAY:bk-NNNNNN');
  }
  return { array: found[0]!, number: id.number, ref: `${found[0]}:${formatBackupId(id.number)}` };
}

/** Arrays whose catalogue has backup number n (read-only look into each management store). */
async function arraysHolding(ctx: CliContext, n: number): Promise<string[]> {
  const { hasBackupOffline } = await import('../../engine/array/offline.js');
  return arrayNames(ctx).filter((a) => hasBackupOffline(a, ctx.home, n));
}

async function backupChoices(ctx: CliContext): Promise<Choice[]> {
  const out: Choice[] = [];
  for (const a of arrayNames(ctx)) {
    const list = await call(ctx, a, 'backup.list');
    for (const b of list) if (b.state === 'good') out.push({ name: `${b.id}  gen ${b.generation} of ${b.source}  ${iso(b.pointInTime)}  ${b.label ?? ''}`, value: b.id });
  }
  return out;
}

function parseInfo(items: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of (Array.isArray(items) ? items : items === undefined ? [] : [items]) as string[]) {
    const i = String(it).indexOf('=');
    if (i <= 0) throw E.badInput(`invalid --info '${it}'`, 'use --info key=value, e.g. --info app=db');
    out[String(it).slice(0, i)] = String(it).slice(i + 1);
  }
  return out;
}

export async function create(ctx: CliContext, [srcArg]: Args, opts: CommandOpts): Promise<Output> {
  // a drill's view ARRAY:SVOL@DRILL backs up as a volume does
  const view = typeof srcArg === 'string' && srcArg.includes('@') ? parseVolOrViewRef(srcArg) : null;
  if (view) knownArray(view.array, ctx.home);
  const src = view ? { ...view, ref: `${view.array}:${view.name}` } : await pickVolume(ctx, srcArg as string | undefined, 'Back up which volume?');
  const toText = await need(ctx, opts.to, { name: '--to (the backup volume, ARRAY:VOLUME)', message: 'Into which backup volume?', choices: () => volumeChoices(ctx) });
  const to = parseVolRef(toText);
  if (to.array !== src.array)
    throw E.badInput(`the backup volume must be on the same array as the source (${src.array}), not ${to.array}`, `create one: rcopy volume create ${src.array}:NAME --size SIZE`);
  const params: Record<string, unknown> = { source: src.name, target: to.name, info: parseInfo(opts.info), incremental: !!opts.incremental, progress: ctx.progress };
  if (opts.label !== undefined) params.label = String(opts.label);
  if (opts.keep !== undefined) {
    const k = Number(opts.keep);
    if (!Number.isInteger(k) || k < 1) throw E.badInput(`invalid --keep '${opts.keep}'`, 'keep a whole number of generations, at least 1');
    params.keep = k;
  }
  if (opts.rate !== undefined) params.rate = parseRate(opts.rate);
  const p = await progress(ctx, `backing up ${src.ref} into ${src.array}:${to.name}`);
  let b: BackupRecord;
  // Ctrl-C / SIGTERM cancels the backup in the controller (its job): it leaves nothing in the catalogue
  let job: number | null = null;
  try {
    b = await withArray(ctx, src.array, async (c) => {
      const off = onInterrupt('the backup', async () => (job === null ? c.close() : void (await call(ctx, src.array, 'jobs.stop', { id: job, reason: 'interrupted' }))));
      try {
        return (await c.call('backup.create', params as ParamsOf<'backup.create'>, { onEvent: (ev) => (typeof ev.job === 'number' ? (job = ev.job) : p.update(Number(ev.done), Number(ev.total))) }))
          .result;
      } finally {
        off();
      }
    });
  } catch (e) {
    if (!wasInterrupted()) throw e;
    return {
      data: { cancelled: true, source: src.ref, target: `${src.array}:${to.name}` },
      text: `backup of ${src.ref} cancelled in the controller; nothing was added to the catalogue`,
      exitCode: 130,
    };
  } finally {
    p.stop();
  }
  return { data: b, text: `backed up ${describeBackup(b)}` };
}

export async function list(ctx: CliContext, [arrayArg]: Args, opts: CommandOpts): Promise<Output> {
  const array = await pickArray(ctx, arrayArg as string | undefined);
  const params: ParamsOf<'backup.list'> = {};
  // ARRAY:VOLUME or VOLUME, or a drill's view (VOLUME@DRILL), as `backup create` takes it
  if (opts.source !== undefined) params.source = parseVolOrViewRef(String(opts.source).includes(':') ? String(opts.source) : `${array}:${String(opts.source)}`).name;
  const l = await call(ctx, array, 'backup.list', params);
  return { data: l, table: listRows(l), text: l.length ? undefined : `no backups on ${array} (rcopy backup create ${array}:VOLUME --to ${array}:BACKUP-VOLUME)` };
}

export async function show(ctx: CliContext, [idArg]: Args): Promise<Output> {
  const id = await resolveBackup(ctx, idArg as string | undefined);
  const b = await call(ctx, id.array, 'backup.show', { number: id.number });
  return { data: { ...b, pointInTimeAt: iso(b.pointInTime) || null, startedAt: iso(b.started) || null, finishedAt: iso(b.finished) || null } };
}

export async function verify(ctx: CliContext, [idArg]: Args): Promise<Output> {
  const id = await resolveBackup(ctx, idArg as string | undefined);
  const p = await progress(ctx, `verifying ${id.ref}`);
  let r: VerifyResult;
  try {
    r = await call(ctx, id.array, 'backup.verify', { number: id.number, progress: ctx.progress }, { onEvent: (ev) => p.update(Number(ev.done), Number(ev.total)) });
  } finally {
    p.stop();
  }
  if (r.ok) return { data: r, text: `${r.id}: OK (${formatBytes(r.bytes)}, checksum ${r.actual.slice(0, 16)}…)` };
  const where = r.badOffsets.length ? `; tracks at offsets ${r.badOffsets.join(', ')} differ` : '';
  return {
    data: r,
    exitCode: 3,
    text: `${r.id}: MISMATCH — the backup image does not match its recorded checksum (recorded ${r.expected.slice(0, 16)}…, now ${r.actual.slice(0, 16)}…)${where}`,
  };
}

export async function restore(ctx: CliContext, [idArg]: Args, opts: CommandOpts): Promise<Output> {
  const id = await resolveBackup(ctx, idArg as string | undefined);
  let toName: string | undefined;
  if (opts.to !== undefined) {
    const to = parseVolRef(String(opts.to));
    if (to.array !== id.array) throw E.badInput(`a backup of ${id.array} restores into a volume of ${id.array}, not ${to.array}`);
    toName = to.name;
  }
  const b = await call(ctx, id.array, 'backup.show', { number: id.number });
  const chk = await call(ctx, id.array, 'backup.checkRestore', { number: id.number, to: toName });
  await confirm(ctx, `Overwrite ${id.array}:${chk.dest} with backup ${id.ref} (generation ${b.generation} of ${b.source}, ${iso(b.pointInTime)})? Its first ${formatBytes(chk.size)} are replaced.`);
  const p = await progress(ctx, `restoring ${id.ref} into ${id.array}:${chk.dest}`);
  let r: RestoreResult;
  try {
    r = await call(ctx, id.array, 'backup.restore', { number: id.number, to: chk.dest, progress: ctx.progress }, { onEvent: (ev) => p.update(Number(ev.done), Number(ev.total)) });
  } finally {
    p.stop();
  }
  if (!r.matches) {
    return { data: r, exitCode: 3, text: `restored ${id.ref} into ${r.to}, but the data written does not match the recorded checksum: run rcopy backup verify ${id.ref}` };
  }
  return {
    data: r,
    text: `restored ${id.ref} into ${r.to}: ${formatBytes(r.bytes)} (${formatBytes(r.bytesWritten)} written) in ${formatDuration(r.seconds * 1000)}; checksum matches the one recorded`,
  };
}

export async function remove(ctx: CliContext, [idArg]: Args): Promise<Output> {
  const id = await resolveBackup(ctx, idArg as string | undefined);
  const b = await call(ctx, id.array, 'backup.show', { number: id.number });
  await confirm(ctx, `Delete backup ${id.ref} (${b.state === 'good' ? `generation ${b.generation}` : b.state} of ${b.source}, ${iso(b.pointInTime)})?`);
  const r = await call(ctx, id.array, 'backup.delete', { number: id.number });
  return { data: r, text: `deleted ${r.deleted}${r.freedVolume ? `; ${r.freedVolume} holds no backup any more and is an ordinary volume again` : ''}` };
}
