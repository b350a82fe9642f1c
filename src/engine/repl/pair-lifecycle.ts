/**
 * Creating and deleting pairs. `pair create` runs on the secondary, which asks the primary to record
 * its side (primaryCreate) and then starts the initial copy; `pair delete` removes both sides (or
 * this side alone with --force when the peer cannot be reached).
 */
import { E, RcopyError } from '../../errors.js';
import { parseVolRef } from '../../units.js';
import { SUSPENDED, type PairState } from './pair-state.js';
import type { PairRow } from './repl-store.js';
import { PairCommand } from './pair-checks.js';

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

export class PairLifecycle extends PairCommand {
  /** Secondary side of `pair create`. */
  // long: the steps in the order they must happen (checks, the primary's record, this side's record
  // in one transaction, then the copy); each is a few lines
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
          newPair(
            {
              id,
              role: 'S',
              localVol: req.svol,
              remoteArray: pv.array,
              remoteVol: pv.name,
              localJournal: req.sjournal,
              remoteJournal: req.pjournal,
              groupName: group,
              mode: req.mode,
              syncTimeoutMs,
              fence,
            },
            !!req.nocopy,
          ),
        );
        if (sj.role !== 'restore') {
          this.records.rs.updateJournal(req.sjournal, {
            role: 'restore',
            peerArray: pv.array,
            peerJournal: req.pjournal,
            restoredSeq: Math.max(start ?? 0, this.journals.journal(req.sjournal).lastSeq),
            pullEnabled: true,
          });
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
  async primaryCreate(a: {
    pvol: string;
    svolArray: string;
    svol: string;
    size: number;
    pjournal: string;
    sjournal: string;
    mode: 'async' | 'sync';
    group: string;
    nocopy: boolean;
    syncTimeoutMs: number;
    fence: 'never' | 'data';
    base: number;
  }): Promise<{ id: string; state: PairState; lastSeq: number }> {
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
        newPair(
          {
            id,
            role: 'P',
            localVol: a.pvol,
            remoteArray: a.svolArray,
            remoteVol: a.svol,
            localJournal: a.pjournal,
            remoteJournal: a.sjournal,
            groupName: a.group,
            mode: a.mode,
            syncTimeoutMs: a.syncTimeoutMs,
            fence: a.fence,
          },
          a.nocopy,
        ),
      );
      if (j.role !== 'master') this.records.rs.updateJournal(a.pjournal, { role: 'master', peerArray: a.svolArray, peerJournal: a.sjournal });
    });
    this.records.invalidate();
    this.records.rs.event(id, `created (${a.mode}, group ${a.group})`);
    return { id, state: a.nocopy ? 'PAIR' : 'COPY', lastSeq: this.journals.journal(a.pjournal).lastSeq };
  }

  /**
   * Deletes the pair on both sides, the other side's first. That side runs its group guards
   * (`guard`: a running drill of a secondary's group is named and refused, or ended with `yes`);
   * its refusal stops the delete even with `force`, which only covers a peer that cannot be reached.
   */
  async delete(id: string, force: boolean, yes = false): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    await this.copies.abort(id);
    let remote = 'deleted';
    try {
      const peer = await this.links.peer(p.remoteArray);
      await peer.call('repl.primaryDelete', { pair: id, guard: true, yes });
    } catch (e) {
      if (e instanceof RcopyError && e.code === 'ERR_RCOPY_STATE') throw e; // the other side refused (a running drill): nothing changed
      if (!force) throw E.fromPeer(e, `cannot reach ${p.remoteArray} to delete its side of ${id}: ${(e as Error).message}`, 'bring the peer back, or delete this side alone with --force');
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
}
