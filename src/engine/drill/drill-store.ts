/**
 * The drill records of an array (table `drills` of mgmt.db): one row per drill, written when the
 * drill starts (state 'running') and completed when it stops. This module is the only reader and
 * writer of the table; rows of stopped drills are the audit history (`drill list|show|report`).
 */
import type { ManagementStore } from '../array/mgmt-store.js';

/** running: the view exists; stopped: the view is gone, the row is history. */
export type DrillState = 'running' | 'stopped';
/** Why a drill stopped: the user (drill stop), its --max-size, an error keeping a track, a command on its group (--yes). */
export type StopReason = 'stop' | 'limit' | 'error' | 'group';

export interface DrillRow {
  id: number;
  name: string;
  array: string;
  /** The restore journal of the group (the group's name below). */
  journal: string;
  group: string;
  /** The S-VOLs of the group, each viewed as VOL@NAME. */
  volumes: string[];
  /** The restored seq the view shows. */
  seq: number;
  /** Host time (ms) of the newest write the view contains, null when not known. */
  consistencyTime: number | null;
  /** How far behind the primary the view was when it was made (seconds), null when not known. */
  rpoSeconds: number | null;
  started: number;
  /** ms from the command's start until the view was usable. */
  usableMs: number;
  maxSize: number | null;
  state: DrillState;
  stopped: number | null;
  stopReason: StopReason | null;
  result: 'pass' | 'fail' | null;
  note: string | null;
  /** Bytes written into the view (counted until the stop). */
  bytesWritten: number;
  /** Bytes of the keep stores and overlays when it stopped (or now, while running: see Drills). */
  keptBytes: number;
}

const DDL = `CREATE TABLE IF NOT EXISTS drills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  journal TEXT NOT NULL,
  grp TEXT NOT NULL,
  volumes TEXT NOT NULL,
  seq INTEGER NOT NULL,
  consistency_time INTEGER,
  rpo_seconds REAL,
  started INTEGER NOT NULL,
  usable_ms INTEGER NOT NULL,
  max_size INTEGER,
  state TEXT NOT NULL,
  stopped INTEGER,
  stop_reason TEXT,
  result TEXT,
  note TEXT,
  bytes_written INTEGER NOT NULL DEFAULT 0,
  kept_bytes INTEGER NOT NULL DEFAULT 0
)`;

type Raw = Record<string, unknown>;

export class DrillStore {
  constructor(
    private readonly store: ManagementStore,
    private readonly arrayName: string,
  ) {
    store.ensureSchema('drills', DDL);
  }

  private row(r: Raw): DrillRow {
    return {
      id: Number(r.id),
      name: String(r.name),
      array: this.arrayName,
      journal: String(r.journal),
      group: String(r.grp),
      volumes: JSON.parse(String(r.volumes)) as string[],
      seq: Number(r.seq),
      consistencyTime: r.consistency_time === null ? null : Number(r.consistency_time),
      rpoSeconds: r.rpo_seconds === null ? null : Number(r.rpo_seconds),
      started: Number(r.started),
      usableMs: Number(r.usable_ms),
      maxSize: r.max_size === null ? null : Number(r.max_size),
      state: r.state as DrillState,
      stopped: r.stopped === null ? null : Number(r.stopped),
      stopReason: (r.stop_reason as StopReason | null) ?? null,
      result: (r.result as 'pass' | 'fail' | null) ?? null,
      note: (r.note as string | null) ?? null,
      bytesWritten: Number(r.bytes_written),
      keptBytes: Number(r.kept_bytes),
    };
  }

  /** Records a drill that starts: durable when this returns (one transaction). */
  insert(d: Omit<DrillRow, 'id' | 'array' | 'state' | 'stopped' | 'stopReason' | 'result' | 'note' | 'bytesWritten' | 'keptBytes'>): DrillRow {
    const info = this.store.db
      .prepare(
        `INSERT INTO drills (name, journal, grp, volumes, seq, consistency_time, rpo_seconds, started, usable_ms, max_size, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
      )
      .run(d.name, d.journal, d.group, JSON.stringify(d.volumes), d.seq, d.consistencyTime, d.rpoSeconds, d.started, d.usableMs, d.maxSize);
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): DrillRow | undefined {
    const r = this.store.db.prepare('SELECT * FROM drills WHERE id = ?').get(id) as Raw | undefined;
    return r ? this.row(r) : undefined;
  }

  running(): DrillRow[] {
    return (this.store.db.prepare("SELECT * FROM drills WHERE state = 'running' ORDER BY id").all() as Raw[]).map((r) => this.row(r));
  }

  /** Every drill started at or after `since` (ms), oldest first. */
  list(since = 0): DrillRow[] {
    return (this.store.db.prepare('SELECT * FROM drills WHERE started >= ? ORDER BY id').all(since) as Raw[]).map((r) => this.row(r));
  }

  /** The running drill of that name, else the newest stopped one. */
  byName(name: string): DrillRow | undefined {
    const r = this.store.db.prepare("SELECT * FROM drills WHERE name = ? ORDER BY (state = 'running') DESC, id DESC LIMIT 1").get(name) as Raw | undefined;
    return r ? this.row(r) : undefined;
  }

  /** Completes the record of a drill that stops (one transaction). */
  stop(id: number, s: { stopped: number; reason: StopReason; result: 'pass' | 'fail' | null; note: string | null; bytesWritten: number; keptBytes: number }): DrillRow {
    this.store.db
      .prepare("UPDATE drills SET state = 'stopped', stopped = ?, stop_reason = ?, result = ?, note = ?, bytes_written = ?, kept_bytes = ? WHERE id = ?")
      .run(s.stopped, s.reason, s.result, s.note, s.bytesWritten, s.keptBytes, id);
    return this.get(id)!;
  }

  /** Progress of a running drill (bytes written into the view), kept so a restart reports it. */
  progress(id: number, bytesWritten: number, keptBytes: number): void {
    this.store.db.prepare('UPDATE drills SET bytes_written = ?, kept_bytes = ? WHERE id = ?').run(bytesWritten, keptBytes, id);
  }

  /** The figures known once the view is usable: the time it took, and the RPO. */
  setStarted(id: number, usableMs: number, rpoSeconds: number | null): void {
    this.store.db.prepare('UPDATE drills SET usable_ms = ?, rpo_seconds = ? WHERE id = ?').run(usableMs, rpoSeconds, id);
  }
}
