/**
 * The events of an array, as `rcopy events` lists them: the rows of the management store's
 * repl_events table (written by ReplStore.event: pair state changes with their reasons, pair
 * creation and deletion, integrity findings, verify results, controller start and stop, NBD export
 * clients connecting and disconnecting, drills), read
 * here only. Each event gets a kind from its text: a state change "A -> B" is `state`, and
 * `suspension`, `pful` or `journal-overflow` by the state it moves to.
 */
import type { ManagementStore } from '../array/mgmt-store.js';

export interface EventRow {
  id: number;
  /** ms since the epoch */
  time: number;
  pair: string | null;
  event: string;
  kind: 'state' | 'suspension' | 'pful' | 'journal-overflow' | 'verify' | 'controller' | 'export' | 'drill' | 'other';
}

const SUSPENDED = new Set(['PSUS', 'SSUS', 'PSUE', 'SSWS']);

export function kindOf(event: string): EventRow['kind'] {
  const m = /^(\w+) -> (\w+)/.exec(event);
  if (m) return m[2] === 'PFUL' ? 'pful' : m[2] === 'PFUS' ? 'journal-overflow' : SUSPENDED.has(m[2]!) ? 'suspension' : 'state';
  if (event.startsWith('verify')) return 'verify';
  if (event.startsWith('controller')) return 'controller';
  if (event.startsWith('export client')) return 'export';
  if (event.startsWith('drill')) return 'drill';
  return 'other';
}

/** Events after id `afterId` and at or after `since` (ms), oldest first, at most `limit`. */
export function readEvents(store: ManagementStore, opts: { afterId?: number; since?: number; limit?: number }): EventRow[] {
  const has = store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'repl_events'").get();
  if (!has) return [];
  const rows = store.db.prepare('SELECT id, time, pair, event FROM repl_events WHERE id > ? AND time >= ? ORDER BY id LIMIT ?').all(opts.afterId ?? 0, opts.since ?? 0, opts.limit ?? 1000) as Array<{
    id: number;
    time: number;
    pair: string | null;
    event: string;
  }>;
  return rows.map((r) => ({ ...r, kind: kindOf(r.event) }));
}
