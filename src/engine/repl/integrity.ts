/**
 * Checks of this array's replication state: at start (the management store's rows against their
 * checksums, each journal's geometry against its file) and on demand (`rcopy array check`). A fact
 * that can be made safe suspends its group; one that cannot stops the start with the row named.
 */
import { E } from '../../errors.js';
import { SUSPENDED } from './pair-state.js';
import { type StoreFinding } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import { geometryProblem, type Journals } from './journals.js';
import type { PairFiles } from './pair-files.js';
import type { PrimarySuspension } from './suspension.js';

export class Integrity {
  /** What the checks at start found (and made safe by suspending). */
  private startFindings: Array<{ what: string; problem: string }> = [];

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly journals: Journals,
    private readonly files: PairFiles,
    private readonly suspension: PrimarySuspension,
  ) {}

  /**
   * What a check of the management store found (ReplStore.verify): a fact that can be made safe
   * suspends its journal group (PSUE, the row named in the reason and the log): a suspended group
   * pulls and restores nothing and is made equal again by a resync. A fact that cannot (a role,
   * a journal's geometry) stops the start with the table and row named.
   */
  async applyFindings(findings: StoreFinding[]): Promise<void> {
    this.startFindings = findings.map((f) => ({ what: `mgmt.db ${f.table} '${f.row}' (found at start, group suspended)`, problem: f.problem }));
    const fatal = findings.find((f) => !f.suspendable);
    if (fatal) {
      throw E.integrity(
        `management store of ${this.site.name} (mgmt.db): table ${fatal.table}, row '${fatal.row}': ${fatal.problem}`,
        `run 'rcopy array check ${this.site.name}' for every finding; restore mgmt.db from a backup, or delete and re-create the array`,
      );
    }
    for (const f of findings) {
      const why = `mgmt.db ${f.table} row '${f.row}' failed its check (${f.problem}): resync to make the S-VOLs equal again`;
      this.site.log(`integrity: ${why}`);
      const group = this.records.rs.pairs().filter((p) => p.localJournal === f.journal || p.id === f.row);
      for (const p of group) if (!SUSPENDED.has(p.state) && !['COPY', 'PAIR', 'PFUL'].includes(p.state)) this.records.repairState(p.id, why);
      const movable = this.records.rs.pairs().filter((p) => group.some((g) => g.id === p.id) && p.state !== 'SSWS' && p.state !== 'PSUE');
      const primaryJournals = new Set(movable.filter((p) => p.role === 'P').map((p) => p.localJournal));
      // a primary folds its journal into the bitmaps as it suspends (nothing unsent is dropped)
      for (const j of primaryJournals) await this.suspension.suspendPrimaryLocked(j, 'PSUE', why, { quiet: true });
      const rest = movable.filter((p) => p.role === 'S');
      if (rest.length) this.records.setGroupState(rest, 'PSUE', why);
      for (const p of group) this.records.rs.reseal('pairs', p.id);
      if (f.table === 'journals') this.records.rs.reseal('journals', f.row);
      for (const p of group) this.records.rs.event(p.id, why);
    }
  }

  /** Every check of this array's replication state on demand (`rcopy array check`). */
  check(): Array<{ what: string; problem: string }> {
    const out: Array<{ what: string; problem: string }> = [...this.startFindings];
    for (const p of this.site.array.store.integrityProblems()) out.push({ what: 'mgmt.db', problem: p });
    for (const f of this.records.rs.verify({ fill: false })) out.push({ what: `mgmt.db ${f.table} '${f.row}'`, problem: f.problem });
    for (const j of this.records.rs.journals()) {
      const jf = this.journals.open.get(j.name);
      if (!jf) {
        out.push({ what: `journal ${j.name}`, problem: 'its file is not open' });
        continue;
      }
      const bad = geometryProblem(j, jf);
      if (bad) out.push({ what: `journal ${j.name}`, problem: bad });
      if (jf.recovery.reason) out.push({ what: `journal ${j.name}`, problem: `recovery stopped after seq ${jf.recovery.lastSeq}: ${jf.recovery.reason}` });
      if (j.role === 'restore' && jf.lastSeq < j.restoredSeq && (jf.stats().entries ?? 0) > 0)
        out.push({ what: `journal ${j.name}`, problem: `holds entries up to seq ${jf.lastSeq} but restored_seq is ${j.restoredSeq}` });
    }
    for (const p of this.records.rs.pairs()) {
      if (!this.site.array.volumes.has(p.localVol)) out.push({ what: `pair ${p.id}`, problem: `its volume ${p.localVol} does not exist` });
      if (!this.records.rs.journal(p.localJournal)) out.push({ what: `pair ${p.id}`, problem: `its journal ${p.localJournal} does not exist` });
      if (p.splitSeq !== null && p.role === 'S' && !this.files.hasImage(p) && p.state !== 'COPY') out.push({ what: `pair ${p.id}`, problem: 'a resync image is recorded but its file is missing' });
    }
    return out;
  }

  /**
   * A master journal whose recovery found a damaged or torn record lost the entries from there on:
   * whatever data they carried is on the P-VOLs (or was never acknowledged) but can no longer be
   * shipped in order. The group suspends (PSUE) and every allocated track of its P-VOLs goes into
   * the bitmaps, so the next resync makes the S-VOLs equal again. A restore journal drops what it
   * holds past the restored seq and pulls it again (the primary keeps it).
   */
  async recoverDamagedJournals(): Promise<void> {
    for (const j of this.records.rs.journals()) {
      const jf = this.journals.open.get(j.name)!;
      if (!jf.recovery.reason) continue;
      const what = `journal damaged (${j.name}): ${jf.recovery.reason}`;
      if (j.role === 'restore') {
        const ss = this.records.groupPairs(j.name).filter((p) => p.role === 'S');
        if (ss.length) this.records.rs.event(ss[0]!.id, `${what}; pulling again after seq ${j.restoredSeq}`);
        await jf.rewind(j.restoredSeq);
        continue;
      }
      if (j.role !== 'master') continue;
      const ps = this.records.groupPairs(j.name).filter((p) => p.role === 'P');
      if (!ps.length) continue;
      this.records.rs.event(ps[0]!.id, what);
      for (const p of ps) {
        const vol = this.site.array.volume(p.localVol);
        const b = await this.files.bitmap(p);
        b.or(vol.alloc);
        await b.flush();
      }
      const moving = ps.filter((p) => p.state !== 'PSUE');
      if (moving.length) this.records.setGroupState(moving, 'PSUE', what);
      await jf.reset();
    }
  }
}
