/**
 * rcopy pair verify (ARRAY:VOL | --group G) [--repair]: online verify of a group in PAIR, run by the
 * secondary's controller (engine/repl/verify.ts). Exit 3 when tracks differ (and were not repaired).
 * With --repair the differing tracks go into the differential bitmap and a resync copies them; the
 * command waits until the group is PAIR again.
 */
import { E } from '../../errors.js';
import { formatBytes, formatDuration, formatRate, parseDuration } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { progress } from '../render/progress.js';
import { call, withArray } from './common.js';
import { onInterrupt, wasInterrupted } from '../interrupt.js';
import { resolvePairs } from './pair.js';

export const VERIFY_SCHEMA_VERSION = 1;

async function waitPair(ctx: CliContext, sArray: string, pArray: string, id: string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const [s, p] = await Promise.all([call(ctx, sArray, 'pair.show', { id }), call(ctx, pArray, 'pair.show', { id })]);
    if (s.state === 'PAIR' && p.state === 'PAIR') return;
    // the two sides are asked at once: the secondary may be PAIR a moment before the answer of the
    // primary says so (or after: the primary switches first); only a suspension ends the wait
    if (s.state !== 'COPY' && s.state !== 'PAIR') throw E.resyncFailed(`the repair's resync of ${id} stopped: ${s.state} (${s.reason})`, `fix the cause, then rcopy pair resync ${id}`);
    if (Date.now() - t0 > timeoutMs) throw E.timeout(`timed out after ${formatDuration(timeoutMs)} waiting for the repair's resync of ${id}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function verify(ctx: CliContext, [ref]: Array<string | string[] | undefined>, opts: CommandOpts): Promise<Output> {
  const targets = await resolvePairs(ctx, ref as string | undefined, opts.group as string | undefined);
  const t = targets[0]!;
  const prog = await progress(ctx, 'verifying', 'tracks');
  let r;
  // Ctrl-C / SIGTERM ends the verify in the controller (its job) at its next chunk: what was compared is reported
  let job: number | null = null;
  try {
    r = await withArray(ctx, t.sArray, async (c) => {
      const off = onInterrupt(`the verify of ${t.id}`, async () => (job === null ? c.close() : void (await call(ctx, t.sArray, 'jobs.stop', { id: job, reason: 'interrupted' }))));
      try {
        const onEvent = (ev: Record<string, unknown>): void => void (typeof ev.job === 'number' ? (job = ev.job) : prog.update(Number(ev.done), Number(ev.total)));
        return (await c.call('pair.verify', { id: t.id, repair: !!opts.repair }, { timeoutMs: 24 * 3600_000, onEvent })).result;
      } finally {
        off();
      }
    });
  } catch (e) {
    // a signal before the controller named the job closed the connection: the controller ended the verify
    if (!wasInterrupted()) throw e;
    return { data: { schemaVersion: VERIFY_SCHEMA_VERSION, cancelled: 'interrupted', id: t.id }, text: `verify of ${t.id} cancelled in the controller`, exitCode: 130 };
  } finally {
    prog.stop();
  }
  const differing = r.pairs.reduce((n, x) => n + x.differing.length, 0);
  const repaired = !!r.repair && differing > 0;
  if (repaired) await waitPair(ctx, t.sArray, t.pArray, t.id, opts.timeout ? parseDuration(String(opts.timeout)) : 3_600_000);
  const lines = r.pairs.map((x) => {
    const list = x.differing.slice(0, 20).map((d) => `${d.track} (offset ${d.offset})`);
    const more = x.differing.length > 20 ? `, and ${x.differing.length - 20} more` : '';
    return `${x.pvol} -> ${x.svol}: ${x.compared} of ${x.tracks} tracks compared, ${x.differing.length ? `${x.differing.length} differ: ${list.join(', ')}${more}` : 'all equal'}${x.unverified ? `; ${x.unverified} written during the verify, not compared` : ''}`;
  });
  if (r.cancelled !== null) lines.push(`verify cancelled (${r.cancelled}) after ${formatBytes(r.bytes)}: the tracks not compared are not known to be equal`);
  else
    lines.push(
      `verified ${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)}s (${formatRate(r.bytes / Math.max(r.seconds, 0.001))})${repaired ? `; the ${differing} differing tracks were resynced: PAIR` : ''}`,
    );
  return {
    data: { schemaVersion: VERIFY_SCHEMA_VERSION, ...r, differingTracks: differing, repaired },
    text: lines.join('\n'),
    exitCode: r.cancelled !== null ? 130 : differing > 0 && !repaired ? 3 : 0,
  };
}
