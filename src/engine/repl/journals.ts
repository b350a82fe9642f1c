/**
 * The journal files of this array: created, opened, described and deleted here. A master journal
 * is the write-ahead log of its P-VOLs (walHook); a restore journal is staging for the secondary's
 * restore.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { JournalFile, describeDamage, type JournalEntry } from '../journal/journal-file.js';
import type { Volume } from '../array/volume.js';
import { type JournalRow, type StoreFinding } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';

/** A journal row's size must be its file's (a changed size would misplace every record). */
export function geometryProblem(j: JournalRow, jf: JournalFile): string | null {
  return j.size < jf.capacity || j.size > jf.capacity + 1024 * 1024 ? `size ${j.size} does not match the journal file's capacity ${jf.capacity}` : null;
}

export class Journals {
  /** The open journal files, by journal name. */
  readonly open = new Map<string, JournalFile>();

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
  ) {}

  /**
   * A master journal is the write-ahead log of its P-VOLs: their writes are not fsynced at commit
   * (the journal is), so before the journal drops entries the volumes are made durable. A release
   * (the secondary restored them) first waits for writes under way; a reset runs with the write
   * lock held or with the group suspended, so there is none to wait for. The journal records the
   * seq up to which the volumes are then durable, so a restart re-applies only what comes after.
   */
  walHook(jf: JournalFile): void {
    // a commit fsyncs the journal when the array's durability asks for it: start the disk early then
    jf.writeback.enabled = () => this.site.array.durability === 'fsync';
    jf.beforeDrop = async (how) => {
      let upto = 0;
      await this.site.array.checkpoint({ barrier: how !== 'reset', mark: () => (upto = jf.lastSeq) });
      return upto;
    };
  }

  journalPath(name: string): string {
    return path.join(this.site.array.dir, 'journals', `${name}.jnl`);
  }

  journal(name: string): JournalFile {
    const j = this.open.get(name);
    if (!j) throw E.notFound('journal', `${this.site.name}:${name}`, `run 'rcopy journal list ${this.site.name}'`);
    return j;
  }

  volumeByIdOrNull(id: number): Volume | null {
    for (const v of this.site.array.volumes.values()) if (v.id === id) return v;
    return null;
  }

  async createJournal(name: string, size: number, opts: { blockadeWatchMs?: number; overflowWatchMs?: number; autoResync?: boolean } = {}): Promise<JournalRow> {
    if (this.records.rs.journal(name)) throw E.journalExists(`journal '${this.site.name}:${name}'`);
    if (!(size >= 1024 * 1024)) throw E.badSize(String(size), 'a journal needs at least 1M');
    const file = this.journalPath(name);
    fs.rmSync(file, { force: true }); // not registered: left by a create that did not finish
    await JournalFile.removeLeftovers(path.dirname(file));
    const jf = await JournalFile.create(file, size);
    this.walHook(jf);
    const row: JournalRow = {
      name,
      size,
      role: null,
      peerArray: null,
      peerJournal: null,
      restoredSeq: 0,
      pullEnabled: false,
      pullIntervalMs: null,
      blockadeWatchMs: opts.blockadeWatchMs ?? 60_000,
      overflowWatchMs: opts.overflowWatchMs ?? 60_000,
      autoResync: !!opts.autoResync,
      created: Date.now(),
    };
    this.records.rs.addJournal(row);
    this.open.set(name, jf);
    return row;
  }

  setJournalOptions(name: string, patch: Partial<Pick<JournalRow, 'blockadeWatchMs' | 'overflowWatchMs' | 'autoResync'>>): JournalRow {
    this.records.journalRow(name);
    this.records.rs.updateJournal(name, patch);
    return this.records.journalRow(name);
  }

  async deleteJournal(name: string): Promise<void> {
    this.records.journalRow(name);
    const users = this.records.groupPairs(name);
    if (users.length) throw E.state(`journal '${this.site.name}:${name}' is used by pair ${users.map((p) => p.id).join(', ')}`, 'delete the pairs first');
    await this.open.get(name)?.close();
    this.open.delete(name);
    this.records.rs.deleteJournal(name);
    fs.rmSync(this.journalPath(name), { force: true });
  }

  journalInfo(name: string): Record<string, unknown> {
    const row = this.records.journalRow(name);
    const st = this.journal(name).stats();
    return {
      name,
      array: this.site.name,
      role: row.role,
      capacity: st.capacity,
      used: st.used,
      usedPct: Math.round(st.usedPct * 100) / 100,
      entries: st.entries,
      bytesPending: st.bytesPending,
      oldestSeq: st.oldestSeq,
      newestSeq: st.newestSeq,
      lastSeq: st.lastSeq,
      oldestTimestamp: st.oldestTimestamp,
      restoredSeq: row.role === 'restore' ? row.restoredSeq : undefined,
      recovery: this.journal(name).recovery,
      peer: row.peerArray ? `${row.peerArray}:${row.peerJournal}` : null,
      pairs: this.records.groupPairs(name).map((p) => p.id),
      blockadeWatchMs: row.blockadeWatchMs,
      overflowWatchMs: row.overflowWatchMs,
      autoResync: row.autoResync,
    };
  }

  /** Makes the next seq of a journal greater than `seq` (used when roles swap). */
  async bumpSeq(name: string, seq: number): Promise<void> {
    const j = this.journal(name);
    if (j.lastSeq >= seq) return;
    await j.append([{ seq, volumeId: 0, offset: 0, data: Buffer.alloc(0) }]);
    await j.reset();
  }

  readJournalEntries(journal: string, from: number, maxBytes: number): Promise<JournalEntry[]> {
    return this.journal(journal).read(from, { maxBytes });
  }

  /** Opens every journal file of the records; a row whose geometry is not its file's is a finding. */
  async openAll(findings: StoreFinding[]): Promise<void> {
    fs.mkdirSync(path.join(this.site.array.dir, 'journals'), { recursive: true });
    await JournalFile.removeLeftovers(path.join(this.site.array.dir, 'journals'));
    for (const j of this.records.rs.journals()) {
      const jf = await JournalFile.open(this.journalPath(j.name));
      this.walHook(jf);
      for (const d of jf.recovery.damaged ?? []) this.site.log(`journal ${j.name} (${j.role ?? 'unused'}): ${describeDamage(d)}`);
      this.open.set(j.name, jf);
      const bad = geometryProblem(j, jf);
      if (bad) findings.push({ table: 'journals', row: j.name, problem: bad, suspendable: false, journal: j.name });
    }
  }

  /**
   * Redo: a master journal is the write-ahead log of its P-VOLs. Entries after the seq up to which
   * the volumes were made durable (none after a clean stop) may not have reached them before a
   * crash: they are re-applied in order. Never one that a later damaged record could overlap: that
   * would put older data over newer (JournalFile.redo).
   */
  async redo(): Promise<void> {
    for (const j of this.records.rs.journals()) {
      if (j.role !== 'master') continue;
      const jf = this.open.get(j.name)!;
      const n = await jf.redo(async (batch) => {
        for (const e of batch) {
          const vol = this.volumeByIdOrNull(e.volumeId);
          if (vol) await vol.write(e.offset, e.data);
        }
      });
      if (n) this.site.log(`journal ${j.name}: re-applied ${n} entries after seq ${jf.durableSeq} to the P-VOLs`);
    }
  }

  /**
   * Before a write to `vol` that no master journal logs (a suspended P-VOL's, a writable S-VOL's,
   * a volume whose pair was deleted): an entry for `vol` that a master journal would re-apply at
   * start (after its durableSeq: a split keeps unreleased entries) would then put older data over
   * that write. Returns what makes those entries durable on the volumes and records it, or null
   * when there is none (the common case: one map lookup per open journal). The write path runs it
   * with no write in flight; what it captures now is what it covers.
   */
  unloggedGuard(vol: Volume): (() => Promise<void>) | null {
    let pending: Array<[JournalFile, number]> | null = null;
    for (const [name, jf] of this.open) {
      if (!jf.redoPending(vol.id) || this.records.journalRow(name).role !== 'master') continue;
      (pending ??= []).push([jf, jf.lastSeq]);
    }
    if (!pending) return null;
    const todo = pending;
    return async () => {
      await this.site.array.checkpoint();
      for (const [jf, upto] of todo) await jf.markDurable(upto);
    };
  }

  /** A commit makes master journals durable with the volumes; restore journals are staging only
   *  (the primary keeps each entry until it is reported restored), so they are not synced. */
  async syncMasters(): Promise<void> {
    const masters = this.records.rs.journals().filter((j) => j.role === 'master');
    await Promise.all(masters.map((j) => this.open.get(j.name)?.sync() ?? Promise.resolve()));
  }

  async closeAll(): Promise<void> {
    for (const j of this.open.values()) await j.close().catch(() => undefined);
    this.open.clear();
  }
}
