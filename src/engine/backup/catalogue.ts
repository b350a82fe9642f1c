/**
 * The backup catalogue: what the management store (mgmt.db) records about backups, apart from the
 * backup volumes (DESIGN.md §2.5): per backup its id, source, target, times, label, the host's
 * key=value details, generation, bytes copied, checksum, and for an S-VOL the pair and sequence
 * number it corresponds to; per chain (a source backed up into one target) its volumes; per source
 * the last generation number given out (generations are never numbered twice).
 *
 * Invariants: a backup is 'good' only once its data, its track digests and its change bits are
 * settled (manager.ts); a backup that did not finish is 'failed' and never restorable; a chain
 * exists while it has a good generation (or a backup of it is running).
 */
import type { Database as Db } from 'better-sqlite3';
import { E } from '../../errors.js';
import type { ManagementStore } from '../array/mgmt-store.js';
import { formatBackupId } from './id.js';

/** What a backup is: the management information kept for it. */
export interface BackupRecord {
  /** ARRAY:bk-NNNNNN */
  id: string;
  array: string;
  number: number;
  source: string;
  target: string;
  /** 1, 2, ... per source; null until the backup is good */
  generation: number | null;
  kind: 'full' | 'incremental';
  state: BackupState;
  label: string | null;
  info: Record<string, string>;
  /** the point in time of the image (when the command was accepted), epoch ms */
  pointInTime: number;
  started: number;
  finished: number | null;
  /** image size in bytes (the source's size) */
  size: number;
  trackSize: number;
  tracksCopied: number;
  bytesCopied: number;
  tracksUnchanged: number;
  cowTracks: number;
  seconds: number | null;
  checksum: string | null;
  checksumAlgorithm: string;
  /** for a volume in a pair (an S-VOL on the secondary): the pair and where its image stands */
  replica: Record<string, unknown> | null;
  keep: number | null;
  error: string | null;
  /** the last `backup verify` of this backup (epoch ms, whether its checksum matched); null: never verified */
  lastVerify: { time: number; ok: boolean } | null;
}

export type BackupState =
  | 'running' // being copied; not usable
  | 'good' // complete; restorable
  | 'failed'; // did not complete; never restorable

const DDL = `
CREATE TABLE IF NOT EXISTS backup_chains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  target_id INTEGER NOT NULL UNIQUE,
  target TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backup_generations (
  source_id INTEGER PRIMARY KEY,
  last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chain_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  target TEXT NOT NULL,
  generation INTEGER,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  label TEXT,
  info TEXT NOT NULL,
  point_in_time INTEGER NOT NULL,
  started INTEGER NOT NULL,
  finished INTEGER,
  size INTEGER NOT NULL,
  track_size INTEGER NOT NULL,
  tracks_copied INTEGER NOT NULL DEFAULT 0,
  bytes_copied INTEGER NOT NULL DEFAULT 0,
  tracks_unchanged INTEGER NOT NULL DEFAULT 0,
  cow_tracks INTEGER NOT NULL DEFAULT 0,
  seconds REAL,
  checksum TEXT,
  checksum_alg TEXT NOT NULL,
  replica TEXT,
  keep INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS backups_chain ON backups(chain_id);
CREATE TABLE IF NOT EXISTS backup_verifies (
  backup_id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  ok INTEGER NOT NULL
);
`;

/** A row of the backups table. */
export interface Row {
  id: number;
  chain_id: number;
  source: string;
  target: string;
  generation: number | null;
  kind: 'full' | 'incremental';
  state: BackupState;
  label: string | null;
  info: string;
  point_in_time: number;
  started: number;
  finished: number | null;
  size: number;
  track_size: number;
  tracks_copied: number;
  bytes_copied: number;
  tracks_unchanged: number;
  cow_tracks: number;
  seconds: number | null;
  checksum: string | null;
  checksum_alg: string;
  replica: string | null;
  keep: number | null;
  error: string | null;
}

/** A row of the backup_chains table. */
export interface ChainRow {
  id: number;
  source_id: number;
  source: string;
  target_id: number;
  target: string;
}

/** What a completed copy counts. */
export interface CopyCounts {
  tracksCopied: number;
  bytesCopied: number;
  tracksUnchanged: number;
  cowTracks: number;
}

/** The backup tables of one array's management store. */
export class BackupCatalogue {
  constructor(
    private readonly store: ManagementStore,
    private readonly arrayName: string,
  ) {}

  private db(): Db {
    return this.store.db;
  }

  /** Makes the tables (once per process). */
  open(): void {
    this.store.ensureSchema('backups', DDL);
  }

  /** Marks backups that were running (when the controller stopped or crashed) failed; how many. */
  markInterrupted(): number {
    return this.db()
      .prepare(`UPDATE backups SET state = 'failed', error = ?, finished = ? WHERE state = 'running'`)
      .run('interrupted: the controller stopped or crashed while the backup was running', Date.now()).changes;
  }

  chains(): ChainRow[] {
    return this.db().prepare('SELECT * FROM backup_chains').all() as ChainRow[];
  }

  addChain(source: { id: number; name: string }, target: { id: number; name: string }): number {
    const res = this.db().prepare('INSERT INTO backup_chains(source_id, source, target_id, target, created) VALUES (?, ?, ?, ?, ?)').run(source.id, source.name, target.id, target.name, Date.now());
    return Number(res.lastInsertRowid);
  }

  /** Forgets a chain; its failed backups stay listed (as failed) until deleted. */
  deleteChain(id: number): void {
    this.db().prepare('DELETE FROM backup_chains WHERE id = ?').run(id);
  }

  row(n: number): Row {
    const r = this.db().prepare('SELECT * FROM backups WHERE id = ?').get(n) as Row | undefined;
    if (!r) throw E.notFound('backup', `${this.arrayName}:${formatBackupId(n)}`, `run 'rcopy backup list ${this.arrayName}'`);
    return r;
  }

  goodRows(chainId: number): Row[] {
    return this.db().prepare(`SELECT * FROM backups WHERE chain_id = ? AND state = 'good' ORDER BY id`).all(chainId) as Row[];
  }

  list(source?: string): BackupRecord[] {
    const rows = (source === undefined ? this.db().prepare('SELECT * FROM backups ORDER BY id').all() : this.db().prepare('SELECT * FROM backups WHERE source = ? ORDER BY id').all(source)) as Row[];
    return rows.map((r) => this.record(r));
  }

  record(r: Row): BackupRecord {
    return {
      id: `${this.arrayName}:${formatBackupId(r.id)}`,
      array: this.arrayName,
      number: r.id,
      source: r.source,
      target: r.target,
      generation: r.generation,
      kind: r.kind,
      state: r.state,
      label: r.label,
      info: JSON.parse(r.info) as Record<string, string>,
      pointInTime: r.point_in_time,
      started: r.started,
      finished: r.finished,
      size: r.size,
      trackSize: r.track_size,
      tracksCopied: r.tracks_copied,
      bytesCopied: r.bytes_copied,
      tracksUnchanged: r.tracks_unchanged,
      cowTracks: r.cow_tracks,
      seconds: r.seconds,
      checksum: r.checksum,
      checksumAlgorithm: r.checksum_alg,
      replica: r.replica ? (JSON.parse(r.replica) as Record<string, unknown>) : null,
      keep: r.keep,
      error: r.error,
      lastVerify: this.lastVerify(r.id),
    };
  }

  private lastVerify(n: number): BackupRecord['lastVerify'] {
    const v = this.db().prepare('SELECT time, ok FROM backup_verifies WHERE backup_id = ?').get(n) as { time: number; ok: number } | undefined;
    return v ? { time: v.time, ok: v.ok === 1 } : null;
  }

  /** Records the result of a verify of backup `n` (the last one is kept). */
  recordVerify(n: number, ok: boolean, time = Date.now()): void {
    this.db()
      .prepare('INSERT INTO backup_verifies(backup_id, time, ok) VALUES (?, ?, ?) ON CONFLICT(backup_id) DO UPDATE SET time = excluded.time, ok = excluded.ok')
      .run(n, time, ok ? 1 : 0);
  }

  /** Records a backup that starts now (state 'running'); its number. */
  addRunning(b: {
    chainId: number;
    source: string;
    target: string;
    kind: 'full' | 'incremental';
    label: string | null;
    info: Record<string, string>;
    size: number;
    trackSize: number;
    checksumAlg: string;
    keep: number | null;
  }): number {
    const now = Date.now();
    return Number(
      this.db()
        .prepare(
          `INSERT INTO backups(chain_id, source, target, kind, state, label, info, point_in_time, started, size, track_size, checksum_alg, keep) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(b.chainId, b.source, b.target, b.kind, b.label, JSON.stringify(b.info), now, now, b.size, b.trackSize, b.checksumAlg, b.keep).lastInsertRowid,
    );
  }

  /** Records the point in time a running backup's image is of, its kind, and the pairs of its source. */
  setPointInTime(n: number, pointInTime: number, kind: 'full' | 'incremental', replica: Array<Record<string, unknown>>): void {
    this.db()
      .prepare('UPDATE backups SET point_in_time = ?, kind = ?, replica = ? WHERE id = ?')
      .run(pointInTime, kind, replica.length ? JSON.stringify(replica.length === 1 ? replica[0] : { pairs: replica }) : null, n);
  }

  /** A backup completed: it takes the source's next generation number and becomes good (one transaction). */
  markGood(n: number, sourceId: number, done: { finished: number; pointInTime: number; checksum: string; counts: CopyCounts }): void {
    this.store.tx(() => {
      const g = this.db().prepare('SELECT last FROM backup_generations WHERE source_id = ?').get(sourceId) as { last: number } | undefined;
      const generation = (g?.last ?? 0) + 1;
      this.db().prepare('INSERT INTO backup_generations(source_id, last) VALUES (?, ?) ON CONFLICT(source_id) DO UPDATE SET last = excluded.last').run(sourceId, generation);
      const c = done.counts;
      this.db()
        .prepare(`UPDATE backups SET state = 'good', generation = ?, finished = ?, tracks_copied = ?, bytes_copied = ?, tracks_unchanged = ?, cow_tracks = ?, seconds = ?, checksum = ? WHERE id = ?`)
        .run(generation, done.finished, c.tracksCopied, c.bytesCopied, c.tracksUnchanged, c.cowTracks, (done.finished - done.pointInTime) / 1000, done.checksum, n);
    });
  }

  markFailed(n: number, error: string): void {
    this.db().prepare(`UPDATE backups SET state = 'failed', error = ?, finished = ? WHERE id = ?`).run(error, Date.now(), n);
  }

  deleteBackup(n: number): void {
    this.db().prepare('DELETE FROM backups WHERE id = ?').run(n);
    this.db().prepare('DELETE FROM backup_verifies WHERE backup_id = ?').run(n);
  }
}
