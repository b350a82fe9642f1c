/**
 * Reading an array's management store without its controller: read-only, safe while the
 * controller runs (SQLite WAL readers do not block its writer). For the CLI, which never opens an
 * array for writing and asks the controller for everything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import type { ArrayInfo, Durability } from './array.js';
import { STORE_FILE, arraysDir, homeDir } from './home.js';
import { ManagementStore } from './mgmt-store.js';

/** Reads an array's identity without opening it for writing (safe while its controller runs). */
export function peekArray(dir: string): ArrayInfo {
  const file = path.join(dir, STORE_FILE);
  if (!fs.existsSync(file)) throw E.notAnArray(dir);
  const store = ManagementStore.open(file, { readonly: true });
  try {
    let volumes = 0;
    try {
      volumes = (store.db.prepare('SELECT count(*) AS n FROM volumes').get() as { n: number }).n;
    } catch {
      volumes = 0;
    }
    return {
      name: store.getMeta('name') ?? path.basename(dir),
      serial: store.getMeta('serial') ?? '00000',
      trackSize: Number(store.getMeta('trackSize') ?? 65536),
      durability: (store.getMeta('durability') ?? 'fsync') as Durability,
      access: store.getMeta('access') === 'group' ? 'group' : 'owner',
      created: Number(store.getMeta('created') ?? 0),
      dir,
      volumes,
    };
  } finally {
    store.close();
  }
}

/**
 * Runs `read` on array `name`'s store (under `home`), opened read-only; `none` when the store
 * cannot be opened (not an array, or not readable) or the read fails.
 */
export function readStoreOffline<T>(name: string, home: string, none: T, read: (s: ManagementStore) => T): T {
  let s: ManagementStore;
  try {
    s = ManagementStore.open(path.join(arraysDir(home), name, STORE_FILE), { readonly: true });
  } catch {
    return none;
  }
  try {
    return read(s);
  } catch {
    return none;
  } finally {
    s.close();
  }
}

/** A pair as an array's store records it: its id, this array's side, and the other array. */
export interface StoredPair {
  id: string;
  role: string;
  remoteArray: string;
}

/**
 * The pairs that array `name` (under `home`) records, read-only: all of them, or those of journal
 * group `opts.group`. None when its store cannot be read or records no pairs.
 */
export function readPairsOffline(name: string, home = homeDir(), opts: { group?: string } = {}): StoredPair[] {
  return readStoreOffline(name, home, [], (s) => {
    const sql = `SELECT id, role, remote_array FROM pairs${opts.group === undefined ? '' : ' WHERE group_name = ?'}`;
    const rows = s.db.prepare(sql).all(...(opts.group === undefined ? [] : [opts.group])) as Array<{ id: string; role: string; remote_array: string }>;
    return rows.map((r) => ({ id: r.id, role: r.role, remoteArray: r.remote_array }));
  });
}

/** Whether array `name`'s backup catalogue has backup number n, read-only (false when unreadable). */
export function hasBackupOffline(name: string, home: string, n: number): boolean {
  return readStoreOffline(name, home, false, (s) => !!s.db.prepare('SELECT id FROM backups WHERE id = ?').get(n));
}
