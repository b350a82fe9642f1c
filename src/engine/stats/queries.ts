/**
 * What the CLI reads of an array's statistics without its controller, on read-only connections:
 * the groups (the store is WAL, so this is safe while the controller writes) and the track size a
 * trace import defaults to. Reports: report/from-store.ts (reportOfArrayGroup).
 */
import { peekArray } from '../array/offline.js';
import { StatsStore, type GroupInfo } from './store.js';

/** The statistics groups of the array in arrayDir. */
export function listGroups(arrayDir: string): GroupInfo[] {
  const s = StatsStore.openReadOnly(arrayDir);
  try {
    return s.groups();
  } finally {
    s.close();
  }
}

/** The track size of the array in arrayDir (bytes). */
export function arrayTrackSize(arrayDir: string): number {
  return peekArray(arrayDir).trackSize;
}
