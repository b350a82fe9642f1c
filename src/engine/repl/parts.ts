/**
 * The parts of one array's replication that the pull loop, the copy tasks and the pair commands
 * are given (each takes only those it names, see Replicator).
 */
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { Links } from './links.js';
import type { PairFiles } from './pair-files.js';
import type { PairView } from './pair-view.js';
import type { PullServer } from './pull-serve.js';
import type { Site } from './site.js';
import type { PrimarySuspension } from './suspension.js';

export interface Parts {
  site: Site;
  records: GroupRecords;
  journals: Journals;
  files: PairFiles;
  links: Links;
  suspension: PrimarySuspension;
  serve: PullServer;
  view: PairView;
}
