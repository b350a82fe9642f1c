/**
 * Journal-based remote copy for one array: its journals, its side of every pair, the write hook
 * that journals host writes to P-VOLs (or records them in differential bitmaps while suspended),
 * the primary's answers to pulls, and suspension/resync state changes.
 *
 * The secondary drives transfers (pull loops in pull-loop.ts, initial copy and resync in
 * copy-task.ts); the primary only answers. A journal group — the pairs that share a master journal
 * and its restore journal — is the consistency group: it is split, suspended and resynchronised as a
 * whole, and restore keeps the primary's sequence order across all its volumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E, RcopyError, storageError } from '../../errors.js';
import type { StorageArray, VolumeUse, WriteContext, WriteOrigin } from '../array.js';
import { TrackBitmap } from '../bitmap.js';
import { JournalFile, MAX_RECORD_DATA, describeDamage, type JournalEntry } from '../journal-file.js';
import type { Volume } from '../volume.js';
import { ContentIndex } from './references/content-index.js';
import { BLOCK, type Segment } from './references/wire.js';
import { ConsistentImage } from './consistent-image.js';
import { LinkShaper } from './link-shaper.js';
import { JOURNALING, SUSPENDED, checkMove, nextCommand, type PairState } from './pair-state.js';
import { faultDelay, faultPoint } from '../fault.js';
import { logFile } from '../home.js';
import { ReplStore, type JournalRow, type LinkRow, type PairRow, type StoreFinding } from './repl-store.js';

export interface PeerCaller {
  call<T = any>(method: string, params?: unknown, opts?: { payload?: Buffer | null; timeoutMs?: number }): Promise<{ result: T; payload: Buffer | null }>;
}
export type PeerGetter = (array: string) => Promise<PeerCaller>;

export const HIGH_WATER = 0.8;

export interface PullReplyEntry {
  seq: number;
  ts: number;
  vol: string;
  off: number;
  len: number;
  /** Present when part of the entry travels as references (references/wire.ts). */
  segs?: Segment[];
}

export interface PrimaryInfo {
  lastSeq: number;
  entries: number;
  usedPct: number;
  oldestTimestamp: number | null;
  bytesPending: number;
  states: Record<string, PairState>;
}

/** A journal row's size must be its file's (a changed size would misplace every record). */
function geometryProblem(j: JournalRow, jf: JournalFile): string | null {
  return j.size < jf.capacity || j.size > jf.capacity + 1024 * 1024 ? `size ${j.size} does not match the journal file's capacity ${jf.capacity}` : null;
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class Replicator {
  readonly rs: ReplStore;
  readonly journals = new Map<string, JournalFile>();
  private bitmaps = new Map<string, TrackBitmap>();
  private keepers = new Map<string, ConsistentImage>();
  private shapers = new Map<string, LinkShaper>();
  /** P side: what each master journal's secondary holds, for references instead of data. */
  private contentIndexes = new Map<string, ContentIndex>();
  /** P side: writes of sync pairs waiting until the secondary has restored their seq. */
  private syncWaiters = new Map<string, Array<{ seq: number; resolve: (restored: boolean) => void }>>();
  /** P side: when the master journal went over the high-water mark. */
  private overSince = new Map<string, number>();
  /** P side: last time a secondary pulled from a master journal. */
  readonly lastPulled = new Map<string, number>();
  /** Listeners the pull loops and copy tasks register (kick on sync writes, state changes). */
  onKick: (journal: string) => void = () => undefined;
  onStateChange: (pairs: PairRow[]) => void = () => undefined;
  private pairCache: Map<string, PairRow[]> | null = null;

  constructor(
    readonly array: StorageArray,
    readonly peers: PeerGetter,
    readonly log: (msg: string) => void,
  ) {
    this.rs = new ReplStore(array.store);
  }

  get name(): string {
    return this.array.name;
  }

  /**
   * A master journal is the write-ahead log of its P-VOLs: their writes are not fsynced at commit
   * (the journal is), so before the journal drops entries the volumes are made durable. A release
   * (the secondary restored them) first waits for writes under way; a reset runs with the write
   * lock held or with the group suspended, so there is none to wait for. The journal records the
   * seq up to which the volumes are then durable, so a restart re-applies only what comes after.
   */
  private walHook(jf: JournalFile): void {
    jf.beforeDrop = async (how) => {
      let upto = 0;
      await this.array.checkpoint({ barrier: how !== 'reset', mark: () => (upto = jf.lastSeq) });
      return upto;
    };
  }

  // ---------------------------------------------------------------- start / stop

  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.array.dir, 'journals'), { recursive: true });
    fs.mkdirSync(path.join(this.array.dir, 'bitmaps'), { recursive: true });
    const findings = this.rs.verify();
    await JournalFile.removeLeftovers(path.join(this.array.dir, 'journals'));
    for (const j of this.rs.journals()) {
      const jf = await JournalFile.open(this.journalPath(j.name));
      this.walHook(jf);
      for (const d of jf.recovery.damaged ?? []) this.log(`journal ${j.name} (${j.role ?? 'unused'}): ${describeDamage(d)}`);
      this.journals.set(j.name, jf);
      // the row's geometry must be the file's (a changed size would misplace every record)
      const bad = geometryProblem(j, jf);
      if (bad) findings.push({ table: 'journals', row: j.name, problem: bad, suspendable: false, journal: j.name });
    }
    // Redo: a master journal is the write-ahead log of its P-VOLs. Entries after the seq up to
    // which the volumes were made durable (none after a clean stop) may not have reached them
    // before a crash: they are re-applied in order. Never one that a later damaged record could
    // overlap: that would put older data over newer (JournalFile.redo).
    for (const j of this.rs.journals()) {
      if (j.role !== 'master') continue;
      const jf = this.journals.get(j.name)!;
      const n = await jf.redo(async (batch) => {
        for (const e of batch) {
          const vol = this.volumeByIdOrNull(e.volumeId);
          if (vol) await vol.write(e.offset, e.data);
        }
      });
      if (n) this.log(`journal ${j.name}: re-applied ${n} entries after seq ${jf.durableSeq} to the P-VOLs`);
    }
    for (const p of this.rs.pairs()) await this.bitmap(p);
    await this.applyFindings(findings);
    // A master journal whose recovery found a damaged or torn record lost the entries from there
    // on: whatever data they carried is on the P-VOLs (or was never acknowledged) but can no
    // longer be shipped in order. The group suspends (PSUE) and every allocated track of its P-VOLs
    // goes into the bitmaps, so the next resync makes the S-VOLs equal again. A restore journal
    // drops what it holds past the restored seq and pulls it again (the primary keeps it).
    for (const j of this.rs.journals()) {
      const jf = this.journals.get(j.name)!;
      if (!jf.recovery.reason) continue;
      const what = `journal damaged (${j.name}): ${jf.recovery.reason}`;
      if (j.role === 'restore') {
        const ss = this.groupPairs(j.name).filter((p) => p.role === 'S');
        if (ss.length) this.rs.event(ss[0]!.id, `${what}; pulling again after seq ${j.restoredSeq}`);
        await jf.rewind(j.restoredSeq);
        continue;
      }
      if (j.role !== 'master') continue;
      const ps = this.groupPairs(j.name).filter((p) => p.role === 'P');
      if (!ps.length) continue;
      this.rs.event(ps[0]!.id, what);
      for (const p of ps) {
        const vol = this.array.volume(p.localVol);
        const b = await this.bitmap(p);
        b.or(vol.alloc);
        await b.flush();
      }
      const moving = ps.filter((p) => p.state !== 'PSUE');
      if (moving.length) this.setGroupState(moving, 'PSUE', what);
      await jf.reset();
    }
    this.array.writeHooks.push((vol, off, data, origin, ctx) => this.onWrite(vol, off, data, origin, ctx));
    // a commit makes master journals durable with the volumes; restore journals are staging
    // only (the primary keeps each entry until it is reported restored), so they are not synced
    this.array.syncHooks.push(async () => {
      await Promise.all(this.rs.journals().filter((j) => j.role === 'master').map((j) => this.journals.get(j.name)?.sync()));
    });
    this.array.usageProviders.push((vol) => this.usesOf(vol));
  }

  /**
   * What a check of the management store found (ReplStore.verify): a fact that can be made safe
   * suspends its journal group (PSUE, the row named in the reason and the log): a suspended group
   * pulls and restores nothing and is made equal again by a resync. A fact that cannot (a role,
   * a journal's geometry) stops the start with the table and row named.
   */
  private async applyFindings(findings: StoreFinding[]): Promise<void> {
    this.startFindings = findings.map((f) => ({ what: `mgmt.db ${f.table} '${f.row}' (found at start, group suspended)`, problem: f.problem }));
    const fatal = findings.find((f) => !f.suspendable);
    if (fatal) {
      throw E.integrity(`management store of ${this.name} (mgmt.db): table ${fatal.table}, row '${fatal.row}': ${fatal.problem}`, `run 'rcopy array check ${this.name}' for every finding; restore mgmt.db from a backup, or delete and re-create the array`);
    }
    for (const f of findings) {
      const why = `mgmt.db ${f.table} row '${f.row}' failed its check (${f.problem}): resync to make the S-VOLs equal again`;
      this.log(`integrity: ${why}`);
      const group = this.rs.pairs().filter((p) => p.localJournal === f.journal || p.id === f.row);
      for (const p of group) if (!SUSPENDED.has(p.state) && !['COPY', 'PAIR', 'PFUL'].includes(p.state)) this.rs.forceSuspended(p.id, why);
      const movable = this.rs.pairs().filter((p) => group.some((g) => g.id === p.id) && p.state !== 'SSWS' && p.state !== 'PSUE');
      const primaryJournals = new Set(movable.filter((p) => p.role === 'P').map((p) => p.localJournal));
      // a primary folds its journal into the bitmaps as it suspends (nothing unsent is dropped)
      for (const j of primaryJournals) await this.suspendPrimaryLocked(j, 'PSUE', why, { quiet: true });
      const rest = movable.filter((p) => p.role === 'S');
      if (rest.length) this.setGroupState(rest, 'PSUE', why);
      for (const p of group) this.rs.reseal('pairs', p.id);
      if (f.table === 'journals') this.rs.reseal('journals', f.row);
      for (const p of group) this.rs.event(p.id, why);
    }
  }

  /** What the checks at start found (and made safe by suspending). */
  private startFindings: Array<{ what: string; problem: string }> = [];

  /** Every check of this array's replication state on demand (`rcopy array check`). */
  check(): Array<{ what: string; problem: string }> {
    const out: Array<{ what: string; problem: string }> = [...this.startFindings];
    for (const p of this.array.store.integrityProblems()) out.push({ what: 'mgmt.db', problem: p });
    for (const f of this.rs.verify({ fill: false })) out.push({ what: `mgmt.db ${f.table} '${f.row}'`, problem: f.problem });
    for (const j of this.rs.journals()) {
      const jf = this.journals.get(j.name);
      if (!jf) {
        out.push({ what: `journal ${j.name}`, problem: 'its file is not open' });
        continue;
      }
      const bad = geometryProblem(j, jf);
      if (bad) out.push({ what: `journal ${j.name}`, problem: bad });
      if (jf.recovery.reason) out.push({ what: `journal ${j.name}`, problem: `recovery stopped after seq ${jf.recovery.lastSeq}: ${jf.recovery.reason}` });
      if (j.role === 'restore' && jf.lastSeq < j.restoredSeq && (jf.stats().entries ?? 0) > 0) out.push({ what: `journal ${j.name}`, problem: `holds entries up to seq ${jf.lastSeq} but restored_seq is ${j.restoredSeq}` });
    }
    for (const p of this.rs.pairs()) {
      if (!this.array.volumes.has(p.localVol)) out.push({ what: `pair ${p.id}`, problem: `its volume ${p.localVol} does not exist` });
      if (!this.rs.journal(p.localJournal)) out.push({ what: `pair ${p.id}`, problem: `its journal ${p.localJournal} does not exist` });
      if (p.splitSeq !== null && p.role === 'S' && !this.hasImage(p) && p.state !== 'COPY') out.push({ what: `pair ${p.id}`, problem: 'a resync image is recorded but its file is missing' });
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(this.releasing.values());
    for (const w of this.syncWaiters.values()) for (const x of w) x.resolve(false);
    this.syncWaiters.clear();
    for (const b of this.bitmaps.values()) await b.close().catch(() => undefined);
    for (const k of this.keepers.values()) await k.close().catch(() => undefined);
    for (const j of this.journals.values()) await j.close().catch(() => undefined);
    this.bitmaps.clear();
    this.keepers.clear();
    this.journals.clear();
  }

  // ---------------------------------------------------------------- lookups

  journalPath(name: string): string {
    return path.join(this.array.dir, 'journals', `${name}.jnl`);
  }

  journal(name: string): JournalFile {
    const j = this.journals.get(name);
    if (!j) throw E.notFound('journal', `${this.name}:${name}`, `run 'rcopy journal list ${this.name}'`);
    return j;
  }

  journalRow(name: string): JournalRow {
    const j = this.rs.journal(name);
    if (!j) throw E.notFound('journal', `${this.name}:${name}`, `run 'rcopy journal list ${this.name}' or 'rcopy journal create ${this.name}:${name} --size 1G'`);
    return j;
  }

  private volumeByIdOrNull(id: number): Volume | null {
    for (const v of this.array.volumes.values()) if (v.id === id) return v;
    return null;
  }

  pairs(): PairRow[] {
    return this.rs.pairs();
  }

  private pairsByVol(): Map<string, PairRow[]> {
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

  invalidate(): void {
    this.pairCache = null;
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

  private usesOf(vol: Volume): VolumeUse[] {
    const out: VolumeUse[] = [];
    for (const p of this.pairsByVol().get(vol.name) ?? []) {
      const j = this.rs.journal(p.localJournal);
      out.push({
        kind: 'pair',
        id: p.id,
        role: p.role === 'P' ? 'P-VOL' : 'S-VOL',
        state: p.state,
        active: true,
        detail: {
          pair: p.id,
          group: p.groupName,
          role: p.role === 'P' ? 'P-VOL' : 'S-VOL',
          state: p.state,
          restoredSeq: p.role === 'S' ? j?.restoredSeq ?? 0 : undefined,
          imageTime: p.imageTime,
          peer: `${p.remoteArray}:${p.remoteVol}`,
        },
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- links

  linkOf(peer: string): LinkRow {
    return this.rs.link(peer) ?? { peer, bandwidth: null, latencyMs: 0, up: true, changed: 0 };
  }

  shaper(peer: string): LinkShaper {
    const l = this.linkOf(peer);
    let s = this.shapers.get(peer);
    if (!s) {
      s = new LinkShaper(l.bandwidth, l.latencyMs);
      this.shapers.set(peer, s);
    }
    s.bandwidth = l.bandwidth;
    s.latencyMs = l.latencyMs;
    return s;
  }

  setLink(l: LinkRow): void {
    const before = this.rs.link(l.peer);
    this.rs.setLink({ ...l, changed: before && before.up === l.up ? before.changed : Date.now() });
    if (!l.up && (before?.up ?? true)) this.shapers.get(l.peer)?.cut(E.linkDown(this.name, l.peer));
    this.shaper(l.peer);
  }

  checkLink(peer: string): void {
    if (!this.linkOf(peer).up) throw E.linkDown(this.name, peer);
  }

  /** A peer's controller, through the link (down → ERR_RCOPY_LINK_DOWN). */
  async peer(name: string): Promise<PeerCaller> {
    this.checkLink(name);
    return this.peers(name);
  }

  // ---------------------------------------------------------------- journals

  async createJournal(name: string, size: number, opts: { blockadeWatchMs?: number; overflowWatchMs?: number; autoResync?: boolean } = {}): Promise<JournalRow> {
    if (this.rs.journal(name)) throw new RcopyError('ERR_RCOPY_JOURNAL_EXISTS', `journal '${this.name}:${name}' already exists`, { kind: 'usage' });
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
    this.rs.addJournal(row);
    this.journals.set(name, jf);
    return row;
  }

  setJournalOptions(name: string, patch: Partial<Pick<JournalRow, 'blockadeWatchMs' | 'overflowWatchMs' | 'autoResync'>>): JournalRow {
    this.journalRow(name);
    this.rs.updateJournal(name, patch);
    return this.journalRow(name);
  }

  async deleteJournal(name: string): Promise<void> {
    this.journalRow(name);
    const users = this.groupPairs(name);
    if (users.length) throw E.state(`journal '${this.name}:${name}' is used by pair ${users.map((p) => p.id).join(', ')}`, 'delete the pairs first');
    await this.journals.get(name)?.close();
    this.journals.delete(name);
    this.rs.deleteJournal(name);
    fs.rmSync(this.journalPath(name), { force: true });
  }

  journalInfo(name: string): Record<string, unknown> {
    const row = this.journalRow(name);
    const st = this.journal(name).stats();
    return {
      name,
      array: this.name,
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
      pairs: this.groupPairs(name).map((p) => p.id),
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

  // ---------------------------------------------------------------- bitmaps and images

  bitmapPath(id: string): string {
    return path.join(this.array.dir, 'bitmaps', `${safe(id)}.diff`);
  }

  imagePath(id: string): string {
    return path.join(this.array.dir, 'bitmaps', `${safe(id)}.image`);
  }

  private opening = new Map<string, Promise<unknown>>();

  /** Opens something once even when several callers ask at the same time (a copy task and a
   *  command both opening a pair's bitmap would otherwise both create its file). */
  private once<T>(key: string, have: () => T | undefined, open: () => Promise<T>): Promise<T> {
    const got = have();
    if (got) return Promise.resolve(got);
    let p = this.opening.get(key) as Promise<T> | undefined;
    if (!p) {
      p = open().finally(() => this.opening.delete(key));
      this.opening.set(key, p);
    }
    return p;
  }

  async bitmap(p: PairRow): Promise<TrackBitmap> {
    return this.once(`bitmap:${p.id}`, () => this.bitmaps.get(p.id), async () => {
      const vol = this.array.volume(p.localVol);
      const b = await TrackBitmap.openFile(this.bitmapPath(p.id), vol.tracks);
      this.bitmaps.set(p.id, b);
      return b;
    });
  }

  bitmapNow(id: string): TrackBitmap | undefined {
    return this.bitmaps.get(id);
  }

  async keeper(p: PairRow): Promise<ConsistentImage> {
    return this.once(`keeper:${p.id}`, () => this.keepers.get(p.id), async () => {
      const k = await ConsistentImage.open(this.imagePath(p.id));
      this.keepers.set(p.id, k);
      return k;
    });
  }

  hasImage(p: PairRow): boolean {
    return this.keepers.has(p.id) || ConsistentImage.exists(this.imagePath(p.id));
  }

  /** Removes the files of a pair's bitmap and kept image (a deleted pair, or one created anew). */
  async removePairFiles(id: string): Promise<void> {
    fs.rmSync(this.bitmapPath(id), { force: true });
    fs.rmSync(this.imagePath(id), { force: true });
  }

  async dropImage(p: PairRow): Promise<void> {
    const k = this.keepers.get(p.id);
    this.keepers.delete(p.id);
    if (k) await k.destroy();
    else fs.rmSync(this.imagePath(p.id), { force: true });
  }

  private async markTracks(p: PairRow, vol: Volume, off: number, len: number): Promise<void> {
    if (len <= 0) return;
    const b = await this.bitmap(p);
    const first = Math.floor(off / vol.trackSize);
    const last = Math.floor((off + len - 1) / vol.trackSize);
    let fresh: number[] | null = null;
    for (let t = first; t <= last; t++) if (!b.get(t)) (fresh ??= []).push(t);
    if (fresh) await b.setAndPersist(fresh);
  }

  // ---------------------------------------------------------------- the write hook

  private async onWrite(vol: Volume, off: number, data: Buffer, origin: WriteOrigin, ctx: WriteContext): Promise<void | (() => Promise<void>)> {
    const ps = this.pairsByVol().get(vol.name);
    if (!ps) return;
    let after: (() => Promise<void>) | undefined;
    for (const p of ps) {
      if (p.role === 'S') {
        if (origin === 'host' || origin === 'backup-restore') {
          if (!p.writable) {
            throw E.state(
              `${this.name}:${vol.name} is the S-VOL of pair ${p.id} (${p.state}) and is read-only to hosts`,
              p.state === 'PAIR' || p.state === 'COPY' || p.state === 'PFUL' ? `take over: rcopy pair takeover ${p.id}, or split with --rw` : `split with --rw or take over: rcopy pair takeover ${p.id}`,
            );
          }
          await this.markTracks(p, vol, off, data.length);
        }
        continue;
      }
      // P-VOL
      if (JOURNALING.has(p.state)) {
        const seq = await this.appendMaster(p, vol, off, data, ctx);
        if (seq !== null) ctx.logged = true;
        if (seq !== null && p.mode === 'sync' && (p.state === 'PAIR' || p.state === 'PFUL')) {
          after = () => this.waitSync(p, seq);
          // the secondary pulls once the data is on the P-VOL: a pull before that would not get it (unwritten)
          ctx.settle.push((err) => void (err === null && this.onKick(p.localJournal)));
        }
      } else {
        // fence 'data': a sync pair suspended by a failure refuses host writes (nothing written)
        if (p.mode === 'sync' && p.fence === 'data' && (p.state === 'PSUE' || p.state === 'PFUS') && (origin === 'host' || origin === 'backup-restore')) {
          throw new RcopyError('ERR_RCOPY_FENCED', `${this.name}:${vol.name} is the P-VOL of sync pair ${p.id} (${p.state}, fence data): host writes are refused while the secondary cannot be updated`, {
            kind: 'failed',
            hint: `resynchronise the pair first: rcopy pair resync ${p.id}`,
          });
        }
        await this.markTracks(p, vol, off, data.length);
      }
    }
    return after;
  }

  /**
   * P side: per master journal, the first seq appended for a write whose volume write has not
   * ended yet. The record goes into the journal before the data goes to the P-VOL (write-ahead), so
   * until then a pull serves nothing from that seq on (servePull). When the volume write fails
   * (ENOSPC on a sparse image, EIO) the record is never served: the group suspends (PSUE) and the
   * journal is folded into the differential bitmaps, so the failed write's tracks are resynchronised
   * from whatever the P-VOL holds there, and nothing the host was not told is complete reaches the
   * S-VOL. If even the suspension fails (the management store on the same full disk), the seq stays
   * here: nothing from it on is served until a restart re-applies the journal to the P-VOL.
   */
  private unwritten = new Map<string, number>();

  private async volumeWriteFailed(p: PairRow, vol: Volume, off: number, len: number, err: unknown): Promise<void> {
    const why = storageError(err, { array: this.name })?.message ?? (err as Error)?.message ?? String(err);
    this.log(`write to P-VOL ${vol.name} at ${off} (${len} bytes) failed after its journal record: ${why}; suspending ${p.localJournal} (PSUE)`);
    try {
      if (storageError(err)?.code === 'ERR_RCOPY_NO_SPACE') this.array.useReserve(); // room to record the state
      await this.suspendPrimaryLocked(p.localJournal, 'PSUE', `write to P-VOL ${vol.name} failed: ${why}`);
      this.unwritten.delete(p.localJournal);
    } catch (e) {
      this.log(`suspension of ${p.localJournal} after the failed write failed too: ${(e as Error).message}; its journal is not served from seq ${this.unwritten.get(p.localJournal)} on`);
      await this.markTracks(p, vol, off, len).catch(() => undefined);
    }
  }

  /** Appends a write to the pair's master journal; on a full journal, suspends the group (PFUS). */
  private async appendMaster(p: PairRow, vol: Volume, off: number, data: Buffer, ctx: WriteContext): Promise<number | null> {
    const j = this.journal(p.localJournal);
    const parts: Array<{ volumeId: number; offset: number; data: Buffer }> = [];
    for (let o = 0; o < data.length; o += MAX_RECORD_DATA) {
      parts.push({ volumeId: vol.id, offset: off + o, data: data.subarray(o, Math.min(data.length, o + MAX_RECORD_DATA)) });
    }
    if (!j.canFit(parts.map((x) => x.data.length))) {
      this.log(`journal ${p.localJournal} is full: suspending group ${p.groupName} (PFUS)`);
      await this.suspendPrimaryLocked(p.localJournal, 'PFUS', 'journal full');
      await this.markTracks(this.pair(p.id), vol, off, data.length);
      return null;
    }
    const r = await j.append(parts);
    if (!this.unwritten.has(p.localJournal)) {
      this.unwritten.set(p.localJournal, r.firstSeq);
      ctx.settle.push((err) => (err === null ? void this.unwritten.delete(p.localJournal) : this.volumeWriteFailed(p, vol, off, data.length, err)));
    }
    const pct = j.stats().usedPct / 100;
    if (pct >= HIGH_WATER && !this.overSince.has(p.localJournal)) this.overMark(p.localJournal, pct);
    return r.lastSeq;
  }

  /** A master journal is over its high-water mark: the data-overflow watch starts, its pairs go PFUL. */
  private overMark(journal: string, pct: number): void {
    this.overSince.set(journal, Date.now());
    this.log(`warning: journal ${journal} is ${(pct * 100).toFixed(0)}% full (PFUL)`);
    for (const q of this.groupPairs(journal)) if (q.state === 'PAIR') this.setState(q, 'PFUL', 'journal over 80%');
  }

  /** Resolves true once the secondary restored `seq`, false when a suspension released it. */
  private waitRestored(journal: string, seq: number): Promise<boolean> {
    return new Promise((resolve) => {
      const l = this.syncWaiters.get(journal) ?? [];
      l.push({ seq, resolve });
      this.syncWaiters.set(journal, l);
    });
  }

  private releaseWaiters(journal: string, restored: number, all = false): void {
    const l = this.syncWaiters.get(journal);
    if (!l) return;
    const keep = [];
    for (const w of l) {
      if (w.seq <= restored) w.resolve(true);
      else if (all) w.resolve(false);
      else keep.push(w);
    }
    this.syncWaiters.set(journal, keep);
  }

  /**
   * A host write to a sync pair completes once the secondary has restored it, or after the
   * pair's sync timeout by its fence policy: the group suspends (PSUE, the write is folded into
   * the bitmap) and the write completes ('never') or fails ('data'). No write waits longer.
   */
  private async waitSync(p: PairRow, seq: number): Promise<void> {
    const ms = p.syncTimeoutMs > 0 ? p.syncTimeoutMs : 5000;
    let timer: NodeJS.Timeout | undefined;
    const got = await Promise.race([
      this.waitRestored(p.localJournal, seq),
      new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ms))),
    ]);
    clearTimeout(timer);
    if (got === true) return;
    if (got === 'timeout') {
      const cur = this.rs.pair(p.id);
      if (cur && JOURNALING.has(cur.state)) {
        this.log(`sync write seq ${seq} of ${p.id} not restored by the secondary within ${ms} ms: suspending group ${p.groupName} (PSUE, fence ${p.fence})`);
        await this.suspendPrimary(p.localJournal, 'PSUE', `the secondary did not acknowledge a sync write within ${ms} ms`);
      }
    }
    if (p.fence === 'data') {
      throw new RcopyError('ERR_RCOPY_FENCED', `sync write to ${p.id} was not acknowledged by ${p.remoteArray} within ${ms} ms: the pair is suspended (PSUE) and, with fence data, the write failed`, {
        kind: 'peer',
        hint: `the data is on the P-VOL and in its bitmap; restore the link and run: rcopy pair resync ${p.id}`,
      });
    }
  }

  // ---------------------------------------------------------------- state changes

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
        if (cur.length > 1) this.fault(`group-state-midway-${to}`);
      }
    });
    for (const p of cur) if (p.state !== to) this.log(`pair ${p.id} (${p.role}): ${p.state} -> ${to}${reason ? ` (${reason})` : ''}`);
    this.invalidate();
    const out = cur.map((p) => this.pair(p.id));
    this.bump(cur[0]?.localJournal);
    this.onStateChange(out);
    return out;
  }

  /** A crash point for tests (fault.ts): RCOPY_FAULT=ARRAY:POINT kills this controller here. */
  fault(point: string): void {
    faultPoint(this.name, point, logFile(this.array.dir));
  }

  /** A delay point for tests (RCOPY_DELAY, src/engine/fault.ts). */
  delay(point: string): Promise<void> {
    return faultDelay(this.name, point, logFile(this.array.dir));
  }

  /** Per journal group: a counter bumped by every state change, so that work started before an
   *  await can tell that the state it decided on is gone (compare before acting). */
  private epochs = new Map<string, number>();

  epoch(journal: string): number {
    return this.epochs.get(journal) ?? 0;
  }

  bump(journal: string | undefined): void {
    if (journal !== undefined) this.epochs.set(journal, this.epoch(journal) + 1);
  }

  /** Per journal group: operations of the CLI under way (split, resync, takeover, revert); the
   *  reconciliation of contradicting states waits while one runs. */
  private busyOps = new Map<string, number>();

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

  /** Everything this array holds in memory about a pair (a deleted pair's id can be used again). */
  async forgetPair(id: string): Promise<void> {
    const b = this.bitmaps.get(id);
    this.bitmaps.delete(id);
    if (b) await b.close().catch(() => undefined);
    const k = this.keepers.get(id);
    this.keepers.delete(id);
    if (k) await k.close().catch(() => undefined);
    this.invalidate();
  }

  /**
   * Folds every entry of a journal into the differential bitmaps of the pairs whose volumes they
   * touch, then empties the journal. Nothing is dropped: the tracks are resynchronised later.
   */
  private async foldJournal(journal: string): Promise<number> {
    const j = this.journal(journal);
    const byVol = new Map<number, PairRow>();
    for (const p of this.groupPairs(journal)) {
      const v = this.array.volumes.get(p.localVol);
      if (v) byVol.set(v.id, p);
    }
    let folded = 0;
    let from = j.stats().oldestSeq;
    if (from !== null) {
      const touched = new Map<string, Set<number>>();
      for (;;) {
        const batch = await j.read(from, { maxBytes: 64 * 1024 * 1024 });
        if (!batch.length) break;
        for (const e of batch) {
          const p = byVol.get(e.volumeId);
          if (!p || e.data.length === 0) continue;
          const ts = this.array.trackSize;
          const s = touched.get(p.id) ?? new Set<number>();
          for (let t = Math.floor(e.offset / ts); t <= Math.floor((e.offset + e.data.length - 1) / ts); t++) s.add(t);
          touched.set(p.id, s);
          folded++;
        }
        from = batch[batch.length - 1]!.seq + 1;
      }
      for (const [id, s] of touched) await (await this.bitmap(this.pair(id))).setAndPersist([...s]);
    }
    await j.reset();
    this.ahead.delete(journal);
    return folded;
  }

  /** P side: suspend a master journal's group (all its pairs in one transaction). Caller holds
   *  the array's write lock. The secondary is told at once (unless it asked for it). */
  async suspendPrimaryLocked(journal: string, state: 'PSUS' | 'PSUE' | 'PFUS', reason: string, opts: { keepEntries?: boolean; quiet?: boolean } = {}): Promise<void> {
    const ps = this.groupPairs(journal).filter((p) => p.role === 'P');
    const moving = ps.filter((p) => p.state !== state);
    if (moving.length) this.setGroupState(moving, state, reason, { splitSeq: opts.keepEntries ? this.journal(journal).lastSeq : null });
    if (!opts.keepEntries) {
      const n = await this.foldJournal(journal);
      if (n) this.log(`folded ${n} journal entries of ${journal} into the differential bitmaps`);
    }
    this.overSince.delete(journal);
    this.releaseWaiters(journal, 0, true);
    if (moving.length && !opts.quiet && ps[0]) this.onPrimarySuspended(ps[0], state, reason);
  }

  /** Set by the controller: tells the secondary of a suspension here (best effort, not awaited). */
  onPrimarySuspended: (p: PairRow, state: PairState, reason: string) => void = () => undefined;

  suspendPrimary(journal: string, state: 'PSUS' | 'PSUE' | 'PFUS', reason: string, opts: { keepEntries?: boolean; quiet?: boolean } = {}): Promise<void> {
    return this.array.locked(() => this.suspendPrimaryLocked(journal, state, reason, opts));
  }

  /** P side: after a planned split has drained, fold what is left and empty the journal. */
  async finishSplit(journal: string): Promise<void> {
    await this.array.locked(async () => {
      await this.foldJournal(journal);
      for (const p of this.groupPairs(journal)) if (p.splitSeq !== null) this.rs.updatePair(p.id, { splitSeq: null });
      this.invalidate();
    });
  }

  // ---------------------------------------------------------------- primary side of a pull

  /**
   * Answers a pull: entries after `after`, and frees what the secondary restored. With `refs`, an
   * entry's blocks that the secondary already holds travel as references (references/content-index.ts).
   */
  async servePull(journal: string, after: number, restored: number, maxBytes: number, from: string, refs = false): Promise<{ entries: PullReplyEntry[]; payload: Buffer[]; info: PrimaryInfo }> {
    const row = this.journalRow(journal);
    if (row.role !== 'master') throw E.state(`journal ${this.name}:${journal} is not a master journal`, 'pull from the journal that the P-VOLs use');
    await this.delay('serve-pull'); // the states this reply reports are read after it
    this.checkLink(from);
    this.lastPulled.set(journal, Date.now());
    const j = this.journal(journal);
    this.releaseInBackground(journal, restored);
    this.releaseWaiters(journal, restored);
    // with references, the read also gives each block's crc32 (the fingerprints' first half)
    let entries = await this.readAhead(journal, j, after, maxBytes, refs ? BLOCK : 0);
    // never a record whose volume write has not ended (see unwritten)
    const stop = this.unwritten.get(journal);
    if (stop !== undefined && entries.length && entries[entries.length - 1]!.seq >= stop) {
      entries = entries.filter((e) => e.seq < stop);
      this.ahead.delete(journal);
    }
    const names = new Map<number, string>();
    for (const v of this.array.volumes.values()) names.set(v.id, v.name);
    if (refs) {
      let idx = this.contentIndexes.get(journal);
      if (!idx) this.contentIndexes.set(journal, (idx = new ContentIndex()));
      const key = this.groupPairs(journal).map((p) => `${p.id}/${p.state}/${p.stateSince}`).join(',');
      idx.resume(after, key);
      const enc = idx.encode(entries, names);
      return { entries: enc.entries, payload: enc.payload, info: this.primaryInfo(journal) };
    }
    this.contentIndexes.delete(journal);
    const meta: PullReplyEntry[] = [];
    const bufs: Buffer[] = [];
    for (const e of entries) {
      meta.push({ seq: e.seq, ts: e.timestamp, vol: names.get(e.volumeId) ?? `#${e.volumeId}`, off: e.offset, len: e.data.length });
      bufs.push(e.data);
    }
    // the entries' data go out back to back as they are (no joined copy of the batch)
    return { entries: meta, payload: bufs, info: this.primaryInfo(journal) };
  }

  private ahead = new Map<string, { after: number; maxBytes: number; blockCrcs: number; entries: Promise<JournalEntry[]> }>();

  /**
   * The entries a pull asks for, and the read of the batch after them started at once, so that the
   * disk read of the next batch overlaps the transfer and restore of this one. A batch read ahead
   * is used only if it is still in the journal (seqs never repeat: a reset or release shows as an
   * oldest seq beyond it).
   */
  private async readAhead(journal: string, j: JournalFile, after: number, maxBytes: number, blockCrcs: number): Promise<JournalEntry[]> {
    const pre = this.ahead.get(journal);
    this.ahead.delete(journal);
    let entries: JournalEntry[] | null = null;
    if (pre && pre.after === after && pre.maxBytes === maxBytes && pre.blockCrcs === blockCrcs) {
      const got = await pre.entries.catch(() => null);
      const oldest = j.stats().oldestSeq;
      if (got && got.length && oldest !== null && oldest <= got[0]!.seq) entries = got;
    }
    entries ??= await j.read(after + 1, { maxBytes, blockCrcs });
    if (entries.length) {
      const next = entries[entries.length - 1]!.seq;
      if (next < j.lastSeq) {
        const p = j.read(next + 1, { maxBytes, blockCrcs });
        p.catch(() => undefined);
        this.ahead.set(journal, { after: next, maxBytes, blockCrcs, entries: p });
      }
    }
    return entries;
  }

  private releasing = new Map<string, Promise<void>>();

  /**
   * Frees what the secondary restored. Not awaited by the pull: it first makes the P-VOLs durable
   * (the journal is their write-ahead log), which can take a while, and the pull need not wait.
   * Releases of one journal run one after the other.
   */
  private releaseInBackground(journal: string, restored: number): void {
    const prev = this.releasing.get(journal) ?? Promise.resolve();
    const next = prev.then(async () => {
      const j = this.journals.get(journal);
      if (!j) return;
      const oldest = j.stats().oldestSeq;
      if (restored > 0 && oldest !== null && restored >= oldest) await j.release(Math.min(restored, j.lastSeq));
    }).catch((e: Error) => this.log(`release of ${journal} up to ${restored} failed: ${e.message}`));
    this.releasing.set(journal, next);
  }

  /** The data of one entry still in a master journal (a secondary repairing a stale reference). */
  async readEntryData(journal: string, seq: number, offset: number, length: number): Promise<Buffer> {
    if (this.journalRow(journal).role !== 'master') throw E.state(`journal ${this.name}:${journal} is not a master journal`, 'ask the journal that the P-VOLs use');
    const [e] = await this.journal(journal).read(seq, { maxEntries: 1 });
    if (!e || e.seq !== seq) throw E.peer(`entry ${seq} is no longer in journal ${this.name}:${journal}`, 'pull again: the group was suspended or the entry released');
    if (offset + length > e.data.length) throw E.peer(`entry ${seq} of ${this.name}:${journal} has ${e.data.length} bytes, not ${offset + length}`);
    return Buffer.from(e.data.subarray(offset, offset + length));
  }

  primaryInfo(journal: string): PrimaryInfo {
    const st = this.journal(journal).stats();
    const states: Record<string, PairState> = {};
    for (const p of this.groupPairs(journal)) states[p.id] = p.state;
    return { lastSeq: st.lastSeq, entries: st.entries, usedPct: st.usedPct, oldestTimestamp: st.oldestTimestamp, bytesPending: st.bytesPending, states };
  }

  ack(journal: string, restored: number): void {
    this.releaseWaiters(journal, restored);
  }

  // ---------------------------------------------------------------- periodic checks

  /**
   * Runs every half second: the high-water mark and data-overflow watch on master journals, and
   * the path-blockade watch on the primary side (a link that stays down suspends with PSUE).
   */
  async watch(): Promise<void> {
    for (const row of this.rs.journals()) {
      if (row.role !== 'master') continue;
      const ps = this.groupPairs(row.name).filter((p) => p.role === 'P');
      if (!ps.length) continue;
      const j = this.journals.get(row.name);
      if (!j) continue;
      const pct = j.stats().usedPct / 100;
      // over the mark with no watch running: a controller restarted (the time over the mark is
      // not kept), or the journal filled without a write crossing the mark here; watch from now
      if (pct >= HIGH_WATER && !this.overSince.has(row.name) && ps.some((p) => p.state === 'PAIR' || p.state === 'PFUL')) this.overMark(row.name, pct);
      const since = this.overSince.get(row.name);
      if (pct < HIGH_WATER) {
        // PFUL is stored: a pair marked before a restart returns to PAIR too
        this.overSince.delete(row.name);
        for (const p of ps) if (p.state === 'PFUL') this.setState(p, 'PAIR', 'journal below 80%');
      } else if (since !== undefined && Date.now() - since > row.overflowWatchMs && ps.some((p) => JOURNALING.has(p.state))) {
        this.log(`journal ${row.name} stayed over 80% for ${row.overflowWatchMs} ms: suspending (PFUS)`);
        await this.suspendPrimary(row.name, 'PFUS', 'journal over 80% past the data-overflow watch time');
      }
      const peer = ps[0]!.remoteArray;
      const link = this.linkOf(peer);
      if (!link.up && Date.now() - link.changed > row.blockadeWatchMs && ps.some((p) => JOURNALING.has(p.state) || p.state === 'PSUS')) {
        this.log(`link to ${peer} down for more than ${row.blockadeWatchMs} ms: suspending ${row.name} (PSUE)`);
        await this.suspendPrimary(row.name, 'PSUE', 'link down past the path-blockade watch time');
      }
    }
  }

  // ---------------------------------------------------------------- helpers for both sides

  describe(p: PairRow): Record<string, unknown> {
    const b = this.bitmaps.get(p.id);
    const j = this.rs.journal(p.localJournal);
    const jf = this.journals.get(p.localJournal);
    const st = jf?.stats();
    const changed = b ? b.count() : 0;
    return {
      id: p.id,
      group: p.groupName,
      role: p.role,
      array: this.name,
      volume: `${this.name}:${p.localVol}`,
      pvol: p.role === 'P' ? `${this.name}:${p.localVol}` : `${p.remoteArray}:${p.remoteVol}`,
      svol: p.role === 'S' ? `${this.name}:${p.localVol}` : `${p.remoteArray}:${p.remoteVol}`,
      journal: `${this.name}:${p.localJournal}`,
      remoteJournal: `${p.remoteArray}:${p.remoteJournal}`,
      mode: p.mode,
      state: p.state,
      stateSince: p.stateSince,
      reason: p.reason,
      copyPct: p.role === 'S' ? (p.state === 'COPY' ? (p.copyTotal ? Math.floor((p.copyDone / p.copyTotal) * 1000) / 10 : 0) : 100) : undefined,
      copyDone: p.copyDone,
      copyTotal: p.copyTotal,
      resyncing: p.resyncing,
      copied: p.role === 'S' ? p.copied : undefined,
      writable: p.writable,
      syncTimeoutMs: p.mode === 'sync' ? p.syncTimeoutMs : undefined,
      fence: p.mode === 'sync' ? p.fence : undefined,
      /** S side: a resync completed but the restore has not yet passed the copy's end (seq). */
      consistentFromSeq: p.role === 'S' && p.splitSeq !== null && p.state !== 'COPY' ? p.splitSeq : undefined,
      imageTime: p.imageTime,
      imageTracks: this.keepers.get(p.id)?.tracks ?? (this.hasImage(p) ? null : 0),
      changedTracks: changed,
      changedBytes: changed * this.array.trackSize,
      journalUsedPct: st ? Math.round(st.usedPct * 100) / 100 : null,
      journalEntries: st?.entries ?? null,
      journalBytes: st?.bytesPending ?? null,
      lastSeq: st?.lastSeq ?? null,
      restoredSeq: p.role === 'S' ? j?.restoredSeq ?? 0 : undefined,
      oldestTimestamp: st?.oldestTimestamp ?? null,
      hint: nextCommand(p.state, p.id),
    };
  }

  readJournalEntries(journal: string, from: number, maxBytes: number): Promise<JournalEntry[]> {
    return this.journal(journal).read(from, { maxBytes });
  }
}
