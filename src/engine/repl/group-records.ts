/**
 * The pair and journal records of this array (one row per pair side and per journal in mgmt.db)
 * and the one place that changes a pair's state. A group's pairs change in one SQLite transaction;
 * every change bumps the group's epoch, so work started before an await can tell that the state it
 * decided on is gone; operations of the CLI on a group are counted (withOp) so that the
 * reconciliation of two sides waits for them.
 */
import { E } from '../../errors.js';
import { checkMove, type PairState } from './pair-state.js';
import { ReplStore, type JournalRow, type PairRow } from './repl-store.js';
import type { Site } from './site.js';

export class GroupRecords {
  readonly rs: ReplStore;
  private pairCache: Map<string, PairRow[]> | null = null;
  /** Per journal group: a counter bumped by every state change, so that work started before an
   *  await can tell that the state it decided on is gone (compare before acting). */
  private epochs = new Map<string, number>();
  /** Per journal group: operations of the CLI under way (split, resync, takeover, revert); the
   *  reconciliation of contradicting states waits while one runs. */
  private busyOps = new Map<string, number>();

  constructor(private readonly site: Site) {
    this.rs = new ReplStore(site.array.store);
  }

  journalRow(name: string): JournalRow {
    const j = this.rs.journal(name);
    if (!j) throw E.notFound('journal', `${this.site.name}:${name}`, `run 'rcopy journal list ${this.site.name}' or 'rcopy journal create ${this.site.name}:${name} --size 1G'`);
    return j;
  }

  pairs(): PairRow[] {
    return this.rs.pairs();
  }

  pairsByVol(): Map<string, PairRow[]> {
    if (!this.pairCache) {
      const m = new Map<string, PairRow[]>();
      for (const p of this.rs.pairs()) {
        const l = m.get(p.localVol) ?? [];
        l.push(p);
        m.set(p.localVol, l);
      }
      this.pairCache = m;
    }
    return this.pairCache;
  }

  /** Called after every change of the pair records (invalidate): waiters on a pair's state. */
  private readonly watchers = new Set<() => void>();

  invalidate(): void {
    this.pairCache = null;
    for (const w of [...this.watchers]) w();
  }

  /** Calls fn after each change of the pair records until the returned function is called. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  pair(id: string): PairRow {
    const p = this.rs.pair(id);
    if (!p) throw E.notFound('pair', id, `run 'rcopy pair list'`);
    return p;
  }

  /** The pairs of the journal group that `journal` (a local journal) belongs to. */
  groupPairs(journal: string): PairRow[] {
    return this.rs.pairs().filter((p) => p.localJournal === journal);
  }

  setState(p: PairRow, to: PairState, reason?: string, patch: Partial<PairRow> = {}): PairRow {
    return this.setGroupState([p], to, reason, patch)[0]!;
  }

  /**
   * Moves several pairs (a journal group's side) to one state in ONE transaction: a crash leaves
   * all of them moved or none. Each move is checked against the pair's CURRENT row (read here,
   * not a copy the caller read before an await). `patch` may depend on the pair.
   */
  setGroupState(pairs: ReadonlyArray<PairRow>, to: PairState, reason?: string, patch: Partial<PairRow> | ((p: PairRow) => Partial<PairRow>) = {}): PairRow[] {
    const cur = pairs.map((p) => this.pair(p.id));
    for (const p of cur) checkMove(p.id, p.state, to);
    const now = Date.now();
    this.rs.store.tx(() => {
      for (const p of cur) {
        const changed = p.state !== to;
        // `resyncing` says what the current COPY is: out of COPY no copy runs
        const extra = { ...(to !== 'COPY' ? { resyncing: false } : {}), ...(typeof patch === 'function' ? patch(p) : patch) };
        this.rs.updatePair(p.id, { ...extra, state: to, stateSince: changed ? now : p.stateSince, reason: reason ?? p.reason });
        if (changed) this.rs.event(p.id, `${p.state} -> ${to}${reason ? ` (${reason})` : ''}`);
        if (cur.length > 1) this.site.fault(`group-state-midway-${to}`);
      }
    });
    for (const p of cur) if (p.state !== to) this.site.log(`pair ${p.id} (${p.role}): ${p.state} -> ${to}${reason ? ` (${reason})` : ''}`);
    this.invalidate();
    const out = cur.map((p) => this.pair(p.id));
    this.bump(cur[0]?.localJournal);
    return out;
  }

  epoch(journal: string): number {
    return this.epochs.get(journal) ?? 0;
  }

  bump(journal: string | undefined): void {
    if (journal !== undefined) this.epochs.set(journal, this.epoch(journal) + 1);
  }

  async withOp<T>(journal: string, fn: () => Promise<T>): Promise<T> {
    this.busyOps.set(journal, (this.busyOps.get(journal) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = (this.busyOps.get(journal) ?? 1) - 1;
      if (n > 0) this.busyOps.set(journal, n);
      else this.busyOps.delete(journal);
      this.bump(journal);
    }
  }

  opBusy(journal: string): boolean {
    return this.busyOps.has(journal);
  }

  /**
   * A swap resync: the group's pairs change sides (role and state) and the journal its role, in ONE
   * transaction, each pair's change written to its events. Besides setGroupState and repairState,
   * the only writer of a pair's state.
   */
  changeSides(journal: string, changes: ReadonlyArray<{ id: string; patch: Partial<PairRow>; event?: string }>, journalPatch: Partial<JournalRow>): void {
    this.rs.store.tx(() => {
      for (const c of changes) {
        this.rs.updatePair(c.id, c.patch);
        if (c.event) this.rs.event(c.id, c.event);
      }
      this.rs.updateJournal(journal, journalPatch);
    });
    this.invalidate();
    this.bump(journal);
  }

  /** A row whose state is not a state at all (found by the integrity check): PSUE, so a resync can
   *  make the group equal again. */
  repairState(id: string, reason: string): void {
    this.rs.forceSuspended(id, reason);
    this.invalidate();
  }
}
