/**
 * What this array reports about a pair (`pair show`, `pair list`) and about the uses of a volume
 * (`volume show`): read-only views over the records, journals and pair files.
 */
import type { VolumeUse } from '../array/array.js';
import type { Volume } from '../array/volume.js';
import { restoredTime } from './consistency-time.js';
import { nextCommand } from './pair-state.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { PairFiles } from './pair-files.js';

export class PairView {
  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly journals: Journals,
    private readonly files: PairFiles,
  ) {}

  describe(p: PairRow): Record<string, unknown> {
    const b = this.files.bitmapNow(p.id);
    const j = this.records.rs.journal(p.localJournal);
    const jf = this.journals.open.get(p.localJournal);
    const st = jf?.stats();
    const changed = b ? b.count() : 0;
    return {
      id: p.id,
      group: p.groupName,
      role: p.role,
      array: this.site.name,
      volume: `${this.site.name}:${p.localVol}`,
      pvol: p.role === 'P' ? `${this.site.name}:${p.localVol}` : `${p.remoteArray}:${p.remoteVol}`,
      svol: p.role === 'S' ? `${this.site.name}:${p.localVol}` : `${p.remoteArray}:${p.remoteVol}`,
      journal: `${this.site.name}:${p.localJournal}`,
      remoteJournal: `${p.remoteArray}:${p.remoteJournal}`,
      mode: p.mode,
      state: p.state,
      stateSince: p.stateSince,
      reason: p.reason,
      copyPct: p.role === 'S' ? (p.state === 'COPY' ? (p.copyTotal ? Math.floor((p.copyDone / p.copyTotal) * 1000) / 10 : 0) : 100) : undefined,
      copyDone: p.copyDone,
      copyTotal: p.copyTotal,
      resyncing: p.resyncing,
      copied: p.role === 'S' ? p.copied : undefined,
      writable: p.writable,
      syncTimeoutMs: p.mode === 'sync' ? p.syncTimeoutMs : undefined,
      fence: p.mode === 'sync' ? p.fence : undefined,
      /** S side: a resync completed but the restore has not yet passed the copy's end (seq). */
      consistentFromSeq: p.role === 'S' && p.splitSeq !== null && p.state !== 'COPY' ? p.splitSeq : undefined,
      imageTime: p.imageTime,
      imageTracks: this.files.imageNow(p.id)?.tracks ?? (this.files.hasImage(p) ? null : 0),
      changedTracks: changed,
      changedBytes: changed * this.site.array.trackSize,
      journalUsedPct: st ? Math.round(st.usedPct * 100) / 100 : null,
      journalEntries: st?.entries ?? null,
      journalBytes: st?.bytesPending ?? null,
      lastSeq: st?.lastSeq ?? null,
      restoredSeq: p.role === 'S' ? (j?.restoredSeq ?? 0) : undefined,
      oldestTimestamp: st?.oldestTimestamp ?? null,
      /** P side: host time of the newest write still in the master journal. */
      newestTimestamp: p.role === 'P' ? (st?.newestTimestamp ?? null) : undefined,
      /** S side: host time of the newest write restored (the S-VOL's consistency time). */
      consistencyTime: p.role === 'S' && j ? restoredTime(this.records.rs, j.name, j.restoredSeq) : undefined,
      hint: nextCommand(p.state, p.id),
    };
  }

  usesOf(vol: Volume): VolumeUse[] {
    const out: VolumeUse[] = [];
    for (const p of this.records.pairsByVol().get(vol.name) ?? []) {
      const j = this.records.rs.journal(p.localJournal);
      out.push({
        kind: 'pair',
        id: p.id,
        role: p.role === 'P' ? 'P-VOL' : 'S-VOL',
        state: p.state,
        active: true,
        detail: {
          pair: p.id,
          group: p.groupName,
          role: p.role === 'P' ? 'P-VOL' : 'S-VOL',
          state: p.state,
          restoredSeq: p.role === 'S' ? (j?.restoredSeq ?? 0) : undefined,
          imageTime: p.imageTime,
          peer: `${p.remoteArray}:${p.remoteVol}`,
        },
      });
    }
    return out;
  }
}
