/**
 * Pair operations. Each is run on one array (the one the CLI reached) and talks to the peer for
 * the other side. Operations that move data (create, resync) and those that protect the
 * secondary's image (split, takeover, revert) run on the secondary side, which drives transfers;
 * the primary's parts are the `primary*` methods, called by the peer.
 */
import { E, RcopyError } from '../../errors.js';
import { parseVolRef } from '../../units.js';
import type { CopyManager } from './copy-task.js';
import { JOURNALING, SUSPENDED, type PairState } from './pair-state.js';
import type { PullManager } from './pull-loop.js';
import type { PairRow } from './repl-store.js';
import type { Parts } from './parts.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { PairFiles } from './pair-files.js';
import type { Links } from './links.js';
import type { PrimarySuspension } from './suspension.js';
import type { PullServer } from './pull-serve.js';
import type { PairView } from './pair-view.js';

export interface CreatePairRequest {
  pvol: string; // ARRAY:VOL on the primary
  svol: string; // VOL on this (secondary) array
  pjournal: string;
  sjournal: string;
  mode: 'async' | 'sync';
  group?: string;
  nocopy?: boolean;
  syncTimeoutMs?: number;
  fence?: 'never' | 'data';
}

type PairIdent = Pick<PairRow, 'id' | 'role' | 'localVol' | 'remoteArray' | 'remoteVol' | 'localJournal' | 'remoteJournal' | 'groupName' | 'mode' | 'syncTimeoutMs' | 'fence'>;

/** A new pair record (either side): COPY, or PAIR when created without copy. */
function newPair(ident: PairIdent, nocopy: boolean): PairRow {
  const now = Date.now();
  return {
    ...ident,
    state: nocopy ? 'PAIR' : 'COPY',
    stateSince: now,
    reason: nocopy ? 'created without copy' : 'initial copy',
    copyDone: 0,
    copyTotal: 0,
    resyncing: false,
    imageTime: null,
    writable: false,
    splitSeq: null,
    nocopy,
    created: now,
    copied: false,
    initialDone: nocopy,
  };
}

/** The secondary's state that mirrors a suspension on the primary. */
export const MIRROR: Partial<Record<PairState, PairState>> = { PSUS: 'SSUS', PSUE: 'PSUE', PFUS: 'PFUS' };

export class PairOps {
  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly journals: Journals;
  private readonly files: PairFiles;
  private readonly links: Links;
  private readonly suspension: PrimarySuspension;
  private readonly serve: PullServer;
  private readonly view: PairView;

  constructor(
    parts: Pick<Parts, 'site' | 'records' | 'journals' | 'files' | 'links' | 'suspension' | 'serve' | 'view'>,
    private readonly pulls: PullManager,
    private readonly copies: CopyManager,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.journals = parts.journals;
    this.files = parts.files;
    this.links = parts.links;
    this.suspension = parts.suspension;
    this.serve = parts.serve;
    this.view = parts.view;
  }

  // ------------------------------------------------------------------ create / delete

  /** Secondary side of `pair create`. */
  async create(req: CreatePairRequest): Promise<Record<string, unknown>> {
    const pv = parseVolRef(req.pvol);
    if (pv.array === this.site.name) throw E.usage('the P-VOL and the S-VOL must be on different arrays', 'pair A:VOL with B:VOL');
    const svol = this.site.array.volume(req.svol);
    for (const u of this.site.array.usesOf(svol)) {
      if (u.active && (u.kind !== 'pair' || u.role === 'S-VOL')) {
        throw E.state(`${this.site.name}:${req.svol} is already in use by ${u.kind} ${u.id}${u.state ? ` (${u.state})` : ''}`, 'choose another S-VOL');
      }
    }
    const sj = this.records.journalRow(req.sjournal);
    if (sj.role === 'master') throw E.state(`journal ${this.site.name}:${req.sjournal} is a master journal here`, 'give the secondary a journal of its own for restore');
    if (sj.role === 'restore' && (sj.peerArray !== pv.array || sj.peerJournal !== req.pjournal)) {
      throw E.state(`journal ${this.site.name}:${req.sjournal} already restores ${sj.peerArray}:${sj.peerJournal}`, 'one restore journal per journal group');
    }
    const existing = this.records.groupPairs(req.sjournal);
    if (existing.length && existing[0]!.mode !== req.mode) throw E.usage(`journal group of ${req.sjournal} is ${existing[0]!.mode}; all pairs of a group have one mode`);
    const peer = await this.links.peer(pv.array);
    const group = req.group ?? existing[0]?.groupName ?? `${pv.array}.${req.pjournal}`;
    if (existing.length && existing[0]!.groupName !== group) throw E.usage(`the journal group is named '${existing[0]!.groupName}', not '${group}'`);
    const syncTimeoutMs = req.syncTimeoutMs ?? existing[0]?.syncTimeoutMs ?? 5000;
    const fence = req.fence ?? existing[0]?.fence ?? 'never';
    const reply = await peer.call<{ id: string; state: PairState; lastSeq?: number }>('repl.primaryCreate', {
      pvol: pv.name,
      svolArray: this.site.name,
      svol: req.svol,
      size: svol.size,
      pjournal: req.pjournal,
      sjournal: req.sjournal,
      mode: req.mode,
      group,
      nocopy: !!req.nocopy,
      syncTimeoutMs,
      fence,
      base: this.journals.journal(req.sjournal).lastSeq,
    });
    const id = reply.result.id;
    // a group made anew: both journals continue from one sequence number (the higher of the two),
    // so that no entry of the primary is numbered at or below what this side counts as restored
    const fresh = sj.role !== 'restore';
    const start = typeof reply.result.lastSeq === 'number' ? reply.result.lastSeq : null;
    if (fresh && start !== null) await this.journals.bumpSeq(req.sjournal, start);
    // nothing of an earlier pair with the same id may be picked up (files of a delete cut short)
    await this.files.forget(id).then(() => this.records.invalidate());
    await this.files.removePairFiles(id);
    try {
      this.records.rs.store.tx(() => {
        this.records.rs.addPair(
          newPair({ id, role: 'S', localVol: req.svol, remoteArray: pv.array, remoteVol: pv.name, localJournal: req.sjournal, remoteJournal: req.pjournal, groupName: group, mode: req.mode, syncTimeoutMs, fence }, !!req.nocopy),
        );
        if (sj.role !== 'restore') {
          this.records.rs.updateJournal(req.sjournal, { role: 'restore', peerArray: pv.array, peerJournal: req.pjournal, restoredSeq: Math.max(start ?? 0, this.journals.journal(req.sjournal).lastSeq), pullEnabled: true });
        }
      });
    } catch (e) {
      await peer.call('repl.primaryDelete', { pair: id }).catch(() => undefined);
      throw e;
    }
    this.records.invalidate();
    const p = this.records.pair(id);
    await this.files.bitmap(p);
    this.records.rs.event(p.id, `created (${req.mode}, group ${group})`);
    if (!this.records.journalRow(req.sjournal).pullEnabled) this.records.rs.updateJournal(req.sjournal, { pullEnabled: true });
    this.pulls.start(req.sjournal, this.records.journalRow(req.sjournal).pullIntervalMs);
    if (p.state === 'COPY') this.copies.start(p.id);
    return this.view.describe(p);
  }

  /** Primary side of `pair create`. */
  async primaryCreate(a: { pvol: string; svolArray: string; svol: string; size: number; pjournal: string; sjournal: string; mode: 'async' | 'sync'; group: string; nocopy: boolean; syncTimeoutMs: number; fence: 'never' | 'data'; base: number }): Promise<{ id: string; state: PairState; lastSeq: number }> {
    const vol = this.site.array.volume(a.pvol);
    if (vol.size !== a.size) throw E.usage(`P-VOL ${this.site.name}:${a.pvol} is ${vol.size} bytes but the S-VOL is ${a.size}`, 'pair volumes of the same size');
    for (const u of this.site.array.usesOf(vol)) {
      if (u.active && (u.kind !== 'pair' || u.role === 'P-VOL')) {
        throw E.state(`${this.site.name}:${a.pvol} is already in use by ${u.kind} ${u.id}${u.state ? ` (${u.state})` : ''}`, 'a volume is the P-VOL of one pair at most');
      }
    }
    const j = this.records.journalRow(a.pjournal);
    if (j.role === 'restore') throw E.state(`journal ${this.site.name}:${a.pjournal} is a restore journal here`, 'give the primary a journal of its own');
    const group = this.records.groupPairs(a.pjournal);
    if (group.length && (group[0]!.remoteArray !== a.svolArray || group[0]!.remoteJournal !== a.sjournal)) {
      throw E.state(`journal ${this.site.name}:${a.pjournal} already feeds ${group[0]!.remoteArray}:${group[0]!.remoteJournal}`, 'one master journal per journal group');
    }
    if (group.some((p) => SUSPENDED.has(p.state))) throw E.state(`the journal group ${group[0]!.groupName} is suspended`, `resync it first: rcopy pair resync --group ${group[0]!.groupName}`);
    const id = `${this.site.name}:${a.pvol}`;
    await this.files.forget(id).then(() => this.records.invalidate());
    await this.files.removePairFiles(id);
    // a group made anew continues above what the secondary's journal has counted (see create)
    if (!group.length) await this.site.array.locked(() => this.journals.bumpSeq(a.pjournal, a.base));
    this.records.rs.store.tx(() => {
      this.records.rs.addPair(
        newPair({ id, role: 'P', localVol: a.pvol, remoteArray: a.svolArray, remoteVol: a.svol, localJournal: a.pjournal, remoteJournal: a.sjournal, groupName: a.group, mode: a.mode, syncTimeoutMs: a.syncTimeoutMs, fence: a.fence }, a.nocopy),
      );
      if (j.role !== 'master') this.records.rs.updateJournal(a.pjournal, { role: 'master', peerArray: a.svolArray, peerJournal: a.sjournal });
    });
    this.records.invalidate();
    this.records.rs.event(id, `created (${a.mode}, group ${a.group})`);
    return { id, state: a.nocopy ? 'PAIR' : 'COPY', lastSeq: this.journals.journal(a.pjournal).lastSeq };
  }

  async delete(id: string, force: boolean): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    await this.copies.abort(id);
    let remote = 'deleted';
    try {
      const peer = await this.links.peer(p.remoteArray);
      await peer.call('repl.primaryDelete', { pair: id });
    } catch (e) {
      if (!force) throw new RcopyError((e as RcopyError).code ?? 'ERR_RCOPY_PEER', `cannot reach ${p.remoteArray} to delete its side of ${id}: ${(e as Error).message}`, { kind: 'peer', hint: 'bring the peer back, or delete this side alone with --force' });
      remote = `not reached (${(e as Error).message})`;
    }
    await this.primaryDelete(id);
    return { deleted: id, remote };
  }

  /** Deletes this array's side of a pair (either role): its row, bitmap, image and memory. */
  async primaryDelete(id: string): Promise<{ deleted: boolean }> {
    const p = this.records.rs.pair(id);
    if (!p) return { deleted: false };
    await this.copies.abort(id);
    this.records.rs.deletePair(id);
    this.records.bump(p.localJournal);
    await this.files.forget(id).then(() => this.records.invalidate());
    await this.files.removePairFiles(id);
    this.copies.forget(id);
    this.records.rs.event(id, 'deleted');
    if (this.records.groupPairs(p.localJournal).length === 0) {
      await this.pulls.stop(p.localJournal);
      await this.journals.journal(p.localJournal).reset();
      this.records.rs.updateJournal(p.localJournal, { role: null, peerArray: null, peerJournal: null, pullEnabled: false });
    }
    return { deleted: true };
  }

  // ------------------------------------------------------------------ split

  /** Secondary side of `pair split`: the primary stops journaling, this side drains, both suspend. */
  async split(id: string, rw: boolean): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    this.requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const group = this.sideOf(p.localJournal);
      if (group.some((x) => x.state === 'COPY')) throw E.state(`pair ${id} is in COPY`, `wait for PAIR first: rcopy pair wait ${id} --state PAIR`);
      if (group.every((x) => SUSPENDED.has(x.state))) {
        if (rw) this.records.rs.store.tx(() => { for (const x of group) if (!x.writable) this.records.rs.updatePair(x.id, { writable: true }); });
        this.records.invalidate();
        return { pairs: this.sideOf(p.localJournal).map((x) => this.view.describe(x)), note: `already ${group[0]!.state}` };
      }
      const peer = await this.links.peer(p.remoteArray);
      const { result } = await peer.call<{ splitSeq: number; states?: Record<string, PairState> }>('repl.primarySplit', { journal: p.remoteJournal });
      // the primary was suspended already (journal full, an error): this side mirrors that state
      const pstates = Object.values(result.states ?? {});
      const already = pstates.find((st) => st !== 'PSUS' && SUSPENDED.has(st));
      const drained = await this.pulls.drain(p.localJournal, result.splitSeq, 30_000).catch(() => false);
      const restored = this.records.journalRow(p.localJournal).restoredSeq;
      await peer.call('repl.primaryFinishSplit', { journal: p.remoteJournal, restored }).catch(() => undefined);
      const to = already ? MIRROR[already] ?? 'PSUE' : 'SSUS';
      const why = already ? `split asked while the primary was ${already}` : drained ? 'split' : 'split (not fully drained: the rest is in the bitmaps)';
      await this.pulls.suspendSecondary(p.localJournal, to, why, { writable: rw });
      return { pairs: this.sideOf(p.localJournal).map((x) => this.view.describe(x)), drained, splitSeq: result.splitSeq, primaryStates: result.states ?? null, note: already ? `the primary was already ${already}` : undefined };
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

  // ------------------------------------------------------------------ resync

  async resync(id: string, swap: boolean): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    this.requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      let group = this.sideOf(p.localJournal);
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
        group = this.sideOf(p.localJournal);
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
      this.records.setGroupState(this.sideOf(p.localJournal), 'COPY', 'resync', (x) => ({
        resyncing: x.initialDone,
        writable: false,
        copyDone: 0,
        copyTotal: 0,
        copied: false,
        splitSeq: null,
      }));
      for (const x of this.sideOf(p.localJournal)) this.copies.start(x.id);
      return { pairs: this.sideOf(p.localJournal).map((x) => this.view.describe(x)) };
    });
  }

  async primaryBeginResync(journal: string): Promise<{ lastSeq: number }> {
    const ps = this.records.groupPairs(journal).filter((p) => p.role === 'P');
    if (!ps.length) throw E.notFound('journal group on', `${this.site.name}:${journal}`);
    if (ps.some((p) => JOURNALING.has(p.state))) await this.suspension.suspendPrimary(journal, 'PSUE', 'resync restarted', { quiet: true });
    await this.site.array.locked(async () => {
      this.records.setGroupState(this.records.groupPairs(journal).filter((p) => p.role === 'P'), 'COPY', 'resync', { splitSeq: null });
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
      this.records.rs.store.tx(() => {
        for (const x of group) {
          this.records.rs.updatePair(x.id, { role: 'P', state: 'COPY', stateSince: Date.now(), reason: 'swap resync', writable: false, resyncing: false, imageTime: null, splitSeq: null, copied: false });
          this.records.rs.event(x.id, `${x.state} -> COPY (swap: this side is now the primary)`);
        }
        this.records.rs.updateJournal(journal, { role: 'master', pullEnabled: false });
      });
      await this.journals.journal(journal).reset();
      this.records.invalidate();
      this.records.bump(journal);
    });
    for (const x of group) await this.files.dropImage(x);
    try {
      const { result } = await peer.call('repl.primarySwap', { journal: p.remoteJournal, base: this.journals.journal(journal).lastSeq });
      await this.journals.bumpSeq(journal, result.base as number);
    } catch (e) {
      await this.site.array.locked(async () => {
        this.records.rs.store.tx(() => {
          for (const x of before) this.records.rs.updatePair(x.id, { role: 'S', state: x.state, reason: x.reason, writable: x.writable, imageTime: x.imageTime });
          this.records.rs.updateJournal(journal, { role: 'restore', pullEnabled: true });
        });
        this.records.invalidate();
        this.records.bump(journal);
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
      this.records.rs.store.tx(() => {
        for (const x of ps) {
          this.records.rs.updatePair(x.id, { role: 'S', state: 'COPY', stateSince: Date.now(), reason: 'swap resync', resyncing: true, writable: false, imageTime: Date.now(), copyDone: 0, copyTotal: 0, splitSeq: null, copied: false, initialDone: true });
          this.records.rs.event(x.id, `${x.state} -> COPY (swap: this side is now the secondary)`);
        }
        this.records.rs.updateJournal(journal, { role: 'restore', restoredSeq: seq, pullEnabled: true, pullIntervalMs: row.pullIntervalMs });
      });
      this.records.invalidate();
      this.records.bump(journal);
    });
    for (const x of ps) this.copies.start(x.id);
    this.pulls.start(journal, this.records.journalRow(journal).pullIntervalMs);
    return { base: seq };
  }

  // ------------------------------------------------------------------ takeover and revert

  async takeover(id: string): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    this.requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const group = this.sideOf(p.localJournal);
      if (group.some((x) => x.state === 'COPY' && !x.resyncing)) throw E.state(`pair ${id} is in its initial copy: the S-VOL holds no consistent data yet`, `wait for PAIR: rcopy pair wait ${id} --state PAIR`);
      if (group.some((x) => x.state === 'COPY' && x.resyncing)) throw E.state(`pair ${id} is resynchronising: the S-VOL is inconsistent`, `put back the consistent image first: rcopy pair revert ${id}`);
      if (group.every((x) => x.state === 'SSWS')) return { pairs: group.map((x) => this.view.describe(x)), note: 'already SSWS' };
      let reached = false;
      if (group.some((x) => JOURNALING.has(x.state))) {
        try {
          await this.pulls.drain(p.localJournal, Number.MAX_SAFE_INTEGER, 10_000);
          reached = true;
        } catch {
          reached = false;
        }
      }
      try {
        const peer = await this.links.peer(p.remoteArray);
        await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUS', reason: 'takeover by the secondary' });
        reached = true;
      } catch {
        /* the primary is gone: that is why one takes over; it suspends by itself (PSUE) */
      }
      const catching = this.catchingUp(p.localJournal);
      if (catching) {
        // after a resync the S-VOLs are consistent only once the restore passed the copy's end
        await this.pulls.suspendSecondary(p.localJournal, 'PSUE', 'takeover asked before the S-VOLs were consistent again after a resync');
        throw E.state(`the S-VOLs of group ${p.groupName} are not consistent yet: the restore after the resync reached seq ${catching.restored} of ${catching.upto}`, `put back the consistent image of the suspension first (rcopy pair revert ${id}), then take over`);
      }
      await this.pulls.suspendSecondary(p.localJournal, 'SSWS', 'takeover', { writable: true, from: new Set<PairState>(['PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS']) });
      return { pairs: this.sideOf(p.localJournal).map((x) => this.view.describe(x)), primaryReached: reached };
    });
  }

  /**
   * Puts every S-VOL of the group back to the consistent image kept since the suspension, byte
   * for byte. Any copy of the group is stopped (and waited for) first; the pairs go PSUE before
   * anything is written, so nothing starts a copy again meanwhile. Refused where the image would
   * not be exact or is not needed.
   */
  async revert(id: string): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    this.requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const journal = p.localJournal;
      let group = this.sideOf(journal);
      const live = group.find((x) => x.state === 'PAIR' || x.state === 'PFUL');
      if (live) {
        const c = this.catchingUp(journal);
        throw E.state(
          c
            ? `pair ${live.id} is ${live.state}: its resync completed and the restore is catching up (seq ${c.restored} of ${c.upto})`
            : `pair ${live.id} is ${live.state}: its resync completed, there is nothing to revert`,
          `split it if you need a frozen image: rcopy pair split ${live.id}`,
        );
      }
      const fresh = group.find((x) => !x.initialDone);
      if (fresh) throw E.state(`pair ${fresh.id} never completed its initial copy: its S-VOL has no consistent image to go back to`, `copy it: rcopy pair resync ${fresh.id}`);
      // an image whose resync has been restored past its end is older than the S-VOLs: dropped
      await this.pulls.dropImages(journal);
      group = this.sideOf(journal);
      const withImage = group.filter((x) => this.files.hasImage(x));
      if (!withImage.length) {
        throw E.state(`pair ${id} has no kept image: the S-VOL already is the image of ${new Date(p.imageTime ?? p.stateSince).toISOString()}`, `resynchronise it: rcopy pair resync ${id}`);
      }
      // 1. no copy may start or go on: the group leaves COPY first (one transaction), then waits
      const copying = group.filter((x) => x.state === 'COPY');
      if (copying.length) this.records.setGroupState(copying, 'PSUE', 'reverting to the consistent image', (x) => ({ imageTime: x.imageTime ?? Date.now() }));
      await Promise.all(group.map((x) => this.copies.abort(x.id)));
      // 2. the primary stops journaling for us (what it journals meanwhile goes to its bitmap)
      try {
        const peer = await this.links.peer(p.remoteArray);
        await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUE', reason: 'secondary reverted an interrupted resync' });
      } catch {
        /* it suspends by itself when it cannot reach us, or is told by the reconciliation */
      }
      // 3. every saved track back, with no restore running; what the restore journal still holds
      // is dropped (it would apply on top of the image: the primary folds it into its bitmap);
      // the images go only once all of them are durable
      let n = 0;
      await this.pulls.hold(journal, async () => {
        await this.journals.journal(journal).reset();
        for (const x of withImage) {
          const vol = this.site.array.volume(x.localVol);
          const k = await this.files.keeper(x);
          n += await k.revert((off, data) => this.site.array.write(vol, off, data, 'resync', { sync: false }), vol.trackSize);
        }
        await this.site.array.commit();
        this.site.fault('revert-before-drop');
        for (const x of withImage) await this.files.dropImage(x);
      });
      const cur = this.sideOf(journal);
      this.records.setGroupState(cur, cur.every((x) => x.state === 'COPY' || x.state === 'PSUE') ? 'PSUE' : cur[0]!.state, 'reverted to the consistent image', {
        resyncing: false,
        copied: false,
        splitSeq: null,
      });
      const out = this.sideOf(journal);
      return { pair: this.view.describe(this.records.pair(id)), pairs: out.map((x) => this.view.describe(x)), tracksRestored: n };
    });
  }

  /** S side: the primary says it suspended the group: mirror it (a copy running stops). */
  mirrorPrimary(journal: string, state: 'PSUE' | 'PFUS' | 'PSUS', reason: string): void {
    const ps = this.sideOf(journal);
    if (!ps.length || this.records.opBusy(journal) || !ps.some((x) => JOURNALING.has(x.state))) return;
    const to = MIRROR[state] ?? 'PSUE';
    const why = `${reason} (on the primary)`;
    void (async () => {
      const copying = this.sideOf(journal).filter((x) => x.state === 'COPY');
      if (copying.length) {
        // a copy cut short: the group keeps its consistent image (revert or resync)
        this.records.setGroupState(copying, to === 'SSUS' ? 'PSUE' : to, `${why}: the copy stopped`, (x) => ({ imageTime: x.imageTime ?? Date.now() }));
        await Promise.all(copying.map((x) => this.copies.abort(x.id)));
      }
      await this.pulls.suspendSecondary(journal, to, why, { from: new Set<PairState>(['PAIR', 'PFUL']) });
    })().catch((e) => this.site.log(`mirroring the primary's ${state} failed: ${(e as Error).message}`));
  }

  /**
   * After a controller restart: a resync cut short is not resumed by itself (DESIGN.md §2.2); its
   * group waits in PSUE for `pair resync` or `pair revert`. An initial copy starts over.
   */
  recoverAfterRestart(): void {
    const journals = new Set(this.records.pairs().filter((p) => p.role === 'S' && p.state === 'COPY' && p.resyncing).map((p) => p.localJournal));
    for (const j of journals) {
      const copying = this.sideOf(j).filter((x) => x.state === 'COPY');
      this.records.setGroupState(copying, 'PSUE', 'resync interrupted by a controller restart: run pair resync or pair revert', (x) => ({ imageTime: x.imageTime ?? Date.now(), copied: false }));
    }
  }

  /** The S-side pairs of a journal group, as they are now. */
  private sideOf(journal: string): PairRow[] {
    return this.records.groupPairs(journal).filter((x) => x.role === 'S');
  }

  /** A group whose resync has completed but whose restore has not yet passed the copy's end. */
  private catchingUp(journal: string): { restored: number; upto: number } | null {
    const restored = this.records.journalRow(journal).restoredSeq;
    const upto = Math.max(-1, ...this.sideOf(journal).filter((x) => x.splitSeq !== null && this.files.hasImage(x)).map((x) => x.splitSeq!));
    return upto >= 0 && restored < upto ? { restored, upto } : null;
  }

  private requireRole(p: PairRow, role: 'P' | 'S'): void {
    if (p.role !== role) throw new RcopyError('ERR_RCOPY_INTERNAL', `pair ${p.id}: operation sent to the ${p.role} side`, { kind: 'failed' });
  }
}
