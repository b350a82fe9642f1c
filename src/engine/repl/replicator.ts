/**
 * Journal-based remote copy for one array: the object that wires the parts of replication and
 * starts and stops them. It holds no state of its own; each part owns its state and receives the
 * narrow set of parts it uses (see ARCHITECTURE.md, "Replication parts"):
 *
 *   group-records  pair and journal rows, the only setState, epochs, operations under way
 *   journals       journal files (the master journal is the P-VOLs' write-ahead log)
 *   pair-files     differential bitmaps and consistent images
 *   links          links to peers (up/down, shaping) and the peer's controller
 *   write-hook     what a host write to a pair's volume does besides the volume write
 *   suspension     P side: suspending a group and the watches that lead to it
 *   pull-serve     P side: answering pulls
 *   pull-loop      S side: pulling;  restore: applying in order, the consistent image
 *   copy           S side: initial copy and resync (the track copy and the group's switch)
 *   pair-lifecycle, split-resync, takeover   the pair commands (secondary side, primary* steps)
 *   verify         S side: online verify at the restored seq (P side: primaryHashes)
 *
 * The secondary drives transfers; the primary only answers. A journal group — the pairs that share
 * a master journal and its restore journal — is the consistency group: it is split, suspended and
 * resynchronised as a whole, and restore keeps the primary's sequence order across its volumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StorageArray } from '../array/array.js';
import { faultDelay, faultPoint } from '../util/fault.js';
import { logFile } from '../array/controller-process.js';
import { CopyManager } from './copy.js';
import { GroupRecords } from './group-records.js';
import { Integrity } from './integrity.js';
import { Journals } from './journals.js';
import { Links } from './links.js';
import { PairLifecycle } from './pair-lifecycle.js';
import { PairFiles } from './pair-files.js';
import { PairView } from './pair-view.js';
import type { PeerGetter } from './peer.js';
import { PullManager } from './pull-loop.js';
import { PullServer } from './pull-serve.js';
import { SplitResync } from './split-resync.js';
import { Takeover } from './takeover.js';
import type { StoreFinding } from './repl-store.js';
import type { Site } from './site.js';
import { PrimarySuspension } from './suspension.js';
import { SyncWaiters } from './sync-waiters.js';
import { WriteHook } from './write-hook.js';
import { Verifier } from './verify.js';

export type { PeerCaller, PeerGetter, PrimaryInfo, PullReplyEntry } from './peer.js';
export { HIGH_WATER } from './suspension.js';

export class Replicator {
  readonly site: Site;
  readonly records: GroupRecords;
  readonly journals: Journals;
  readonly files: PairFiles;
  readonly links: Links;
  readonly waiters = new SyncWaiters();
  readonly serve: PullServer;
  readonly suspension: PrimarySuspension;
  readonly writes: WriteHook;
  readonly integrity: Integrity;
  readonly view: PairView;
  readonly pulls: PullManager;
  readonly copies: CopyManager;
  readonly lifecycle: PairLifecycle;
  readonly splits: SplitResync;
  readonly takeovers: Takeover;
  readonly verifier: Verifier;

  constructor(array: StorageArray, peers: PeerGetter, log: (msg: string) => void, opts: { peerIsRemote?: (name: string) => boolean } = {}) {
    const site: Site = {
      array,
      name: array.name,
      log,
      fault: (point) => faultPoint(array.name, point, logFile(array.dir)),
      delay: (point) => faultDelay(array.name, point, logFile(array.dir)),
      peerIsRemote: opts.peerIsRemote ?? (() => false),
    };
    this.site = site;
    const records = (this.records = new GroupRecords(site));
    const journals = (this.journals = new Journals(site, records));
    const files = (this.files = new PairFiles(site));
    const links = (this.links = new Links(site, records, peers));
    this.serve = new PullServer(site, records, journals, links, this.waiters, (j) => this.writes.firstUnwritten(j));
    this.suspension = new PrimarySuspension(site, records, journals, files, links, this.waiters, this.serve);
    this.writes = new WriteHook(site, records, journals, files, this.waiters, this.suspension);
    this.integrity = new Integrity(site, records, journals, files, this.suspension);
    this.view = new PairView(site, records, journals, files);
    this.pulls = new PullManager({ site, records, journals, files, links });
    this.copies = new CopyManager({ site, records, files, links }, this.pulls.references);
    const cmd = { site, records, journals, files, links, suspension: this.suspension, serve: this.serve, view: this.view };
    this.lifecycle = new PairLifecycle(cmd, this.pulls, this.copies);
    this.splits = new SplitResync(cmd, this.pulls, this.copies);
    this.takeovers = new Takeover(cmd, this.pulls, this.copies);
    this.pulls.copying = (j) => this.copies.groupCopying(j);
    this.copies.groupSwitch.afterSwitch = (j) => this.pulls.restorer.dropImages(j);
    this.verifier = new Verifier({ site, records, links }, this.pulls.restorer);
  }

  get name(): string {
    return this.site.name;
  }

  async start(): Promise<void> {
    const array = this.site.array;
    fs.mkdirSync(path.join(array.dir, 'bitmaps'), { recursive: true });
    const findings: StoreFinding[] = this.records.rs.verify();
    await this.journals.openAll(findings);
    await this.journals.redo();
    for (const p of this.records.rs.pairs()) {
      await this.files.bitmap(p);
      // a consistent image kept across the restart is opened now, so that what the pair reports
      // (its image's tracks) is exact from the first question on
      if (p.role === 'S' && this.files.hasImage(p)) await this.files.keeper(p);
    }
    await this.integrity.applyFindings(findings);
    await this.integrity.recoverDamagedJournals();
    array.writeHooks.push((vol, off, data, origin, ctx) => this.writes.onWrite(vol, off, data, origin, ctx));
    array.syncHooks.push(() => this.journals.syncMasters());
    array.unloggedGuards.push((vol) => this.journals.unloggedGuard(vol));
    array.usageProviders.push((vol) => this.view.usesOf(vol));
  }

  async stop(): Promise<void> {
    await this.serve.settle();
    this.waiters.releaseAll();
    await this.files.closeAll();
    await this.journals.closeAll();
  }
}
