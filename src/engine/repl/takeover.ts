/**
 * Protecting the secondary's image: takeover (the S-VOLs become writable, SSWS), revert (every
 * S-VOL of the group back to the consistent image kept since the suspension), the mirror of a
 * suspension decided on the primary, and what a restart leaves of a resync cut short.
 */
import { E } from '../../errors.js';
import { JOURNALING, MIRROR, type PairState } from './pair-state.js';
import { PairCommand, catchingUp, requireRole, sideOf } from './pair-checks.js';

export class Takeover extends PairCommand {
  async takeover(id: string): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const group = sideOf(this.records, p.localJournal);
      if (group.some((x) => x.state === 'COPY' && !x.resyncing))
        throw E.state(`pair ${id} is in its initial copy: the S-VOL holds no consistent data yet`, `wait for PAIR: rcopy pair wait ${id} --state PAIR`);
      if (group.some((x) => x.state === 'COPY' && x.resyncing))
        throw E.state(`pair ${id} is resynchronising: the S-VOL is inconsistent`, `put back the consistent image first: rcopy pair revert ${id}`);
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
      const catching = catchingUp(this.records, this.files, p.localJournal);
      if (catching) {
        // after a resync the S-VOLs are consistent only once the restore passed the copy's end
        await this.pulls.suspendSecondary(p.localJournal, 'PSUE', 'takeover asked before the S-VOLs were consistent again after a resync');
        throw E.state(
          `the S-VOLs of group ${p.groupName} are not consistent yet: the restore after the resync reached seq ${catching.restored} of ${catching.upto}`,
          `put back the consistent image of the suspension first (rcopy pair revert ${id}), then take over`,
        );
      }
      await this.pulls.suspendSecondary(p.localJournal, 'SSWS', 'takeover', { writable: true, from: new Set<PairState>(['PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS']) });
      return { pairs: sideOf(this.records, p.localJournal).map((x) => this.view.describe(x)), primaryReached: reached };
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
    requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const journal = p.localJournal;
      let group = sideOf(this.records, journal);
      const live = group.find((x) => x.state === 'PAIR' || x.state === 'PFUL');
      if (live) {
        const c = catchingUp(this.records, this.files, journal);
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
      await this.pulls.restorer.dropImages(journal);
      group = sideOf(this.records, journal);
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
      await this.pulls.restorer.hold(journal, async () => {
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
      const cur = sideOf(this.records, journal);
      this.records.setGroupState(cur, cur.every((x) => x.state === 'COPY' || x.state === 'PSUE') ? 'PSUE' : cur[0]!.state, 'reverted to the consistent image', {
        resyncing: false,
        copied: false,
        splitSeq: null,
      });
      const out = sideOf(this.records, journal);
      return { pair: this.view.describe(this.records.pair(id)), pairs: out.map((x) => this.view.describe(x)), tracksRestored: n };
    });
  }

  /**
   * S side: stops the group's running copy (rcopy's Ctrl-C on a resync it waits for). The group goes
   * PSUE in one transaction, as for a copy cut short: a resync's S-VOLs keep their consistent image
   * (pair revert gives it back, pair resync starts again); the primary is told to suspend too.
   */
  async cancelCopy(id: string): Promise<Record<string, unknown>> {
    const p = this.records.pair(id);
    requireRole(p, 'S');
    return this.records.withOp(p.localJournal, async () => {
      const journal = p.localJournal;
      const copying = sideOf(this.records, journal).filter((x) => x.state === 'COPY');
      if (copying.length) {
        this.records.setGroupState(copying, 'PSUE', 'copy cancelled by the user: run pair resync or pair revert', (x) => ({ imageTime: x.imageTime ?? Date.now(), copied: false }));
        await Promise.all(copying.map((x) => this.copies.abort(x.id)));
        try {
          const peer = await this.links.peer(p.remoteArray);
          await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUE', reason: 'secondary cancelled the copy' });
        } catch {
          /* it suspends by itself when it cannot reach us, or is told by the reconciliation */
        }
      }
      const out = sideOf(this.records, journal);
      return { pair: this.view.describe(this.records.pair(id)), pairs: out.map((x) => this.view.describe(x)), note: copying.length ? undefined : 'no copy was running' };
    });
  }

  /** S side: the primary says it suspended the group: mirror it (a copy running stops). */
  mirrorPrimary(journal: string, state: 'PSUE' | 'PFUS' | 'PSUS', reason: string): void {
    const ps = sideOf(this.records, journal);
    if (!ps.length || this.records.opBusy(journal) || !ps.some((x) => JOURNALING.has(x.state))) return;
    const to = MIRROR[state] ?? 'PSUE';
    const why = `${reason} (on the primary)`;
    void (async () => {
      const copying = sideOf(this.records, journal).filter((x) => x.state === 'COPY');
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
    const journals = new Set(
      this.records
        .pairs()
        .filter((p) => p.role === 'S' && p.state === 'COPY' && p.resyncing)
        .map((p) => p.localJournal),
    );
    for (const j of journals) {
      const copying = sideOf(this.records, j).filter((x) => x.state === 'COPY');
      this.records.setGroupState(copying, 'PSUE', 'resync interrupted by a controller restart: run pair resync or pair revert', (x) => ({ imageTime: x.imageTime ?? Date.now(), copied: false }));
    }
  }
}
