/**
 * The host write hook: what a write to a volume of a pair does besides the volume write. A P-VOL
 * in a journaling state appends the write to its master journal first (write-ahead); a suspended
 * P-VOL or a writable S-VOL records the tracks in the differential bitmap; a sync pair's write
 * completes once the secondary restored it (or by its fence policy after its timeout).
 */
import { E, storageError } from '../../errors.js';
import type { WriteContext, WriteOrigin } from '../array/write-path.js';
import { MAX_RECORD_DATA } from '../journal/journal-file.js';
import type { Volume } from '../array/volume.js';
import type { JournalFile } from '../journal/journal-file.js';
import { MasterAppender } from './master-append.js';
import { JOURNALING } from './pair-state.js';
import type { PairRow } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { Journals } from './journals.js';
import type { PairFiles } from './pair-files.js';
import type { PrimarySuspension } from './suspension.js';
import type { SyncWaiters } from './sync-waiters.js';

export class WriteHook {
  /**
   * P side: per master journal, the first seq appended for a write whose volume write has not
   * ended yet. The record goes into the journal before the data goes to the P-VOL (write-ahead), so
   * until then a pull serves nothing from that seq on (servePull). When the volume write fails
   * (ENOSPC on a sparse image, EIO) the record is never served: the group suspends (PSUE) and the
   * journal is folded into the differential bitmaps, so the failed write's tracks are resynchronised
   * from whatever the P-VOL holds there, and nothing the host was not told is complete reaches the
   * S-VOL. If even the suspension fails (the management store on the same full disk), the seq stays
   * here: nothing from it on is served until a restart re-applies the journal to the P-VOL.
   * Several writes may be in flight at once (WritePath): each keeps its first seq here until its
   * volume write has ended.
   */
  private unwritten = new Map<string, number[]>();
  /** Set by the wiring: wakes the secondary (a sync write waits for its pull). */
  onKick: (journal: string) => void = () => undefined;

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly journals: Journals,
    private readonly files: PairFiles,
    private readonly waiters: SyncWaiters,
    private readonly suspension: PrimarySuspension,
  ) {}

  /** The first seq of a master journal whose volume write has not ended (never served). */
  firstUnwritten(journal: string): number | undefined {
    const seqs = this.unwritten.get(journal);
    return seqs ? Math.min(...seqs) : undefined;
  }

  /** The volume write of the record at `seq` has ended (or its record was folded). */
  private written(journal: string, seq: number): void {
    const seqs = this.unwritten.get(journal);
    const i = seqs?.indexOf(seq) ?? -1;
    if (i >= 0) seqs!.splice(i, 1);
    if (seqs && seqs.length === 0) this.unwritten.delete(journal);
  }

  async onWrite(vol: Volume, off: number, data: Buffer, origin: WriteOrigin, ctx: WriteContext): Promise<void | (() => Promise<void>)> {
    const ps = this.records.pairsByVol().get(vol.name);
    if (!ps) return;
    let after: (() => Promise<void>) | undefined;
    for (const p of ps) {
      if (p.role === 'S') {
        if (origin === 'host' || origin === 'backup-restore') {
          if (!p.writable) {
            throw E.state(
              `${this.site.name}:${vol.name} is the S-VOL of pair ${p.id} (${p.state}) and is read-only to hosts`,
              p.state === 'PAIR' || p.state === 'COPY' || p.state === 'PFUL'
                ? `take over: rcopy pair takeover ${p.id}, or split with --rw`
                : `split with --rw or take over: rcopy pair takeover ${p.id}`,
            );
          }
          await this.files.markTracks(p, vol, off, data.length);
        }
        continue;
      }
      // P-VOL
      if (JOURNALING.has(p.state)) {
        const queued = await this.appendMaster(p, vol, off, data, ctx);
        if (queued !== null) ctx.logged = true;
        if (queued !== null && p.mode === 'sync' && (p.state === 'PAIR' || p.state === 'PFUL')) {
          after = async () => this.waitSync(p, await queued.lastSeq);
          // the secondary pulls once the data is on the P-VOL: a pull before that would not get it (unwritten)
          ctx.settle.push((err) => void (err === null && this.onKick(p.localJournal)));
        }
      } else {
        // fence 'data': a sync pair suspended by a failure refuses host writes (nothing written)
        if (p.mode === 'sync' && p.fence === 'data' && (p.state === 'PSUE' || p.state === 'PFUS') && (origin === 'host' || origin === 'backup-restore')) {
          throw E.fenced(
            `${this.site.name}:${vol.name} is the P-VOL of sync pair ${p.id} (${p.state}, fence data): host writes are refused while the secondary cannot be updated`,
            `resynchronise the pair first: rcopy pair resync ${p.id}`,
          );
        }
        await this.files.markTracks(p, vol, off, data.length);
      }
    }
    return after;
  }

  async volumeWriteFailed(p: PairRow, vol: Volume, off: number, len: number, seq: number, err: unknown): Promise<void> {
    const why = storageError(err, { array: this.site.name })?.message ?? (err as Error)?.message ?? String(err);
    this.site.log(`write to P-VOL ${vol.name} at ${off} (${len} bytes) failed after its journal record: ${why}; suspending ${p.localJournal} (PSUE)`);
    try {
      // room to record the state on the full disk (the array's reserve)
      await this.site.array.recordOnFullDisk(err, () => this.suspension.suspendPrimaryLocked(p.localJournal, 'PSUE', `write to P-VOL ${vol.name} failed: ${why}`));
      this.written(p.localJournal, seq);
    } catch (e) {
      this.site.log(`suspension of ${p.localJournal} after the failed write failed too: ${(e as Error).message}; its journal is not served from seq ${seq} on`);
      await this.files.markTracks(p, vol, off, len).catch(() => undefined);
    }
  }

  private readonly appenders = new WeakMap<JournalFile, MasterAppender>();

  /**
   * Queues a write's records for the pair's master journal (MasterAppender: the writes in flight
   * share one append); the volume write waits for them (ctx.before). On a full journal, suspends
   * the group (PFUS) once the records queued before are in, and returns null.
   */
  async appendMaster(p: PairRow, vol: Volume, off: number, data: Buffer, ctx: WriteContext): Promise<{ lastSeq: Promise<number> } | null> {
    const j = this.journals.journal(p.localJournal);
    let app = this.appenders.get(j);
    if (!app) this.appenders.set(j, (app = new MasterAppender(j)));
    const parts: Array<{ volumeId: number; offset: number; data: Buffer }> = [];
    for (let o = 0; o < data.length; o += MAX_RECORD_DATA) {
      parts.push({ volumeId: vol.id, offset: off + o, data: data.subarray(o, Math.min(data.length, o + MAX_RECORD_DATA)) });
    }
    if (!app.canFit(parts.map((x) => x.data.length))) {
      await app.drained(); // the fold below takes the records of the writes in flight too
      this.site.log(`journal ${p.localJournal} is full: suspending group ${p.groupName} (PFUS)`);
      await this.suspension.suspendPrimaryLocked(p.localJournal, 'PFUS', 'journal full');
      await this.files.markTracks(this.records.pair(p.id), vol, off, data.length);
      return null;
    }
    let first: number | null = null;
    const lastSeq = app.append(parts).then((r) => {
      // the record is not served before the data is on the P-VOL (settle below)
      first = r.firstSeq;
      const seqs = this.unwritten.get(p.localJournal) ?? [];
      seqs.push(r.firstSeq);
      this.unwritten.set(p.localJournal, seqs);
      this.suspension.crossed(p.localJournal, j.stats().usedPct / 100);
      return r.lastSeq;
    });
    ctx.before.push(lastSeq);
    ctx.settle.push((err) => {
      if (first === null) return; // the append failed: nothing reached the journal or the volume
      if (err === null) this.written(p.localJournal, first);
      else return this.volumeWriteFailed(p, vol, off, data.length, first, err);
    });
    return { lastSeq };
  }

  /**
   * A host write to a sync pair completes once the secondary has restored it, or after the
   * pair's sync timeout by its fence policy: the group suspends (PSUE, the write is folded into
   * the bitmap) and the write completes ('never') or fails ('data'). No write waits longer.
   */
  async waitSync(p: PairRow, seq: number): Promise<void> {
    const ms = p.syncTimeoutMs > 0 ? p.syncTimeoutMs : 5000;
    let timer: NodeJS.Timeout | undefined;
    const got = await Promise.race([this.waiters.waitRestored(p.localJournal, seq), new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ms)))]);
    clearTimeout(timer);
    if (got === true) return;
    if (got === 'timeout') {
      const cur = this.records.rs.pair(p.id);
      if (cur && JOURNALING.has(cur.state)) {
        this.site.log(`sync write seq ${seq} of ${p.id} not restored by the secondary within ${ms} ms: suspending group ${p.groupName} (PSUE, fence ${p.fence})`);
        await this.suspension.suspendPrimary(p.localJournal, 'PSUE', `the secondary did not acknowledge a sync write within ${ms} ms`);
      }
    }
    if (p.fence === 'data') {
      throw E.fenced(
        `sync write to ${p.id} was not acknowledged by ${p.remoteArray} within ${ms} ms: the pair is suspended (PSUE) and, with fence data, the write failed`,
        `the data is on the P-VOL and in its bitmap; restore the link and run: rcopy pair resync ${p.id}`,
        'peer',
      );
    }
  }
}
