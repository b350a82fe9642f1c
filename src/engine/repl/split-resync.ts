/**
 * Split and resync of a journal group, run on the secondary (which drives transfers) with the
 * primary's steps as `primary*` methods called by the peer. A split drains what was journaled up to
 * the split's seq, then both sides suspend; a resync ORs both sides' bitmaps into the tracks to copy
 * and switches the whole group back to PAIR as one (copy.ts); with --swap the roles change sides.
 */
import { E } from '../../errors.js';
import { JOURNALING, MIRROR, SUSPENDED, type PairState } from './pair-state.js';
import type { PairRow } from './repl-store.js';
import { PairCommand, requireRole, sideOf } from './pair-checks.js';

export class SplitResync extends PairCommand {
  /** Secondary side of `pair split`: the primary stops journaling, this side drains, both suspend. */
  async split(id: string, rw: boolean): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const group = sideOf(this.records, p.localJournal);
      if (group.some((x) => x.state === 'COPY')) throw E.state(`pair ${id} is in COPY`, `wait for PAIR first: rcopy pair wait ${id} --state PAIR`);
      if (group.every((x) => SUSPENDED.has(x.state))) {
        if (rw)
          this.records.rs.store.tx(() => {
            for (const x of group) if (!x.writable) this.records.rs.updatePair(x.id, { writable: true });
          });
        this.records.invalidate();
        return { pairs: sideOf(this.records, p.localJournal).map((x) => this.view.describe(x)), note: `already ${group[0]!.state}` };
      }
      const peer = await this.links.peer(p.remoteArray);
      const { result } = await peer.call<{ splitSeq: number; states?: Record<string, PairState> }>('repl.primarySplit', { journal: p.remoteJournal });
      // the primary was suspended already (journal full, an error): this side mirrors that state
      const pstates = Object.values(result.states ?? {});
      const already = pstates.find((st) => st !== 'PSUS' && SUSPENDED.has(st));
      const drained = await this.pulls.drain(p.localJournal, result.splitSeq, 30_000).catch(() => false);
      const restored = this.records.journalRow(p.localJournal).restoredSeq;
      this.site.fault('split-drained-before-finish'); // restored, the primary not told: it keeps the entries
      await peer.call('repl.primaryFinishSplit', { journal: p.remoteJournal, restored }).catch(() => undefined);
      const to = already ? (MIRROR[already] ?? 'PSUE') : 'SSUS';
      const why = already ? `split asked while the primary was ${already}` : drained ? 'split' : 'split (not fully drained: the rest is in the bitmaps)';
      await this.pulls.suspendSecondary(p.localJournal, to, why, { writable: rw });
      return {
        pairs: sideOf(this.records, p.localJournal).map((x) => this.view.describe(x)),
        drained,
        splitSeq: result.splitSeq,
        primaryStates: result.states ?? null,
        note: already ? `the primary was already ${already}` : undefined,
      };
    });
  }

  async primarySplit(journal: string): Promise<{ splitSeq: number; states: Record<string, PairState> }> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P');
    if (!ps.length) throw E.notFound('journal group on', `${this.site.name}:${journal}`);
    if (ps.some((p) => p.state === 'COPY')) throw E.state('the group is in COPY', 'wait for PAIR first');
    if (!ps.every((p) => SUSPENDED.has(p.state))) await this.suspension.suspendPrimary(journal, 'PSUS', 'split', { keepEntries: true, quiet: true });
    return { splitSeq: this.journals.journal(journal).lastSeq, states: this.serve.primaryInfo(journal).states };
  }

  async primaryFinishSplit(journal: string, restored: number): Promise<void> {
    const j = this.journals.journal(journal);
    const oldest = j.stats().oldestSeq;
    if (oldest !== null && restored >= oldest) await j.release(Math.min(restored, j.lastSeq));
    await this.suspension.finishSplit(journal);
  }

  /** Primary side: suspend on the secondary's word (takeover, revert, a suspended secondary). */
  async primarySuspend(journal: string, state: 'PSUS' | 'PSUE', reason: string): Promise<void> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P');
    // a group already suspended stays as it is (a split stays PSUS, a full journal PFUS)
    if (ps.length && ps.some((p) => JOURNALING.has(p.state))) await this.suspension.suspendPrimary(journal, state, reason, { quiet: true });
  }

  async resync(id: string, swap: boolean): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      let group = sideOf(this.records, p.localJournal);
      if (group.some((x) => x.state === 'COPY')) {
        // a copy cut short by a restart is not resumed by itself: this resumes it
        for (const x of group) if (x.state === 'COPY' && !this.copies.running(x.id)) this.copies.start(x.id);
        return { pairs: group.map((x) => this.view.describe(x)), note: 'already copying' };
      }
      if (group.some((x) => !SUSPENDED.has(x.state))) {
        // the primary may have suspended a moment ago (journal full, an error): mirror it first
        const peer = await this.links.peer(p.remoteArray);
        const info = (await peer.call<{ states: Record<string, PairState> }>('repl.info', { journal: p.remoteJournal })).result;
        const pst = Object.values(info.states ?? {}).find((st) => SUSPENDED.has(st) && st !== 'PSUS');
        if (pst) await this.pulls.suspendSecondary(p.localJournal, MIRROR[pst] ?? 'PSUE', `suspended on the primary (${pst})`, { from: JOURNALING });
        group = sideOf(this.records, p.localJournal);
        if (group.some((x) => !SUSPENDED.has(x.state))) {
          const cur = group.find((x) => !SUSPENDED.has(x.state))!;
          throw E.state(`pair ${cur.id} is ${cur.state}: only a suspended pair is resynchronised`, `split it first: rcopy pair split ${cur.id}`);
        }
      }
      if (!swap && group.some((x) => x.state === 'SSWS')) {
        throw E.state(`pair ${id} is SSWS (taken over): a plain resync would overwrite the writes made on the secondary`, `reverse the direction with: rcopy pair resync ${id} --swap`);
      }
      const peer = await this.links.peer(p.remoteArray);
      if (swap) return this.swap(p, group, peer);
      const begun = await peer.call<{ lastSeq: number }>('repl.primaryBeginResync', { journal: p.remoteJournal });
      // entries the primary folded into its bitmap are never pulled: restore goes on after its last seq
      await this.journals.journal(p.localJournal).reset();
      await this.journals.bumpSeq(p.localJournal, begun.result.lastSeq);
      this.records.rs.updateJournal(p.localJournal, { restoredSeq: Math.max(begun.result.lastSeq, this.records.journalRow(p.localJournal).restoredSeq) });
      // the whole group in one transaction; the kept image (if any) stays: it is still the image
      // of the suspension, since every write to an S-VOL since then saved the old track first
      this.records.setGroupState(sideOf(this.records, p.localJournal), 'COPY', 'resync', (x) => ({
        resyncing: x.initialDone,
        writable: false,
        copyDone: 0,
        copyTotal: 0,
        copied: false,
        splitSeq: null,
      }));
      for (const x of sideOf(this.records, p.localJournal)) this.copies.start(x.id);
      return { pairs: sideOf(this.records, p.localJournal).map((x) => this.view.describe(x)) };
    });
  }

  async primaryBeginResync(journal: string): Promise<{ lastSeq: number }> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P');
    if (!ps.length) throw E.notFound('journal group on', `${this.site.name}:${journal}`);
    if (ps.some((p) => JOURNALING.has(p.state))) await this.suspension.suspendPrimary(journal, 'PSUE', 'resync restarted', { quiet: true });
    await this.site.array.locked(async () => {
      this.records.setGroupState(
        this.records.groupPairs(journal).filter((p) => p.role === 'P'),
        'COPY',
        'resync',
        { splitSeq: null },
      );
    });
    return { lastSeq: this.journals.journal(journal).lastSeq };
  }

  /**
   * P side: the secondary has every pair of `ids` copied, durably (and holds their tracks in its
   * own bitmap until its S-VOLs are consistent again): clear the bitmaps and go to PAIR, all in
   * one step. Idempotent: a retry after a lost reply finds the pairs in PAIR and succeeds.
   */
  async primaryGroupCopyDone(journal: string, ids: string[]): Promise<{ lastSeq: number }> {
    return this.site.array.locked(async () => {
      const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P' && ids.includes(p.id));
      if (ps.length !== ids.length) throw E.state(`the primary's journal group ${this.site.name}:${journal} does not hold pairs ${ids.join(', ')}`, 'run the resync again');
      const copying = ps.filter((p) => p.state === 'COPY');
      const bad = ps.find((p) => p.state !== 'COPY' && p.state !== 'PAIR' && p.state !== 'PFUL');
      if (bad) throw E.state(`pair ${bad.id} is ${bad.state} on ${this.site.name}, not COPY`, 'run the resync again');
      if (copying.length) {
        for (const p of copying) {
          const b = await this.files.bitmap(p);
          b.clearAll();
          await b.flush();
        }
        this.records.setGroupState(copying, 'PAIR', 'copy complete');
        this.site.fault('copy-done-before-reply');
      }
      return { lastSeq: this.journals.journal(journal).lastSeq };
    });
  }

  /**
   * resync --swap, run on the current secondary: it becomes the primary (journaling from now on),
   * and the old primary becomes the secondary and copies the union of both bitmaps from here.
   */
  private async swap(p: PairRow, group: PairRow[], peer: { call: (m: string, a?: unknown) => Promise<{ result: any }> }): Promise<Record<string, unknown>> {
    const journal = p.localJournal;
    const before = group.map((x) => ({ ...x }));
    await this.pulls.stop(journal);
    await this.site.array.locked(async () => {
      this.records.changeSides(
        journal,
        group.map((x) => ({
          id: x.id,
          patch: { role: 'P', state: 'COPY', stateSince: Date.now(), reason: 'swap resync', writable: false, resyncing: false, imageTime: null, splitSeq: null, copied: false },
          event: `${x.state} -> COPY (swap: this side is now the primary)`,
        })),
        { role: 'master', pullEnabled: false },
      );
      await this.journals.journal(journal).reset();
    });
    for (const x of group) await this.files.dropImage(x);
    try {
      const { result } = await peer.call('repl.primarySwap', { journal: p.remoteJournal, base: this.journals.journal(journal).lastSeq });
      await this.journals.bumpSeq(journal, result.base as number);
    } catch (e) {
      await this.site.array.locked(async () => {
        this.records.changeSides(
          journal,
          before.map((x) => ({ id: x.id, patch: { role: 'S', state: x.state, reason: x.reason, writable: x.writable, imageTime: x.imageTime } })),
          { role: 'restore', pullEnabled: true },
        );
      });
      throw e;
    }
    return { pairs: this.records.groupPairs(journal).map((x) => this.view.describe(x)), swapped: true };
  }

  /** Old primary side of a swap: become the secondary and start copying. */
  async primarySwap(journal: string, base: number): Promise<{ base: number }> {
    const ps = this.records.groupPairs(journal);
    if (!ps.length) throw E.notFound('journal group on', `${this.site.name}:${journal}`);
    if (ps.some((x) => JOURNALING.has(x.state) && x.state !== 'COPY')) await this.suspension.suspendPrimary(journal, 'PSUE', 'swap', { quiet: true });
    const seq = Math.max(base, this.journals.journal(journal).lastSeq) + 1;
    await this.site.array.locked(async () => {
      await this.journals.bumpSeq(journal, seq);
      const row = this.records.journalRow(journal);
      this.records.changeSides(
        journal,
        ps.map((x) => ({
          id: x.id,
          patch: {
            role: 'S',
            state: 'COPY',
            stateSince: Date.now(),
            reason: 'swap resync',
            resyncing: true,
            writable: false,
            imageTime: Date.now(),
            copyDone: 0,
            copyTotal: 0,
            splitSeq: null,
            copied: false,
            initialDone: true,
          },
          event: `${x.state} -> COPY (swap: this side is now the secondary)`,
        })),
        { role: 'restore', restoredSeq: seq, pullEnabled: true, pullIntervalMs: row.pullIntervalMs },
      );
    });
    for (const x of ps) this.copies.start(x.id);
    this.pulls.start(journal, this.records.journalRow(journal).pullIntervalMs);
    return { base: seq };
  }
}
