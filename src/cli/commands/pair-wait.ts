/**
 * Waiting on pairs (`pair wait`, `pair create --wait`, `pair resync`): both sides' views of a pair,
 * and the loop that polls them until a state, with a progress bar and early failures.
 */
import { E, type RcopyError } from '../../errors.js';
import { formatDuration } from '../../units.js';
import type { CliContext } from '../context.js';
import type { PairDetail } from '../../server/methods.js';
import { progress } from '../render/progress.js';
import { call } from './common.js';

export type PairViews = { p: PairDetail | null; s: PairDetail | null };

export interface PairTarget {
  id: string;
  /** The array that drives the pair (its secondary side). */
  sArray: string;
  pArray: string;
  /** The side the user named (its volume), or null for a group. */
  side?: 'P' | 'S' | null;
}

/** Both sides' views of a pair; a side that cannot be reached is null. */
export async function views(ctx: CliContext, t: PairTarget): Promise<PairViews> {
  const get = async (a: string): Promise<PairDetail | null> => {
    try {
      return await call(ctx, a, 'pair.show', { id: t.id });
    } catch {
      return null;
    }
  };
  const [p, s] = await Promise.all([get(t.pArray), get(t.sArray)]);
  return { p, s };
}

/**
 * PAIR means both sides are PAIR. Any other state is looked for on the side the user named (its
 * volume's side; PSUS and SSUS are the two faces of a split), or on either side for a group.
 */
export function matches(state: string, v: PairViews, side?: 'P' | 'S' | null): boolean {
  const ps = v.p?.state;
  const ss = v.s?.state;
  if (state === 'PAIR') return ps === 'PAIR' && ss === 'PAIR';
  const same = (x: string | undefined): boolean => x === state || (state === 'SSUS' && x === 'PSUS') || (state === 'PSUS' && x === 'SSUS');
  if (side === 'P') return same(ps);
  if (side === 'S') return same(ss);
  return same(ps) || same(ss);
}

/**
 * Drained: the secondary restored everything the primary journaled, and a resync's kept image is
 * gone (the S-VOL is consistent at its newest point, so a drill or a verify can start at once).
 */
function drained(v: PairViews): boolean {
  return !!v.p && !!v.s && v.s.restoredSeq! >= v.p.lastSeq! && (v.s.journalEntries ?? 0) === 0 && v.s.consistentFromSeq === undefined;
}

/** A copy or resync that stopped: the secondary left COPY for a suspended state. */
export function copyStopped(v: PairViews): RcopyError | null {
  const s = v.s;
  const st = s?.state;
  if (!s || !st || st === 'COPY' || st === 'PAIR' || st === 'PFUL') return null;
  return E.resyncFailed(`copy of ${s.id} stopped: ${st} (${s.reason})`, `fix the cause, then rcopy pair resync ${s.id} again${s.imageTracks ? `, or rcopy pair revert ${s.id}` : ''}`);
}

export async function waitFor(
  ctx: CliContext,
  targets: PairTarget[],
  state: string,
  needDrained: boolean,
  timeoutMs: number,
  showProgress: boolean,
  failIf?: (v: PairViews) => RcopyError | null | Promise<RcopyError | null>,
): Promise<PairViews[]> {
  const t0 = Date.now();
  // tracks are shown as bytes, in the unit of every other size and rate
  const trackSize = showProgress && ctx.progress ? (await call(ctx, targets[0]!.sArray, 'array.info').catch(() => null))?.trackSize : undefined;
  const prog = showProgress ? await progress(ctx, `waiting for ${state}`, 'tracks', trackSize) : null;
  try {
    for (;;) {
      const vs = await Promise.all(targets.map((t) => views(ctx, t)));
      if (vs.every((v, i) => matches(state, v, targets[i]!.side) && (!needDrained || drained(v)))) return vs;
      for (const v of vs) {
        const err = await failIf?.(v);
        if (err) throw err;
      }
      const copying = vs.find((v) => v.s?.state === 'COPY')?.s;
      if (prog && copying)
        prog.update(
          copying.copyDone,
          copying.copyTotal || undefined,
          copying.copyDone === 0 && copying.resyncing ? 'saving the consistent image' : copying.resyncing ? 'resync: copying' : 'initial copy: copying',
        );
      if (Date.now() - t0 > timeoutMs) {
        const now = vs.map((v, i) => `${targets[i]!.id}: ${v.p?.state ?? '?'}/${v.s?.state ?? '?'}${needDrained && v.p && v.s ? ` (restored ${v.s.restoredSeq} of ${v.p.lastSeq})` : ''}`).join(', ');
        throw E.timeout(`timed out after ${formatDuration(timeoutMs)} waiting for ${state}${needDrained ? ' and an empty journal' : ''}: ${now}`);
      }
      await pause(ctx, state, vs, targets, Date.now() - t0, timeoutMs, prog !== null && ctx.progress);
    }
  } finally {
    prog?.stop();
  }
}

/**
 * Until the next look at both sides. While a secondary copies (COPY) and the wait is for another
 * state, its controller is asked to answer once the copy's state changes (pair.await): no polling
 * of both controllers while they copy, and no delay after. Otherwise short waits first (a group
 * switch is over in a moment), then less often.
 */
async function pause(ctx: CliContext, state: string, vs: PairViews[], targets: PairTarget[], elapsedMs: number, timeoutMs: number, bar: boolean): Promise<void> {
  const i = state === 'COPY' ? -1 : vs.findIndex((v) => v.s?.state === 'COPY');
  if (i >= 0) {
    const t = targets[i]!;
    const waitMs = Math.max(0, Math.min(bar ? 250 : 1000, timeoutMs - elapsedMs));
    if (
      await call(ctx, t.sArray, 'pair.await', { id: t.id, from: 'COPY', timeoutMs: waitMs }).then(
        () => true,
        () => false,
      )
    )
      return;
  }
  await new Promise((r) => setTimeout(r, elapsedMs < 1000 ? 10 : elapsedMs < 3000 ? 40 : 150));
}

/**
 * Waiting for a journaling state (PAIR, COPY, PFUL) is hopeless once the group is suspended by an
 * error and nothing resyncs it by itself (PFUS; PSUE unless its journal has auto-resync, which
 * brings a PSUE group back once its link is up): the wait fails then, as CCI's pairevtwait does on
 * PSUE, instead of running out its timeout. The auto-resync setting is asked once per journal.
 */
export function errorSuspended(ctx: CliContext): (v: PairViews) => Promise<RcopyError | null> {
  const auto = new Map<string, boolean>();
  return async (v) => {
    const side = v.s ?? v.p;
    const st = side?.state;
    if (!side || (st !== 'PSUE' && st !== 'PFUS')) return null;
    const s = v.s;
    // a view names its journal ARRAY:NAME; journal.show wants the name within the array
    const key = s?.journal ?? '';
    const name = key.slice(key.indexOf(':') + 1);
    // auto-resync brings a PSUE group back once its link is up (never a PFUS one)
    if (s && st === 'PSUE' && !auto.has(key)) {
      const info = await call(ctx, s.array, 'journal.show', { name }).catch(() => null);
      if (!info) return null; // not known now: the wait goes on (its timeout still holds)
      auto.set(key, info.autoResync);
    }
    if (s && st === 'PSUE' && auto.get(key)) return null;
    const ref = s?.volume ?? side.volume;
    return E.state(`${ref} is ${st} (${side.reason}): it does not return to a journaling state by itself`, `rcopy pair resync ${ref}, or create the journal with --auto-resync`);
  };
}
