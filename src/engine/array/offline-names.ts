/**
 * The names an array's management store holds (volumes, journals, pair groups, PB-bit groups,
 * backups, drills), read-only and without the controller: for shell completion, which must be fast and
 * start nothing. A store that cannot be read gives no names.
 */
import { formatBackupId } from '../backup/id.js';
import { readStoreOffline } from './offline.js';

export type NameKind = 'volumes' | 'journals' | 'groups' | 'stats-groups' | 'backups' | 'drills';

const QUERY: Record<NameKind, string> = {
  volumes: 'SELECT name AS n FROM volumes ORDER BY name',
  journals: 'SELECT name AS n FROM journals ORDER BY name',
  groups: 'SELECT DISTINCT group_name AS n FROM pairs ORDER BY group_name',
  'stats-groups': 'SELECT name AS n FROM stats_groups ORDER BY name',
  backups: 'SELECT id AS n FROM backups ORDER BY id',
  drills: 'SELECT DISTINCT name AS n FROM drills ORDER BY name',
};

export function namesOffline(array: string, home: string, kind: NameKind): string[] {
  return readStoreOffline(array, home, [], (s) => {
    const rows = s.db.prepare(QUERY[kind]).all() as Array<{ n: string | number }>;
    return rows.map((r) => (kind === 'backups' ? formatBackupId(Number(r.n)) : String(r.n)));
  });
}
