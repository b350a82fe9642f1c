/**
 * Controller methods for DR drills (`drill start|stop|list|show`) and the drill service, which
 * owns the array's Drills (engine/drill/drills.ts): it hooks them into the Restorer (a batch's
 * tracks kept before they are overwritten) and into the array's write path (any other writer of
 * an S-VOL with a drill), and gives the other handlers the views `VOL@DRILL` (viewOf).
 */
import { Drills } from '../../engine/drill/drills.js';
import { splitViewName, type VolumeView } from '../../engine/drill/volume-view.js';
import { viewSource } from '../../engine/drill/view-source.js';
import type { Volume } from '../../engine/array/volume.js';
import { rpoOf, type RpoSide } from '../../engine/ops/rpo.js';
import { E } from '../../errors.js';
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import type { PairDetail } from '../methods.js';
import { optInt, optStr, str } from '../validate.js';
import { groupGuards } from './group-guards.js';
import type { ReplService } from './repl-handlers.js';

export class DrillService implements Service {
  readonly name = 'drills';
  readonly drills: Drills;
  /** Told before a drill's views go (NBD exports of them end: nbd/exports.ts), with the drill's name. */
  readonly viewsEnd: Array<(drill: string) => Promise<unknown>> = [];

  constructor(private readonly ctx: HandlerContext) {
    const repl = ctx.service<ReplService>('replication');
    const r = repl.r;
    this.drills = new Drills({ site: r.site, records: r.records, journals: r.journals, restorer: repl.pulls.restorer });
    repl.pulls.restorer.beforeBatch.push((journal, writes) => this.drills.beforeRestore(journal, writes));
    groupGuards(ctx).push((pairId, yes, what) => this.guard(pairId, yes, what));
    this.drills.onEnded = (row) => {
      ctx.log(`drill ${row.name} stopped (${row.stopReason}): ${row.note ?? ''}`);
      // not awaited: a limit is reached inside a view's write, which an export's close would wait for
      void this.endViews(row.name);
    };
  }

  async start(): Promise<void> {
    await this.drills.load();
    // after replication's own hook (pushed in its start): a host write it refuses keeps nothing
    this.ctx.array.writeHooks.push((vol, offset, data, origin) => (this.drills.has(vol.name) ? this.drills.beforeWrite(vol, offset, data, origin) : undefined));
  }

  async stop(): Promise<void> {
    // the views stay open until the process ends: a restore still running keeps its tracks
    this.drills.saveProgress();
  }

  /**
   * A command that changes the group of an S-side pair: refused while the group has a running
   * drill, saying what would happen to it; with `yes` the drill ends first (recorded, reason group).
   */
  async guard(pairId: string, yes: boolean, what: string): Promise<void> {
    const records = this.ctx.service<ReplService>('replication').r.records;
    const pair = records.rs.pairs().find((p) => p.id === pairId && p.role === 'S');
    if (!pair || !changesGroup(what, pair.state, pair.writable)) return;
    await this.drills.load();
    const running = this.drills.ofJournal(pair.localJournal);
    if (!running.length) return;
    const names = running.map((d) => `${this.ctx.array.name}:${d.name}`);
    if (!yes) {
      throw E.state(
        `journal group ${pair.groupName} has a running drill (${names.join(', ')}): ${what} ends it (its views and their space go, its record stays)`,
        `add --yes to end it, or stop it first: rcopy drill stop ${names[0]} --result pass|fail`,
      );
    }
    for (const d of running) await this.endViews(d.name);
    await this.drills.endGroup(pair.localJournal, `ended by ${what}`);
  }

  /** Ends what uses a drill's views (their NBD exports) before the views go. */
  async endViews(drill: string): Promise<void> {
    for (const f of this.viewsEnd) await f(drill).catch((e: Error) => this.ctx.log(`drill ${drill}: ending its views' users: ${e.message}`));
  }

  /** The restore journal of an S-VOL, or of a group, of this array. */
  journalOf(volume?: string | null, group?: string | null): string {
    const records = this.ctx.service<ReplService>('replication').r.records;
    const ps = records.rs.pairs().filter((p) => p.role === 'S' && (volume ? p.localVol === volume : p.groupName === group));
    if (!volume && !group) throw E.usage('name an S-VOL (ARRAY:VOLUME) or --group', 'e.g. rcopy drill start siteB:db');
    if (!ps.length) throw E.notFound(volume ? 'S-VOL' : 'journal group with an S-VOL', `${this.ctx.array.name}:${volume ?? group}`, 'a drill runs on the secondary: name its S-VOL or group there');
    return ps[0]!.localJournal;
  }

  /** The RPO of a view of `journal` at seq/ct, from the primary's view of the group. */
  async rpo(journal: string, seq: number, ct: number | null): Promise<number | null> {
    const r = this.ctx.service<ReplService>('replication').r;
    const p = r.records.groupPairs(journal).find((x) => x.role === 'S');
    if (!p) return null;
    const peer = await r.links.peer(p.remoteArray);
    const pv = (await peer.call<PairDetail>('pair.show', { id: p.id }, { timeoutMs: 10_000 })).result as unknown as RpoSide;
    return rpoOf(pv, { state: 'PAIR', restoredSeq: seq, consistencyTime: ct }).rpoSeconds;
  }
}

/** Whether a command would change the group (a re-run that changes nothing needs no --yes). */
function changesGroup(what: string, state: string, writable: boolean): boolean {
  if (what === 'pair split') return state !== 'SSUS' && state !== 'PSUS';
  if (what === 'pair resync') return state !== 'PAIR';
  if (what === 'pair takeover') return !writable;
  return true;
}

const svc = (ctx: HandlerContext): DrillService => ctx.service<DrillService>('drills');

/** The drill view a volume name `VOL@DRILL` names, or null for a plain volume name. */
export function viewOf(ctx: HandlerContext, name: string): VolumeView | null {
  const v = splitViewName(name);
  return v ? svc(ctx).drills.view(v.vol, v.drill) : null;
}

/** A view `VOL@DRILL` as a backup source, and how to hold its writes off while it is copied; null for a plain volume name. */
export function viewBackupSource(ctx: HandlerContext, name: string): { source: Volume; hold: VolumeView['hold'] } | null {
  const v = splitViewName(name);
  if (!v) return null;
  const view = svc(ctx).drills.view(v.vol, v.drill);
  return { source: viewSource(view, name, svc(ctx).drills.show(v.drill).id), hold: (fn) => view.hold(fn) };
}

/**
 * Checks a name of a view `VOL@DRILL` that may be gone (a backup's source outlives its drill): the
 * drill is recorded on this array (running or stopped) and viewed VOL. Returns false for a plain volume name.
 */
export function recordedView(ctx: HandlerContext, name: string): boolean {
  const v = splitViewName(name);
  if (!v) return false;
  const d = svc(ctx).drills.show(v.drill);
  if (!d.volumes.includes(v.vol)) throw E.notFound('volume in drill', `${ctx.array.name}:${name}`, `drill ${v.drill} viewed ${d.volumes.join(', ')}`);
  return true;
}

/** Writes into a view, within its drill's --max-size. */
export function writeView(ctx: HandlerContext, name: string, offset: number, data: Buffer): Promise<void> {
  const v = splitViewName(name)!;
  return svc(ctx).drills.write(v.vol, v.drill, offset, data);
}

export const services = [(ctx: HandlerContext) => new DrillService(ctx)];

export const handlers: Handlers = {
  'drill.start': async (ctx, p) => {
    const s = svc(ctx);
    const journal = s.journalOf(optStr(p, 'volume'), optStr(p, 'group'));
    return s.drills.start({ journal, name: optStr(p, 'name'), maxSize: optInt(p, 'maxSize', 1), rpo: (seq, ct) => s.rpo(journal, seq, ct) });
  },
  'drill.stop': async (ctx, p) => {
    // the view's NBD exports end first (their clients disconnected), then the view goes
    await svc(ctx).endViews(str(p, 'name'));
    return svc(ctx).drills.stop(str(p, 'name'), { result: p.result ?? undefined, note: optStr(p, 'note') });
  },
  'drill.list': async (ctx, p) => svc(ctx).drills.history(optInt(p, 'since') ?? 0),
  'drill.show': async (ctx, p) => svc(ctx).drills.show(str(p, 'name')),
};
