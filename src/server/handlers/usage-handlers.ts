/**
 * What uses an array, one of its volumes or journals (`array.usage`): pairs (this array's side of
 * each; the peer keeps the other), NBD exports and running PB-bit collections. The CLI refuses a
 * delete while any is there, and `--force` ends each use first (see src/cli/commands/safe-delete.ts).
 */
import type { StatsCollector } from '../../engine/stats/collector.js';
import type { ReplService } from './repl-handlers.js';
import type { ExportRegistry } from '../nbd/exports.js';
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import type { ObjectUse } from '../methods.js';

function pairUses(ctx: HandlerContext, volume: string | null, journal: string | null): ObjectUse[] {
  const a = ctx.array.name;
  const rows = ctx.service<ReplService>('replication').r.records.rs.pairs();
  return rows
    .filter((p) => (volume === null || p.localVol === volume) && (journal === null || p.localJournal === journal))
    .map((p) => {
      const local = `${a}:${p.localVol}`;
      const remote = `${p.remoteArray}:${p.remoteVol}`;
      const [pvol, svol] = p.role === 'P' ? [local, remote] : [remote, local];
      return { kind: 'pair', id: p.id, what: `pair ${pvol} -> ${svol} (${p.state}, group ${p.groupName})`, first: `rcopy pair delete ${local}` };
    });
}

function exportUses(ctx: HandlerContext, volume: string | null): ObjectUse[] {
  const a = ctx.array.name;
  return ctx
    .service<ExportRegistry>('nbd-exports')
    .list()
    .filter((x) => volume === null || x.volume === volume)
    .map((x) => ({ kind: 'export', id: x.name, what: `NBD export '${x.name}' of ${a}:${x.volume} (${x.clients} clients)`, first: `rcopy export stop ${a}:${x.volume}`, volume: x.volume }));
}

function collectionUses(ctx: HandlerContext, volume: string | null): ObjectUse[] {
  // a collection uses its volumes while it runs; a stopped one keeps only its past entries
  const a = ctx.array.name;
  const groups = ctx.service<Service & { collector: StatsCollector }>('stats').collector.stats.groups();
  return groups
    .filter((g) => g.running && (volume === null || g.members.some((m) => !m.external && m.volume === volume)))
    .map((g) => ({ kind: 'collection', id: g.name, what: `PB-bit collection ${a}:${g.name} (running)`, first: `rcopy stats stop ${a}:${g.name}` }));
}

export const handlers: Handlers = {
  'array.usage': async (ctx, p) => {
    const volume = p.volume ?? null;
    const journal = p.journal ?? null;
    if (volume !== null) ctx.array.volume(volume);
    if (journal !== null) ctx.service<ReplService>('replication').r.records.journalRow(journal);
    if (journal !== null) return pairUses(ctx, null, journal);
    return [...exportUses(ctx, volume), ...collectionUses(ctx, volume), ...pairUses(ctx, volume, null)];
  },
};
