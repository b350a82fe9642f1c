/** Checks shared by the pair commands. */
import { InternalError } from '../../errors.js';
import type { PairFiles } from './pair-files.js';
import type { GroupRecords } from './group-records.js';
import type { PairRow } from './repl-store.js';

/** The S-side pairs of a journal group, as they are now. */
export function sideOf(records: GroupRecords, journal: string): PairRow[] {
  return records.groupPairs(journal).filter((x) => x.role === 'S');
}

/** A group whose resync has completed but whose restore has not yet passed the copy's end. */
export function catchingUp(records: GroupRecords, files: PairFiles, journal: string): { restored: number; upto: number } | null {
  const restored = records.journalRow(journal).restoredSeq;
  const upto = Math.max(
    -1,
    ...sideOf(records, journal)
      .filter((x) => x.splitSeq !== null && files.hasImage(x))
      .map((x) => x.splitSeq!),
  );
  return upto >= 0 && restored < upto ? { restored, upto } : null;
}

export function requireRole(p: PairRow, role: 'P' | 'S'): void {
  if (p.role !== role) throw new InternalError(`pair ${p.id}: operation sent to the ${p.role} side`);
}
