/** Backup ids: bk-NNNNNN per array, named to users as ARRAY:bk-NNNNNN. Light, for the CLI. */
import { E } from '../../errors.js';

export function formatBackupId(n: number): string {
  return `bk-${String(n).padStart(6, '0')}`;
}

/** Parses 'bk-000012', 'bk-12', '12', with an optional 'ARRAY:' in front. */
export function parseBackupId(text: string): { array?: string; number: number } {
  const m = /^(?:([A-Za-z0-9][A-Za-z0-9._-]{0,63}):)?(?:bk-?)?(\d{1,12})$/i.exec(String(text).trim());
  if (!m || Number(m[2]) <= 0) throw E.badInput(`'${text}' is not a backup id`, 'backup ids look like siteB:bk-000012 (or bk-000012, or 12); see rcopy backup list ARRAY');
  return m[1] ? { array: m[1], number: Number(m[2]) } : { number: Number(m[2]) };
}
