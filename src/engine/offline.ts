/**
 * What the CLI needs from an array whose controller it does not ask: reading a few rows of the
 * management stores read-only (a pair group, a backup number, across arrays), making sure a
 * controller that was asked to stop is gone, and deleting an array's files once it is.
 * The CLI never opens mgmt.db, signals a controller or removes array files itself: it calls these.
 */
import fs from 'node:fs';
import path from 'node:path';
import { STORE_FILE, arraysDir, livePid, pidFile } from './home.js';
import { ManagementStore } from './store.js';

/** How long a controller asked to stop has before it is killed. */
const STOP_GRACE_MS = 15_000;

/**
 * Runs fn on an array's management store opened read-only; null when the store cannot be opened
 * (no such array, or not an rcopy store) or fn fails (a table it reads is not there).
 */
function readStore<T>(home: string, array: string, fn: (s: ManagementStore) => T): T | null {
  let store: ManagementStore;
  try {
    store = ManagementStore.open(path.join(arraysDir(home), array, STORE_FILE), { readonly: true });
  } catch {
    return null;
  }
  try {
    return fn(store);
  } catch {
    return null;
  } finally {
    store.close();
  }
}

/** One side of a pair as an array's store records it. */
export interface OfflinePairRow {
  array: string;
  id: string;
  role: string;
  remoteArray: string;
}

/** The pairs of a group on each of the arrays (a store that cannot be read has none). */
export function readPairsOffline(home: string, arrays: readonly string[], group: string): OfflinePairRow[] {
  const out: OfflinePairRow[] = [];
  for (const a of arrays) {
    const rows = readStore(home, a, (s) => s.db.prepare('SELECT id, role, remote_array FROM pairs WHERE group_name = ?').all(group) as Array<{ id: string; role: string; remote_array: string }>) ?? [];
    for (const r of rows) out.push({ array: a, id: r.id, role: r.role, remoteArray: r.remote_array });
  }
  return out;
}

/** The arrays whose backup catalogue has backup number n. */
export function arraysWithBackup(home: string, arrays: readonly string[], n: number): string[] {
  return arrays.filter((a) => readStore(home, a, (s) => !!s.db.prepare('SELECT id FROM backups WHERE id = ?').get(n)) === true);
}

/**
 * After a controller was asked to stop: waits for process `pid` to leave the array; one still
 * there after the grace time is killed and its pid file removed.
 */
export async function stopController(dir: string, pid: number): Promise<void> {
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline && livePid(dir) === pid) await new Promise((r) => setTimeout(r, 25));
  if (livePid(dir) !== pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  fs.rmSync(pidFile(dir), { force: true });
}

/** Removes an array's directory and everything in it (its controller is stopped first). */
export function deleteArrayFiles(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
