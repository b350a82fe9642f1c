/**
 * Whether a journal group sends references instead of data (DESIGN.md §2.4), kept per restore
 * journal in the secondary's management store: the secondary drives pulls and resyncs and tells
 * the primary in each request. On by default; `pair create --no-references`,
 * `pull start --no-references` and `journal set ARRAY:J --references off` turn it off.
 */
import type { ManagementStore } from '../../array/mgmt-store.js';

const DDL = 'CREATE TABLE IF NOT EXISTS repl_references (journal TEXT PRIMARY KEY, enabled INTEGER NOT NULL)';

export class ReferenceSettings {
  constructor(private readonly store: ManagementStore) {
    store.ensureSchema('repl_references', DDL);
  }

  enabled(journal: string): boolean {
    const r = this.store.db.prepare('SELECT enabled FROM repl_references WHERE journal = ?').get(journal) as { enabled: number } | undefined;
    return r ? r.enabled !== 0 : true;
  }

  set(journal: string, enabled: boolean): void {
    this.store.db.prepare('INSERT INTO repl_references (journal, enabled) VALUES (?, ?) ON CONFLICT(journal) DO UPDATE SET enabled = excluded.enabled').run(journal, enabled ? 1 : 0);
  }

  clear(journal: string): void {
    this.store.db.prepare('DELETE FROM repl_references WHERE journal = ?').run(journal);
  }
}
