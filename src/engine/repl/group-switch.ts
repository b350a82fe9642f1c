/**
 * The end of a journal group's copy (initial copy or resync), decided as one for the whole group:
 * it switches to the new image together, or every copying pair goes PSUE together and keeps its
 * consistent image. What each side has made durable at each step is written down in
 * ARCHITECTURE.md ("Resync complete").
 */
import type { CopyStats } from './copy-stats.js';
import type { GroupRecords } from './group-records.js';
import type { Links } from './links.js';
import type { PairFiles } from './pair-files.js';
import type { Parts } from './parts.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';

export class GroupSwitch {
  private readonly site: Site;
  private readonly records: GroupRecords;
  private readonly files: PairFiles;
  private readonly links: Links;

  constructor(
    parts: Pick<Parts, 'site' | 'records' | 'files' | 'links'>,
    private readonly statsOf: (id: string) => CopyStats | null,
  ) {
    this.site = parts.site;
    this.records = parts.records;
    this.files = parts.files;
    this.links = parts.links;
  }

  private finishing = new Map<string, Promise<void>>();
  /**
   * After a switch: drops the kept images the restore has passed already (the restorer's; set by
   * the replicator). The pull loop does it after each round too, but a stopped pull runs none.
   */
  afterSwitch: (journal: string) => Promise<void> = async () => undefined;

  /**
   * When every copying pair of the group has its data here (copied), the group switches to the
   * new image as one: the primary clears its bitmaps and goes PAIR (one step, idempotent), then
   * this side goes PAIR (one transaction). Until then every S-VOL keeps its consistent image.
   * The tracks copied stay in this side's bitmaps (set when the copy began) until the restore has
   * passed the copy's end, so a revert or resync after any crash still knows them.
   */
  finishGroup(journal: string): Promise<void> {
    const prev = this.finishing.get(journal) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.doFinishGroup(journal));
    this.finishing.set(
      journal,
      next.catch(() => undefined),
    );
    return next;
  }

  private async doFinishGroup(journal: string): Promise<void> {
    const copying = this.records.groupPairs(journal).filter((x) => x.role === 'S' && x.state === 'COPY');
    if (!copying.length || !copying.every((x) => x.copied)) return; // others still copying
    const first = copying[0]!;
    const peer = await this.links.peer(first.remoteArray);
    const fin = await peer.call<{ lastSeq: number }>('repl.groupCopyDone', { journal: first.remoteJournal, pairs: copying.map((x) => x.id) }, { timeoutMs: 60_000 });
    // decided on the state as it is now, not as it was before the call (a revert may have run)
    const now = this.records.groupPairs(journal).filter((x) => x.role === 'S' && copying.some((c) => c.id === x.id));
    if (now.length !== copying.length || !now.every((x) => x.state === 'COPY' && x.copied)) {
      this.site.log(`group ${first.groupName}: the copy completed on the primary but this side changed meanwhile (${now.map((x) => x.state).join(', ')}); not switching`);
      return;
    }
    const resync = now.some((x) => x.resyncing);
    const images = new Set(now.filter((x) => this.files.hasImage(x)).map((x) => x.id));
    this.records.setGroupState(now, 'PAIR', resync ? 'resync complete' : 'initial copy complete', (x) => ({
      resyncing: false,
      writable: false,
      copied: false,
      initialDone: true,
      splitSeq: images.has(x.id) ? fin.result.lastSeq : null,
      imageTime: images.has(x.id) ? x.imageTime : null,
    }));
    this.site.fault('switched-before-clear');
    // pairs without an image are consistent from here on (an initial copy: the pull applies what
    // was journaled meanwhile before anything else): their bits go now
    for (const x of now) {
      if (images.has(x.id)) continue;
      const b = await this.files.bitmap(x);
      b.clearAll();
      await b.flush();
    }
    // (a failure here only leaves the drop to the next restore round)
    if (images.size) await this.afterSwitch(journal).catch((e: Error) => this.site.log(`dropping the kept images after the switch failed: ${e.message}`));
    for (const x of now) {
      const st = this.statsOf(x.id);
      this.site.log(
        `${resync ? 'resync' : 'initial copy'} of ${x.id} done: ${x.copyDone} tracks` +
          (st?.references ? ` (${st.equalTracks} equal, ${st.referenceTracks} by reference, ${st.zeroTracks} zero, ${st.dataTracks} as data, ${st.staleReferences} stale)` : ''),
      );
    }
  }

  /**
   * A copy of the group failed: every pair of the group that is copying goes PSUE together (one
   * transaction), keeping its consistent image; the others' copies stop; the primary is told.
   */
  async failGroup(p: PairRow, reason: string): Promise<void> {
    const copying = this.records.groupPairs(p.localJournal).filter((x) => x.role === 'S' && x.state === 'COPY');
    if (!copying.length) return;
    this.records.setGroupState(copying, 'PSUE', reason, (x) => ({ imageTime: x.imageTime ?? Date.now() }));
    try {
      const peer = await this.links.peer(p.remoteArray);
      await peer.call('repl.primarySuspend', { journal: p.remoteJournal, state: 'PSUE', reason: `the secondary's copy stopped: ${reason}` }, { timeoutMs: 10_000 });
    } catch {
      /* the reconciliation tells it once it can be reached */
    }
  }
}
