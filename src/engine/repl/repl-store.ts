/**
 * Replication's part of the management store: journals, pairs and links of one array.
 * Each array keeps its own view of a pair (role P or S); both views share the pair id, which is
 * the primary volume's reference at creation ("ARRAY:VOLUME").
 */
import { crc32 } from '../util/crc32.js';
import type { ManagementStore } from '../array/mgmt-store.js';
import type { PairState, Role } from './pair-state.js';

export interface JournalRow {
  name: string;
  size: number;
  /** 'master' (fed by host writes to P-VOLs) or 'restore' (fed by pulls); null until a pair uses it. */
  role: 'master' | 'restore' | null;
  /** For a restore journal: the primary array and its master journal. */
  peerArray: string | null;
  peerJournal: string | null;
  /** For a restore journal: the last sequence number applied to the S-VOLs. */
  restoredSeq: number;
  /** Pull settings (restore journals): started, fixed interval in ms (null = adaptive). */
  pullEnabled: boolean;
  pullIntervalMs: number | null;
  /** Path-blockade watch time and data-overflow watch time, ms. */
  blockadeWatchMs: number;
  overflowWatchMs: number;
  autoResync: boolean;
  created: number;
}

export interface PairRow {
  id: string;
  role: Role;
  localVol: string;
  remoteArray: string;
  remoteVol: string;
  localJournal: string;
  remoteJournal: string;
  groupName: string;
  mode: 'async' | 'sync';
  state: PairState;
  stateSince: number;
  /** Why the last suspension happened (split, link down, journal full...). */
  reason: string | null;
  /** S side: copy/resync progress: tracks done and tracks to do. */
  copyDone: number;
  copyTotal: number;
  /** S side: a resync (true) or the initial copy (false) is the current COPY. */
  resyncing: boolean;
  /** S side: time of the consistent image kept while suspended/resyncing. */
  imageTime: number | null;
  /** S side: the S-VOL accepts host writes (split --rw or takeover). */
  writable: boolean;
  /** P side: the journal's last seq when a split was asked for (drain up to here). */
  splitSeq: number | null;
  nocopy: boolean;
  created: number;
  /** S side: this pair's copy (initial or resync) has all its data on the S-VOL, durably; the
   *  group switches to the new image only once every pair of it is copied (group-copy-done). */
  copied: boolean;
  /** S side: the initial copy completed once (before that the S-VOL never held a consistent
   *  image, so there is nothing to revert to). */
  initialDone: boolean;
  /** Sync pairs: how long a host write waits for the secondary before the fence applies (ms). */
  syncTimeoutMs: number;
  /** Sync pairs: when the secondary does not acknowledge in time, 'never' suspends the pair and
   *  completes the write into the bitmap; 'data' suspends it and fails the write (and refuses
   *  writes while suspended). */
  fence: 'never' | 'data';
}

export interface LinkRow {
  peer: string;
  bandwidth: number | null; // bytes/s, null = unlimited
  latencyMs: number;
  up: boolean;
  changed: number;
}

const DDL = `
CREATE TABLE IF NOT EXISTS journals (
  name TEXT PRIMARY KEY, size INTEGER NOT NULL, role TEXT, peer_array TEXT, peer_journal TEXT,
  restored_seq INTEGER NOT NULL DEFAULT 0, pull_enabled INTEGER NOT NULL DEFAULT 0, pull_interval_ms INTEGER,
  blockade_watch_ms INTEGER NOT NULL DEFAULT 60000, overflow_watch_ms INTEGER NOT NULL DEFAULT 60000,
  auto_resync INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pairs (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, local_vol TEXT NOT NULL, remote_array TEXT NOT NULL, remote_vol TEXT NOT NULL,
  local_journal TEXT NOT NULL, remote_journal TEXT NOT NULL, group_name TEXT NOT NULL, mode TEXT NOT NULL,
  state TEXT NOT NULL, state_since INTEGER NOT NULL, reason TEXT, copy_done INTEGER NOT NULL DEFAULT 0,
  copy_total INTEGER NOT NULL DEFAULT 0, resyncing INTEGER NOT NULL DEFAULT 0, image_time INTEGER,
  writable INTEGER NOT NULL DEFAULT 0, split_seq INTEGER, nocopy INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,
  copied INTEGER NOT NULL DEFAULT 0, initial_done INTEGER NOT NULL DEFAULT 1, sync_timeout_ms INTEGER NOT NULL DEFAULT 5000,
  fence TEXT NOT NULL DEFAULT 'never'
);
CREATE TABLE IF NOT EXISTS links (
  peer TEXT PRIMARY KEY, bandwidth REAL, latency_ms REAL NOT NULL DEFAULT 0, up INTEGER NOT NULL DEFAULT 1, changed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS repl_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, pair TEXT, event TEXT NOT NULL
);`;

type Row = Record<string, any>;

function journalOf(r: Row): JournalRow {
  return {
    name: r.name,
    size: r.size,
    role: r.role,
    peerArray: r.peer_array,
    peerJournal: r.peer_journal,
    restoredSeq: r.restored_seq,
    pullEnabled: !!r.pull_enabled,
    pullIntervalMs: r.pull_interval_ms,
    blockadeWatchMs: r.blockade_watch_ms,
    overflowWatchMs: r.overflow_watch_ms,
    autoResync: !!r.auto_resync,
    created: r.created,
  };
}

function pairOf(r: Row): PairRow {
  return {
    id: r.id,
    role: r.role,
    localVol: r.local_vol,
    remoteArray: r.remote_array,
    remoteVol: r.remote_vol,
    localJournal: r.local_journal,
    remoteJournal: r.remote_journal,
    groupName: r.group_name,
    mode: r.mode,
    state: r.state,
    stateSince: r.state_since,
    reason: r.reason,
    copyDone: r.copy_done,
    copyTotal: r.copy_total,
    resyncing: !!r.resyncing,
    imageTime: r.image_time,
    writable: !!r.writable,
    splitSeq: r.split_seq,
    nocopy: !!r.nocopy,
    created: r.created,
    copied: !!r.copied,
    initialDone: !!r.initial_done,
    syncTimeoutMs: r.sync_timeout_ms,
    fence: r.fence === 'data' ? 'data' : 'never',
  };
}

const PAIR_COLS: Record<keyof PairRow, string> = {
  id: 'id',
  role: 'role',
  localVol: 'local_vol',
  remoteArray: 'remote_array',
  remoteVol: 'remote_vol',
  localJournal: 'local_journal',
  remoteJournal: 'remote_journal',
  groupName: 'group_name',
  mode: 'mode',
  state: 'state',
  stateSince: 'state_since',
  reason: 'reason',
  copyDone: 'copy_done',
  copyTotal: 'copy_total',
  resyncing: 'resyncing',
  imageTime: 'image_time',
  writable: 'writable',
  splitSeq: 'split_seq',
  nocopy: 'nocopy',
  created: 'created',
  copied: 'copied',
  initialDone: 'initial_done',
  syncTimeoutMs: 'sync_timeout_ms',
  fence: 'fence',
};

/** Columns added after the first layout: [table, name, definition] (added to older stores on open). */
const ADDED_COLS: Array<[string, string, string]> = [
  ['pairs', 'copied', 'INTEGER NOT NULL DEFAULT 0'],
  ['pairs', 'initial_done', 'INTEGER NOT NULL DEFAULT 1'],
  ['pairs', 'sync_timeout_ms', 'INTEGER NOT NULL DEFAULT 5000'],
  ['pairs', 'fence', "TEXT NOT NULL DEFAULT 'never'"],
  // crc32 of the row's facts (rowCrc): a row changed behind rcopy's back is found on load
  ['pairs', 'crc', 'INTEGER'],
  ['journals', 'crc', 'INTEGER'],
];

const STATES = new Set(['COPY', 'PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS']);

/** The checksum of a row: crc32 over its fields in a fixed order (as the row types give them). */
export function rowCrc(row: PairRow | JournalRow): number {
  const keys = Object.keys(row).sort();
  return crc32(Buffer.from(JSON.stringify(keys.map((k) => [k, (row as unknown as Record<string, unknown>)[k] ?? null]))));
}

/** A fact of the management store that failed a check on load. */
export interface StoreFinding {
  table: 'pairs' | 'journals';
  row: string;
  problem: string;
  /** The pair's or journal's group can be suspended to stay safe (false: refuse to start). */
  suspendable: boolean;
  journal: string | null;
}

const JOURNAL_COLS: Record<keyof JournalRow, string> = {
  name: 'name',
  size: 'size',
  role: 'role',
  peerArray: 'peer_array',
  peerJournal: 'peer_journal',
  restoredSeq: 'restored_seq',
  pullEnabled: 'pull_enabled',
  pullIntervalMs: 'pull_interval_ms',
  blockadeWatchMs: 'blockade_watch_ms',
  overflowWatchMs: 'overflow_watch_ms',
  autoResync: 'auto_resync',
  created: 'created',
};

function sqlValue(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

export class ReplStore {
  constructor(readonly store: ManagementStore) {
    store.ensureSchema('replication', DDL);
    for (const table of ['pairs', 'journals']) {
      const have = new Set((store.db.prepare(`PRAGMA table_info(${table})`).all() as Row[]).map((c) => c.name as string));
      for (const [t, name, def] of ADDED_COLS) if (t === table && !have.has(name)) store.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${def}`);
    }
  }

  /**
   * Checks every pair and journal row: its checksum, and values that data correctness depends
   * on (states, roles, sizes). Rows of an older store without a checksum get one (first use).
   */
  verify(opts: { fill?: boolean } = {}): StoreFinding[] {
    const fill = opts.fill !== false;
    const out: StoreFinding[] = [];
    for (const r of this.store.stmt('SELECT * FROM journals').all() as Row[]) {
      const j = journalOf(r);
      const f = (problem: string, suspendable = true) => out.push({ table: 'journals', row: String(r.name), problem, suspendable, journal: String(r.name) });
      if (j.role !== null && j.role !== 'master' && j.role !== 'restore') f(`role '${String(j.role)}' is not master, restore or empty`, false);
      else if (!Number.isSafeInteger(j.size) || j.size <= 0) f(`size ${String(j.size)} is not a size`, false);
      else if (!Number.isSafeInteger(j.restoredSeq) || j.restoredSeq < 0) f(`restored_seq ${String(j.restoredSeq)} is not a sequence number`);
      else if (r.crc === null || r.crc === undefined) {
        if (fill) this.store.stmt('UPDATE journals SET crc = ? WHERE name = ?').run(rowCrc(j), j.name);
      } else if (r.crc !== rowCrc(j)) f('the row does not match its checksum (changed outside rcopy)');
    }
    for (const r of this.store.stmt('SELECT * FROM pairs').all() as Row[]) {
      const p = pairOf(r);
      const f = (problem: string, suspendable = true) => out.push({ table: 'pairs', row: String(r.id), problem, suspendable, journal: typeof r.local_journal === 'string' ? r.local_journal : null });
      if (p.role !== 'P' && p.role !== 'S') f(`role '${String(p.role)}' is not P or S`, false);
      else if (!STATES.has(p.state)) f(`state '${String(p.state)}' is not a pair state`);
      else if (r.crc === null || r.crc === undefined) {
        if (fill) this.store.stmt('UPDATE pairs SET crc = ? WHERE id = ?').run(rowCrc(p), p.id);
      } else if (r.crc !== rowCrc(p)) f('the row does not match its checksum (changed outside rcopy)');
    }
    return out;
  }

  /** Puts a checked row's checksum right after rcopy itself has decided what it holds now. */
  reseal(table: 'pairs' | 'journals', key: string): void {
    if (table === 'pairs') {
      const p = this.pair(key);
      if (p) this.store.stmt('UPDATE pairs SET crc = ? WHERE id = ?').run(rowCrc(p), key);
    } else {
      const j = this.journal(key);
      if (j) this.store.stmt('UPDATE journals SET crc = ? WHERE name = ?').run(rowCrc(j), key);
    }
  }

  /** A pair row whose state is not a state at all: rewritten as PSUE so the group can be resynced. */
  forceSuspended(id: string, reason: string): void {
    this.store.stmt("UPDATE pairs SET state = 'PSUE', reason = ? WHERE id = ?").run(reason, id);
    this.reseal('pairs', id);
  }

  journals(): JournalRow[] {
    return (this.store.stmt('SELECT * FROM journals ORDER BY name').all() as Row[]).map(journalOf);
  }

  journal(name: string): JournalRow | undefined {
    const r = this.store.stmt('SELECT * FROM journals WHERE name = ?').get(name) as Row | undefined;
    return r ? journalOf(r) : undefined;
  }

  addJournal(j: JournalRow): void {
    const cols = Object.keys(JOURNAL_COLS) as Array<keyof JournalRow>;
    this.store.stmt(`INSERT INTO journals (${cols.map((c) => JOURNAL_COLS[c]).join(',')}, crc) VALUES (${cols.map(() => '?').join(',')}, ?)`).run(...cols.map((c) => sqlValue(j[c])), rowCrc(j));
  }

  /** Changes a journal row and its checksum in one statement. */
  updateJournal(name: string, patch: Partial<JournalRow>): void {
    const keys = Object.keys(patch) as Array<keyof JournalRow>;
    if (!keys.length) return;
    const cur = this.journal(name);
    if (!cur) return;
    const crc = rowCrc({ ...cur, ...patch });
    this.store.stmt(`UPDATE journals SET ${keys.map((k) => `${JOURNAL_COLS[k]} = ?`).join(', ')}, crc = ? WHERE name = ?`).run(...keys.map((k) => sqlValue(patch[k])), crc, name);
  }

  deleteJournal(name: string): void {
    this.store.tx(() => {
      this.store.stmt('DELETE FROM journals WHERE name = ?').run(name);
      this.store.deleteMeta(pullCountersKey(name));
    });
  }

  /** The pull counters of a restore journal, as kept by keepPullCounters. */
  keptPullCounters(journal: string): Record<string, unknown> | null {
    const v = this.store.getJson<unknown>(pullCountersKey(journal), null);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  }

  keepPullCounters(journal: string, counters: Record<string, number>): void {
    this.store.setJson(pullCountersKey(journal), counters);
  }

  pairs(): PairRow[] {
    return (this.store.stmt('SELECT * FROM pairs ORDER BY id').all() as Row[]).map(pairOf);
  }

  pair(id: string): PairRow | undefined {
    const r = this.store.stmt('SELECT * FROM pairs WHERE id = ?').get(id) as Row | undefined;
    return r ? pairOf(r) : undefined;
  }

  addPair(p: PairRow): void {
    const cols = Object.keys(PAIR_COLS) as Array<keyof PairRow>;
    this.store.stmt(`INSERT INTO pairs (${cols.map((c) => PAIR_COLS[c]).join(',')}, crc) VALUES (${cols.map(() => '?').join(',')}, ?)`).run(...cols.map((c) => sqlValue(p[c])), rowCrc(p));
  }

  /** Changes a pair row and its checksum in one statement. */
  updatePair(id: string, patch: Partial<PairRow>): void {
    const keys = Object.keys(patch) as Array<keyof PairRow>;
    if (!keys.length) return;
    const cur = this.pair(id);
    if (!cur) return;
    const crc = rowCrc({ ...cur, ...patch });
    this.store.stmt(`UPDATE pairs SET ${keys.map((k) => `${PAIR_COLS[k]} = ?`).join(', ')}, crc = ? WHERE id = ?`).run(...keys.map((k) => sqlValue(patch[k])), crc, id);
  }

  deletePair(id: string): void {
    this.store.tx(() => {
      this.store.stmt('DELETE FROM pairs WHERE id = ?').run(id);
      this.store.deleteMeta(copyStatsKey(id));
    });
  }

  /** The counters of a pair's last finished copy or resync, as kept by keepCopyStats. */
  keptCopyStats<T>(id: string): T | null {
    const v = this.store.getJson<unknown>(copyStatsKey(id), null);
    return v && typeof v === 'object' && (v as { pair?: unknown }).pair === id ? (v as T) : null;
  }

  keepCopyStats(id: string, stats: object): void {
    this.store.setJson(copyStatsKey(id), stats);
  }

  links(): LinkRow[] {
    return (this.store.stmt('SELECT * FROM links ORDER BY peer').all() as Row[]).map((r) => ({
      peer: r.peer,
      bandwidth: r.bandwidth,
      latencyMs: r.latency_ms,
      up: !!r.up,
      changed: r.changed,
    }));
  }

  link(peer: string): LinkRow | undefined {
    return this.links().find((l) => l.peer === peer);
  }

  setLink(l: LinkRow): void {
    this.store.db
      .prepare(
        'INSERT INTO links (peer, bandwidth, latency_ms, up, changed) VALUES (?, ?, ?, ?, ?) ON CONFLICT(peer) DO UPDATE SET bandwidth = excluded.bandwidth, latency_ms = excluded.latency_ms, up = excluded.up, changed = excluded.changed',
      )
      .run(l.peer, l.bandwidth, l.latencyMs, l.up ? 1 : 0, l.changed);
  }

  event(pair: string | null, event: string): void {
    this.store.stmt('INSERT INTO repl_events (time, pair, event) VALUES (?, ?, ?)').run(Date.now(), pair, event);
  }

  events(pair: string, limit = 20): Array<{ time: number; event: string }> {
    return (this.store.stmt('SELECT time, event FROM repl_events WHERE pair = ? ORDER BY id DESC LIMIT ?').all(pair, limit) as Row[]).map((r) => ({ time: r.time, event: r.event }));
  }
}

const copyStatsKey = (pair: string): string => `copy-stats:${pair}`;
const pullCountersKey = (journal: string): string => `pull-counters:${journal}`;
