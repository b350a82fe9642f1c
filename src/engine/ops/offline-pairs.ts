/**
 * The pairs an array's management store records, read without its controller (read-only, safe
 * while a controller runs): what `rcopy check` knows of an array whose controller does not answer.
 */
import path from 'node:path';
import { STORE_FILE, arraysDir } from '../array/home.js';
import { ManagementStore } from '../array/mgmt-store.js';

export interface OfflinePair {
  id: string;
  role: string;
  remoteArray: string;
  group: string;
}

/** The pairs recorded by array `name` under `home`; none when its store cannot be read. */
export function pairsOffline(name: string, home: string): OfflinePair[] {
  let s: ManagementStore;
  try {
    s = ManagementStore.open(path.join(arraysDir(home), name, STORE_FILE), { readonly: true });
  } catch {
    return [];
  }
  try {
    const rows = s.db.prepare('SELECT id, role, remote_array, group_name FROM pairs').all() as Array<{ id: string; role: string; remote_array: string; group_name: string }>;
    return rows.map((r) => ({ id: r.id, role: r.role, remoteArray: r.remote_array, group: r.group_name }));
  } catch {
    return [];
  } finally {
    s.close();
  }
}
