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
import type { Replicator } from './replicator.js';

export interface CreatePairRequest {
  pvol: string; // ARRAY:VOL on the primary
  svol: string; // VOL on this (secondary) array
  pjournal: string;
  sjournal: string;
  mode: 'async' | 'sync';
  group?: string;
  nocopy?: boolean;
}

/** A new pair record (either side): COPY, or PAIR when created without copy. */
function newPair(ident: Pick<PairRow, 'id' | 'role' | 'localVol' | 'remoteArray' | 'remoteVol' | 'localJournal' | 'remoteJournal' | 'groupName' | 'mode'>, nocopy: boolean): PairRow {
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
  };
}

export class PairOps {
  constructor(
    private readonly r: Replicator,
    private readonly pulls: PullManager,
    private readonly copies: CopyManager,
  ) {}

  // ------------------------------------------------------------------ create / delete

  /** Secondary side of `pair create`. */
  async create(req: CreatePairRequest): Promise<Record<string, unknown>> {
    const pv = parseVolRef(req.pvol);
    if (pv.array === this.r.name) throw E.usage('the P-VOL and the S-VOL must be on different arrays', 'pair A:VOL with B:VOL');
    const svol = this.r.array.volume(req.svol);
    for (const u of this.r.array.usesOf(svol)) {
      if (u.active && (u.kind !== 'pair' || u.role === 'S-VOL')) {
        throw E.state(`${this.r.name}:${req.svol} is already in use by ${u.kind} ${u.id}${u.state ? ` (${u.state})` : ''}`, 'choose another S-VOL');
      }
    }
    const sj = this.r.journalRow(req.sjournal);
    if (sj.role === 'master') throw E.state(`journal ${this.r.name}:${req.sjournal} is a master journal here`, 'give the secondary a journal of its own for restore');
    if (sj.role === 'restore' && (sj.peerArray !== pv.array || sj.peerJournal !== req.pjournal)) {
      throw E.state(`journal ${this.r.name}:${req.sjournal} already restores ${sj.peerArray}:${sj.peerJournal}`, 'one restore journal per journal group');
    }
    const existing = this.r.groupPairs(req.sjournal);
    if (existing.length && existing[0]!.mode !== req.mode) throw E.usage(`journal group of ${req.sjournal} is ${existing[0]!.mode}; all pairs of a group have one mode`);
    const peer = await this.r.peer(pv.array);
    const group = req.group ?? existing[0]?.groupName ?? `${pv.array}.${req.pjournal}`;
    if (existing.length && existing[0]!.groupName !== group) throw E.usage(`the journal group is named '${existing[0]!.groupName}', not '${group}'`);
    const reply = await peer.call<{ id: string; state: PairState }>('repl.primaryCreate', {
      pvol: pv.name,
      svolArray: this.r.name,
      svol: req.svol,
      size: svol.size,
      pjournal: req.pjournal,
      sjournal: req.sjournal,
      mode: req.mode,
      group,
      nocopy: !!req.nocopy,
    });
    try {
      this.r.rs.store.tx(() => {
        this.r.rs.addPair(
          newPair({ id: reply.result.id, role: 'S', localVol: req.svol, remoteArray: pv.array, remoteVol: pv.name, localJournal: req.sjournal, remoteJournal: req.pjournal, groupName: group, mode: req.mode }, !!req.nocopy),
        );
        if (sj.role !== 'restore') {
          this.r.rs.updateJournal(req.sjournal, { role: 'restore', peerArray: pv.array, peerJournal: req.pjournal, restoredSeq: this.r.journal(req.sjournal).lastSeq, pullEnabled: true });
        }
      });
    } catch (e) {
      await peer.call('repl.primaryDelete', { pair: reply.result.id }).catch(() => undefined);
      throw e;
    }
    this.r.invalidate();
    const p = this.r.pair(reply.result.id);
    await this.r.bitmap(p);
    this.r.rs.event(p.id, `created (${req.mode}, group ${group})`);
    if (!this.r.journalRow(req.sjournal).pullEnabled) this.r.rs.updateJournal(req.sjournal, { pullEnabled: true });
    this.pulls.start(req.sjournal, this.r.journalRow(req.sjournal).pullIntervalMs);
    if (p.state === 'COPY') this.copies.start(p.id);
    return this.r.describe(p);
  }

  /** Primary side of `pair create`. */
  async primaryCreate(a: { pvol: string; svolArray: string; svol: string; size: number; pjournal: string; sjournal: string; mode: 'async' | 'sync'; group: string; nocopy: boolean }): Promise<{ id: string; state: PairState }> {
    const vol = this.r.array.volume(a.pvol);
    if (vol.size !== a.size) throw E.usage(`P-VOL ${this.r.name}:${a.pvol} is ${vol.size} bytes but the S-VOL is ${a.size}`, 'pair volumes of the same size');
    for (const u of this.r.array.usesOf(vol)) {
      if (u.active && (u.kind !== 'pair' || u.role === 'P-VOL')) {
        throw E.state(`${this.r.name}:${a.pvol} is already in use by ${u.kind} ${u.id}${u.state ? ` (${u.state})` : ''}`, 'a volume is the P-VOL of one pair at most');
      }
    }
    const j = this.r.journalRow(a.pjournal);
    if (j.role === 'restore') throw E.state(`journal ${this.r.name}:${a.pjournal} is a restore journal here`, 'give the primary a journal of its own');
    const group = this.r.groupPairs(a.pjournal);
    if (group.length && (group[0]!.remoteArray !== a.svolArray || group[0]!.remoteJournal !== a.sjournal)) {
      throw E.state(`journal ${this.r.name}:${a.pjournal} already feeds ${group[0]!.remoteArray}:${group[0]!.remoteJournal}`, 'one master journal per journal group');
    }
    if (group.some((p) => SUSPENDED.has(p.state))) throw E.state(`the journal group ${group[0]!.groupName} is suspended`, `resync it first: rcopy pair resync --group ${group[0]!.groupName}`);
    const id = `${this.r.name}:${a.pvol}`;
    this.r.rs.store.tx(() => {
      this.r.rs.addPair(
        newPair({ id, role: 'P', localVol: a.pvol, remoteArray: a.svolArray, remoteVol: a.svol, localJournal: a.pjournal, remoteJournal: a.sjournal, groupName: a.group, mode: a.mode }, a.nocopy),
      );
      if (j.role !== 'master') this.r.rs.updateJournal(a.pjournal, { role: 'master', peerArray: a.svolArray, peerJournal: a.sjournal });
    });
    this.r.invalidate();
    this.r.rs.event(id, `created (${a.mode}, group ${a.group})`);
    return { id, state: a.nocopy ? 'PAIR' : 'COPY' };
  }

  async delete(id: string, force: boolean): Promise<Record<string, unknown>> {
    const p = this.r.pair(id);
    await this.copies.abort(id);
    let remote = 'deleted';
    try {
      const peer = await this.r.peer(p.remoteArray);
      await peer.call('repl.primaryDelete', { pair: id });
    } catch (e) {
      if (!force) throw new RcopyError((e as RcopyError).code ?? 'ERR_RCOPY_PEER', `cannot reach ${p.remoteArray} to delete its side of ${id}: ${(e as Error).message}`, { kind: 'peer', hint: 'bring the peer back, or delete this side alone with --force' });
      remote = `not reached (${(e as Error).message})`;
    }
    await this.primaryDelete(id);
    return { deleted: id, remote };
  }

  /** Deletes this array's side of a pair (either role). */
  async primaryDelete(id: string): Promise<{ deleted: boolean }> {
    const p = this.r.rs.pair(id);
    if (!p) return { deleted: false };
    await this.copies.abort(id);
    this.r.rs.deletePair(id);
    this.r.invalidate();
    const b = this.r.bitmapNow(id);
    if (b) await b.close();
    await this.r.dropImage(p);
    const { rmSync } = await import('node:fs');
    rmSync(this.r.bitmapPath(id), { force: true });
    this.r.rs.event(id, 'deleted');
    if (this.r.groupPairs(p.localJournal).length === 0) {
      await this.pulls.stop(p.localJournal);
      await this.r.journal(p.localJournal).reset();
      this.r.rs.updateJournal(p.localJournal, { role: null, peerArray: null, peerJournal: null, pullEnabled: false });
    }
    return { deleted: true };
  }

  // ------------------------------------------------------------------ split

  /** Secondary side of `pair split`: the primary stops journaling, this side drains, both suspend. */
  async split(id: string, rw: boolean): Promise<Record<string, unknown>> {
    const p = this.r.pair(id);
    this.requireRole(p, 'S');
    if (p.state === 'COPY') throw E.state(`pair ${id} is in COPY`, `wait for PAIR first: rcopy pair wait ${id} --state PAIR`);
    if (SUSPENDED.has(p.state)) {
      if (rw && !p.writable) this.r.rs.updatePair(id, { writable: true });
      this.r.invalidate();
      return { pairs: this.r.groupPairs(p.localJournal).map((x) => this.r.describe(x)), note: `already ${p.state}` };
    }
    const peer = await this.r.peer(p.remoteArray);
    const { result } = await peer.call<{ splitSeq: number }>('repl.primarySplit', { journal: p.remoteJournal });
    const drained = await this.pulls.drain(p.localJournal, result.splitSeq, 30_000).catch(() => false);
    const restored = this.r.journalRow(p.localJournal).restoredSeq;
    await peer.call('repl.primaryFinishSplit', { journal: p.remoteJournal, restored }).catch(() => undefined);
    await this.pulls.suspendSecondary(p.localJournal, 'SSUS', drained ? 'split' : 'split (not fully drained: the rest is in the bitmaps)', { writable: rw });
    return { pairs: this.r.groupPairs(p.localJournal).map((x) => this.r.describe(x)), drained, splitSeq: result.splitSeq };
  }

  async primarySplit(journal: string): Promise<{ splitSeq: number }> {
    const ps = this.r.groupPairs(journal).filter((p) => p.role === 'P');
    if (!ps.length) throw E.notFound('journal group on', `${this.r.name}:${journal}`);
    if (ps.some((p) => p.state === 'COPY')) throw E.state('the group is in COPY', 'wait for PAIR first');
    if (ps.every((p) => SUSPENDED.has(p.state))) return { splitSeq: this.r.journal(journal).lastSeq };
    await this.r.suspendPrimary(journal, 'PSUS', 'split', { keepEntries: true });
    return { splitSeq: this.r.journal(journal).lastSeq };
  }

  async primaryFinishSplit(journal: string, restored: number): Promise<void> {
    const j = this.r.journal(journal);
    const oldest = j.stats().oldestSeq;
    if (oldest !== null && restored >= oldest) await j.release(Math.min(restored, j.lastSeq));
    await this.r.finishSplit(journal);
  }

  /** Primary side: suspend on the secondary's word (takeover, revert). */
  async primarySuspend(journal: string, state: 'PSUS' | 'PSUE', reason: string): Promise<void> {
    const ps = this.r.groupPairs(journal).filter((p) => p.role === 'P');
    if (ps.length && ps.some((p) => !SUSPENDED.has(p.state) || p.state !== state)) await this.r.suspendPrimary(journal, state, reason);
  }

  // ------------------------------------------------------------------ resync

  async resync(id: string, swap: boolean): Promise<Record<string, unknown>> {
    const p = this.r.pair(id);
    this.requireRole(p, 'S');
    const group = this.r.groupPairs(p.localJournal).filter((x) => x.role === 'S');
    if (group.some((x) => x.state === 'COPY')) {
      if (group.some((x) => x.state === 'COPY' && !this.copies.running(x.id))) for (const x of group) this.copies.start(x.id);
      return { pairs: group.map((x) => this.r.describe(x)), note: 'already copying' };
    }
    if (group.some((x) => !SUSPENDED.has(x.state))) {
      throw E.state(`pair ${id} is ${p.state}: only a suspended pair is resynchronised`, `split it first: rcopy pair split ${id}`);
    }
    if (!swap && group.some((x) => x.state === 'SSWS')) {
      throw E.state(`pair ${id} is SSWS (taken over): a plain resync would overwrite the writes made on the secondary`, `reverse the direction with: rcopy pair resync ${id} --swap`);
    }
    const peer = await this.r.peer(p.remoteArray);
    if (swap) return this.swap(p, group, peer);
    const begun = await peer.call<{ lastSeq: number }>('repl.primaryBeginResync', { journal: p.remoteJournal });
    // entries the primary folded into its bitmap are never pulled: restore goes on after its last seq
    await this.r.journal(p.localJournal).reset();
    await this.r.bumpSeq(p.localJournal, begun.result.lastSeq);
    this.r.rs.updateJournal(p.localJournal, { restoredSeq: Math.max(begun.result.lastSeq, this.r.journalRow(p.localJournal).restoredSeq) });
    for (const x of group) this.r.setState(x, 'COPY', 'resync', { resyncing: true, writable: false, copyDone: 0, copyTotal: 0 });
    for (const x of group) this.copies.start(x.id);
    return { pairs: this.r.groupPairs(p.localJournal).map((x) => this.r.describe(x)) };
  }

  async primaryBeginResync(journal: string): Promise<{ lastSeq: number }> {
    const ps = this.r.groupPairs(journal).filter((p) => p.role === 'P');
    if (!ps.length) throw E.notFound('journal group on', `${this.r.name}:${journal}`);
    if (ps.some((p) => JOURNALING.has(p.state))) await this.r.suspendPrimary(journal, 'PSUE', 'resync restarted');
    await this.r.array.locked(async () => {
      for (const p of this.r.groupPairs(journal)) if (p.role === 'P') this.r.setState(p, 'COPY', 'resync', { splitSeq: null });
    });
    return { lastSeq: this.r.journal(journal).lastSeq };
  }

  /** P side: the receiver finished copying a pair; clear the bitmap and go to PAIR. */
  async primaryCopyDone(id: string): Promise<{ lastSeq: number }> {
    const p = this.r.pair(id);
    if (p.state !== 'COPY') throw E.state(`pair ${id} is ${p.state} on ${this.r.name}, not COPY`, 'run the resync again');
    return this.r.array.locked(async () => {
      const b = await this.r.bitmap(p);
      b.clearAll();
      await b.flush();
      this.r.setState(p, 'PAIR', 'copy complete');
      return { lastSeq: this.r.journal(p.localJournal).lastSeq };
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
    await this.r.array.locked(async () => {
      for (const x of group) {
        this.r.rs.updatePair(x.id, { role: 'P', state: 'COPY', stateSince: Date.now(), reason: 'swap resync', writable: false, resyncing: false, imageTime: null, splitSeq: null });
        this.r.rs.event(x.id, `${x.state} -> COPY (swap: this side is now the primary)`);
      }
      this.r.rs.updateJournal(journal, { role: 'master', pullEnabled: false });
      await this.r.journal(journal).reset();
      this.r.invalidate();
    });
    for (const x of group) await this.r.dropImage(x);
    try {
      const { result } = await peer.call('repl.primarySwap', { journal: p.remoteJournal, base: this.r.journal(journal).lastSeq });
      await this.r.bumpSeq(journal, result.base as number);
    } catch (e) {
      await this.r.array.locked(async () => {
        for (const x of before) this.r.rs.updatePair(x.id, { role: 'S', state: x.state, reason: x.reason, writable: x.writable, imageTime: x.imageTime });
        this.r.rs.updateJournal(journal, { role: 'restore', pullEnabled: true });
        this.r.invalidate();
      });
      throw e;
    }
    return { pairs: this.r.groupPairs(journal).map((x) => this.r.describe(x)), swapped: true };
  }

  /** Old primary side of a swap: become the secondary and start copying. */
  async primarySwap(journal: string, base: number): Promise<{ base: number }> {
    const ps = this.r.groupPairs(journal);
    if (!ps.length) throw E.notFound('journal group on', `${this.r.name}:${journal}`);
    if (ps.some((x) => JOURNALING.has(x.state) && x.state !== 'COPY')) await this.r.suspendPrimary(journal, 'PSUE', 'swap');
    const seq = Math.max(base, this.r.journal(journal).lastSeq) + 1;
    await this.r.array.locked(async () => {
      await this.r.bumpSeq(journal, seq);
      for (const x of ps) {
        this.r.rs.updatePair(x.id, { role: 'S', state: 'COPY', stateSince: Date.now(), reason: 'swap resync', resyncing: true, writable: false, imageTime: Date.now(), copyDone: 0, copyTotal: 0, splitSeq: null });
        this.r.rs.event(x.id, `${x.state} -> COPY (swap: this side is now the secondary)`);
      }
      const row = this.r.journalRow(journal);
      this.r.rs.updateJournal(journal, { role: 'restore', restoredSeq: seq, pullEnabled: true, pullIntervalMs: row.pullIntervalMs });
      this.r.invalidate();
    });
    for (const x of ps) this.copies.start(x.id);
    this.pulls.start(journal, this.r.journalRow(journal).pullIntervalMs);
    return { base: seq };
  }

  // ------------------------------------------------------------------ takeover and revert

  async takeover(id: string): Promise<Record<string, unknown>> {
    const p = this.r.pair(id);
    this.requireRole(p, 'S');
    const group = this.r.groupPairs(p.localJournal).filter((x) => x.role === 'S');
    if (group.some((x) => x.state === 'COPY' && !x.resyncing)) throw E.state(`pair ${id} is in its initial copy: the S-VOL holds no consistent data yet`, `wait for PAIR: rcopy pair wait ${id} --state PAIR`);
    if (group.some((x) => x.state === 'COPY' && x.resyncing)) throw E.state(`pair ${id} is resynchronising: the S-VOL is inconsistent`, `put back the consistent image first: rcopy pair revert ${id}`);
    if (group.every((x) => x.state === 'SSWS')) return { pairs: group.map((x) => this.r.describe(x)), note: 'already SSWS' };
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
      const peer = await this.r.peer(p.remoteArray);
      await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUS', reason: 'takeover by the secondary' });
      reached = true;
    } catch {
      /* the primary is gone: that is why one takes over; it suspends by itself (PSUE) */
    }
    await this.pulls.suspendSecondary(p.localJournal, 'SSWS', 'takeover', { writable: true });
    return { pairs: this.r.groupPairs(p.localJournal).map((x) => this.r.describe(x)), primaryReached: reached };
  }

  async revert(id: string): Promise<Record<string, unknown>> {
    const p = this.r.pair(id);
    this.requireRole(p, 'S');
    if (p.state === 'PAIR' || p.state === 'PFUL') throw E.state(`pair ${id} is ${p.state}: its resync completed, there is nothing to revert`, `split it if you need a frozen image: rcopy pair split ${id}`);
    if (!this.r.hasImage(p)) throw E.state(`pair ${id} has no kept image: the S-VOL already is the image of ${new Date(p.imageTime ?? p.stateSince).toISOString()}`, `resynchronise it: rcopy pair resync ${id}`);
    await this.copies.abort(id);
    const vol = this.r.array.volume(p.localVol);
    const k = await this.r.keeper(p);
    const n = await k.revert((off, data) => this.r.array.write(vol, off, data, 'resync', { sync: false }), vol.trackSize);
    await this.r.array.commit();
    await this.r.dropImage(p);
    const cur = this.r.pair(id);
    this.r.setState(cur, cur.state === 'COPY' ? 'PSUE' : cur.state, 'reverted to the consistent image', { resyncing: false });
    try {
      const peer = await this.r.peer(p.remoteArray);
      await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUE', reason: 'secondary reverted an interrupted resync' });
    } catch {
      /* it suspends by itself when it cannot reach us; a later resync starts from both bitmaps */
    }
    return { pair: this.r.describe(this.r.pair(id)), tracksRestored: n };
  }

  private requireRole(p: PairRow, role: 'P' | 'S'): void {
    if (p.role !== role) throw new RcopyError('ERR_RCOPY_INTERNAL', `pair ${p.id}: operation sent to the ${p.role} side`, { kind: 'failed' });
  }
}
