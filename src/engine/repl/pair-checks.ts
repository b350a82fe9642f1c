/** What the pair commands share: their parts (PairCommand) and their checks. */
import { InternalError } from '../../errors.js';
import type { PairFiles } from './pair-files.js';
import type { GroupRecords } from './group-records.js';
import type { CopyManager } from './copy.js';
import type { Journals } from './journals.js';
import type { Links } from './links.js';
import type { PairView } from './pair-view.js';
import type { Parts } from './parts.js';
import type { PullManager } from './pull-loop.js';
import type { PullServer } from './pull-serve.js';
import type { Site } from './site.js';
import type { PrimarySuspension } from './suspension.js';
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

/** What every pair command (pair-lifecycle, split-resync, takeover) is given: the parts it uses,
 *  the pull loops and the copy tasks of this array. */
export abstract class PairCommand {
  protected readonly site: Site;
  protected readonly records: GroupRecords;
  protected readonly journals: Journals;
  protected readonly files: PairFiles;
  protected readonly links: Links;
  protected readonly suspension: PrimarySuspension;
  protected readonly serve: PullServer;
  protected readonly view: PairView;

  constructor(
    parts: Parts,
    protected readonly pulls: PullManager,
    protected readonly copies: CopyManager,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.journals = parts.journals;
    this.files = parts.files;
    this.links = parts.links;
    this.suspension = parts.suspension;
    this.serve = parts.serve;
    this.view = parts.view;
  }
}
