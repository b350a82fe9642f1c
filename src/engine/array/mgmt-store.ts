/**
 * The management store: the array's own region for configuration and management information,
 * kept apart from every volume (an SQLite database in the array directory, WAL mode).
 * Feature modules declare their tables with ensureSchema(); statements are prepared once (stmt()).
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { E } from '../../errors.js';

export const STORE_MAGIC = 'rcopy-array-v1';
const STMTS_KEPT = 256;

export class ManagementStore {
  readonly db: Db;
  private applied = new Set<string>();

  private constructor(db: Db) {
    this.db = db;
  }

  static open(file: string, opts: { create?: boolean; readonly?: boolean; durable?: boolean } = {}): ManagementStore {
    let db: Db;
    try {
      db = new Database(file, { fileMustExist: !opts.create, readonly: !!opts.readonly, timeout: 5000 });
    } catch (e) {
      throw E.notAnArray(file.replace(/\/[^/]*$/, ''));
    }
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.durable === false ? 'NORMAL' : 'FULL'}`);
    }
    db.pragma('busy_timeout = 5000');
    const s = new ManagementStore(db);
    if (opts.create) {
      s.ensureSchema('meta', 'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      s.setMeta('magic', STORE_MAGIC);
    } else {
      let magic: string | undefined;
      try {
        magic = s.getMeta('magic');
      } catch {
        magic = undefined;
      }
      if (magic !== STORE_MAGIC) {
        db.close();
        throw E.notAnArray(file.replace(/\/[^/]*$/, ''));
      }
    }
    return s;
  }

  private readonly stmts = new Map<string, Statement>();

  /**
   * The prepared statement of `sql`, prepared on first use and kept: preparing costs more than
   * running most of these statements (a copy's checks and `pair.await` ask for a pair's row often).
   * At most STMTS_KEPT are kept (statements built from a patch's keys vary).
   */
  stmt(sql: string): Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      if (this.stmts.size >= STMTS_KEPT) this.stmts.clear();
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  /** Runs the DDL once per process for a feature; idempotent (use IF NOT EXISTS). */
  ensureSchema(feature: string, ddl: string): void {
    if (this.applied.has(feature)) return;
    this.db.exec(ddl);
    this.applied.add(feature);
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  deleteMeta(key: string): void {
    this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
  }

  /** A JSON document kept under a key (small state: pull settings, link table, ...). A document
   *  that does not parse (changed outside rcopy) reads as the default, never as an exception. */
  getJson<T>(key: string, dflt: T): T {
    const v = this.getMeta(key);
    if (v === undefined) return dflt;
    try {
      return JSON.parse(v) as T;
    } catch {
      return dflt;
    }
  }

  /** SQLite's own check of the database file (quick_check): the problems, or none. */
  integrityProblems(): string[] {
    const rows = this.db.pragma('quick_check') as Array<Record<string, string>>;
    return rows.map((r) => String(Object.values(r)[0])).filter((x) => x !== 'ok');
  }

  setJson(key: string, value: unknown): void {
    this.setMeta(key, JSON.stringify(value));
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
