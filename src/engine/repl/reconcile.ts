/**
 * The two sides of a group must not stay in contradicting states: a suspended secondary whose
 * primary still journals tells the primary to suspend too (see check).
 */
import { JOURNALING, SUSPENDED } from './pair-state.js';
import type { GroupRecords } from './group-records.js';
import type { Links } from './links.js';
import type { Parts } from './parts.js';
import type { PrimaryInfo } from './peer.js';
import type { Site } from './site.js';

/** How often a suspended secondary checks that its primary is suspended too. */
const RECONCILE_EVERY_MS = 1000;

export class Reconciler {
  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly links: Links;
  private reconciledAt = new Map<string, number>();

  constructor(parts: Pick<Parts, 'site' | 'records' | 'links'>) {
    this.site = parts.site;
    this.records = parts.records;
    this.links = parts.links;
  }

  /**
   * The two sides of a group must not stay in contradicting states. A secondary whose group is
   * suspended (by itself: pulls failing, a restart during a resync, a revert) while its primary
   * still journals tells the primary to suspend too, so that what it journals goes into its
   * bitmap and the next resync copies it. Checked about once a second while suspended, never
   * while a command of the group runs, and only if the state did not change during the check.
   */
  async check(journal: string): Promise<void> {
    if (Date.now() - (this.reconciledAt.get(journal) ?? 0) < RECONCILE_EVERY_MS) return;
    this.reconciledAt.set(journal, Date.now());
    const row = this.records.rs.journal(journal);
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'S');
    if (!row || row.role !== 'restore' || !row.peerArray || !row.peerJournal || !ps.length) return;
    if (!ps.every((p) => SUSPENDED.has(p.state)) || this.records.opBusy(journal)) return;
    const ep = this.records.epoch(journal);
    try {
      const peer = await this.links.peer(row.peerArray);
      const info = (await peer.call<PrimaryInfo>('repl.info', { journal: row.peerJournal }, { timeoutMs: 5000 })).result;
      const live = Object.entries(info.states ?? {}).filter(([id, st]) => JOURNALING.has(st) && ps.some((p) => p.id === id));
      if (!live.length || this.records.epoch(journal) !== ep || this.records.opBusy(journal)) return;
      const mine = this.records.groupPairs(journal).filter((p) => p.role === 'S');
      if (!mine.every((p) => SUSPENDED.has(p.state))) return;
      const why = `the secondary ${this.site.name} is ${mine[0]!.state}${mine[0]!.reason ? ` (${mine[0]!.reason})` : ''}`;
      this.site.log(`group ${mine[0]!.groupName}: the primary ${row.peerArray} is ${live[0]![1]} while this side is ${mine[0]!.state}: telling it to suspend (PSUE)`);
      await peer.call('repl.primarySuspend', { journal: row.peerJournal, state: 'PSUE', reason: why }, { timeoutMs: 10_000 });
    } catch {
      /* the primary cannot be reached: it suspends by itself after its blockade watch */
    }
  }
}
