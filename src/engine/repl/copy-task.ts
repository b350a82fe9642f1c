/**
 * Initial copy and resync, run by the receiving side (role S) of a pair in COPY.
 *
 * Initial copy: every allocated track of the P-VOL. Resync: the union of both sides'
 * differential bitmaps. Tracks are read from the primary in runs of up to 1 MiB, four requests in
 * flight, shaped by the link. During a resync each track's old content is first saved in the
 * consistent image (copy-on-write), so the S-VOL can be reverted until the resync completes.
 * Meanwhile host writes on the primary are journaled; the pull applies them after the copy.
 * A copy killed half way starts over from the maps (bitmaps are cleared only at the end).
 */
import { RcopyError } from '../../errors.js';
import { TrackBitmap } from '../bitmap.js';
import type { PairRow } from './repl-store.js';
import type { Replicator } from './replicator.js';

const RUN_BYTES = 1024 * 1024;
const DEPTH = 4;

export class CopyManager {
  private tasks = new Map<string, { abort: boolean; done: Promise<void> }>();
  onFinished: (p: PairRow) => void = () => undefined;

  constructor(private readonly r: Replicator) {}

  running(id: string): boolean {
    return this.tasks.has(id);
  }

  groupCopying(journal: string): boolean {
    return this.r.groupPairs(journal).some((p) => this.tasks.has(p.id));
  }

  /** Starts copies for every S-side pair in COPY that has none running. */
  startPending(): void {
    for (const p of this.r.pairs()) if (p.role === 'S' && p.state === 'COPY' && !this.tasks.has(p.id)) this.start(p.id);
  }

  start(id: string): void {
    if (this.tasks.has(id)) return;
    const t = { abort: false, done: Promise.resolve() };
    this.tasks.set(id, t);
    t.done = this.runWithRetry(id, t).finally(() => this.tasks.delete(id));
  }

  async abort(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t) return;
    t.abort = true;
    await t.done;
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.tasks.keys()].map((id) => this.abort(id)));
  }

  private async runWithRetry(id: string, t: { abort: boolean }): Promise<void> {
    let failingSince: number | null = null;
    while (!t.abort) {
      const p = this.r.rs.pair(id);
      if (!p || p.role !== 'S' || p.state !== 'COPY') return;
      try {
        await this.run(p, t);
        return;
      } catch (e) {
        if (t.abort) return;
        const err = e as RcopyError;
        failingSince ??= Date.now();
        const watch = this.r.journalRow(p.localJournal).blockadeWatchMs;
        this.r.log(`copy of ${id} failed: ${err.code ?? ''} ${err.message}`);
        if (err.kind !== 'peer' || Date.now() - failingSince > watch) {
          const cur = this.r.pair(id);
          this.r.setState(cur, 'PSUE', p.resyncing ? `resync interrupted: ${err.message}` : `initial copy interrupted: ${err.message}`, { imageTime: cur.imageTime ?? Date.now() });
          return;
        }
        await new Promise((res) => setTimeout(res, Math.min(1000, watch / 4)));
      }
    }
  }

  private async run(p: PairRow, t: { abort: boolean }): Promise<void> {
    const vol = this.r.array.volume(p.localVol);
    const peer = await this.r.peer(p.remoteArray);
    let todo: TrackBitmap;
    if (p.resyncing) {
      const reply = await peer.call('repl.diffMap', { pair: p.id });
      todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
      todo.or(await this.r.bitmap(p));
    } else {
      const reply = await peer.call('repl.allocMap', { volume: p.remoteVol });
      todo = TrackBitmap.fromBuffer(reply.payload ?? Buffer.alloc(0), vol.tracks);
    }
    const total = todo.count();
    this.r.rs.updatePair(p.id, { copyDone: 0, copyTotal: total });
    const keeper = p.resyncing ? await this.r.keeper(p) : null;
    const ts = vol.trackSize;
    const perRun = Math.max(1, Math.floor(RUN_BYTES / ts));
    const pieces: Array<[number, number]> = [];
    for (const [a, b] of todo.runs()) for (let s = a; s <= b; s += perRun) pieces.push([s, Math.min(b, s + perRun - 1)]);
    let next = 0;
    let done = 0;
    let lastSave = performance.now();
    const shaper = () => this.r.shaper(p.remoteArray);
    const worker = async (): Promise<void> => {
      while (next < pieces.length) {
        if (t.abort) throw new RcopyError('ERR_RCOPY_ABORTED', 'copy stopped', { kind: 'failed' });
        const cur = this.r.rs.pair(p.id);
        if (!cur || cur.state !== 'COPY') throw new RcopyError('ERR_RCOPY_ABORTED', `pair left COPY (${cur?.state ?? 'deleted'})`, { kind: 'failed' });
        this.r.checkLink(p.remoteArray);
        const [a, b] = pieces[next++]!;
        const off = a * ts;
        const len = Math.min((b + 1) * ts, vol.size) - off;
        const t0 = performance.now();
        const reply = await peer.call('repl.readTracks', { volume: p.remoteVol, offset: off, length: len }, { timeoutMs: 120_000 });
        const data = reply.payload ?? Buffer.alloc(0);
        if (data.length !== len) throw new RcopyError('ERR_RCOPY_PEER', `short track read from ${p.remoteArray} (${data.length} of ${len})`, { kind: 'peer' });
        await shaper().transfer(len, t0);
        if (keeper) {
          const tracks: number[] = [];
          for (let x = a; x <= b; x++) tracks.push(x);
          await keeper.save(vol, tracks);
        }
        await this.r.array.write(vol, off, data, p.resyncing ? 'resync' : 'copy', { sync: false });
        done += b - a + 1;
        if (performance.now() - lastSave > 250) {
          lastSave = performance.now();
          await this.r.array.commit();
          this.r.rs.updatePair(p.id, { copyDone: done });
        }
      }
    };
    await Promise.all(Array.from({ length: DEPTH }, () => worker()));
    await this.r.array.commit();
    this.r.rs.updatePair(p.id, { copyDone: done });
    // tell the primary: it clears its bitmap and goes to PAIR; its journal's last seq marks where
    // the S-VOL is consistent again (the image is kept until the restore passes it)
    const fin = await peer.call<{ lastSeq: number }>('repl.copyDone', { pair: p.id });
    const b = await this.r.bitmap(p);
    b.clearAll();
    await b.flush();
    const cur = this.r.pair(p.id);
    this.r.setState(cur, 'PAIR', p.resyncing ? 'resync complete' : 'initial copy complete', {
      resyncing: false,
      writable: false,
      splitSeq: keeper ? fin.result.lastSeq : null,
      imageTime: keeper ? cur.imageTime : null,
    });
    if (!keeper || this.r.journalRow(p.localJournal).restoredSeq >= fin.result.lastSeq) {
      await this.r.dropImage(cur);
      if (keeper) this.r.rs.updatePair(p.id, { splitSeq: null, imageTime: null });
      this.r.invalidate();
    }
    this.r.log(`${p.resyncing ? 'resync' : 'initial copy'} of ${p.id} done: ${done} tracks`);
    this.onFinished(this.r.pair(p.id));
  }
}
