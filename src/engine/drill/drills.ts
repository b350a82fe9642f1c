/**
 * Disaster-recovery drills on the secondary (see ARCHITECTURE.md, "A drill"): a writable
 * point-in-time view of every S-VOL of a journal group at one restored seq, while pulls and
 * restores go on into the S-VOLs.
 *
 * Durable at each step:
 *   start   with the group's restores held (Restorer.hold: the S-VOLs are exactly at the restored
 *           seq N), the drill's row is inserted (state running, seq N) in one transaction, then the
 *           hold ends. A kill before the insert leaves no drill; after it, the drill (the restore
 *           cannot have passed N before the row, and after a restart the row is loaded before the
 *           next restore batch: the batch hook loads first).
 *   restore before every batch, the tracks the view still shares are appended to the view's keep
 *           store and made durable (one fdatasync per volume and batch) before the volume write; a
 *           batch redone after a kill finds them kept and keeps nothing twice.
 *   stop    the view is closed for reads and writes, the row completed (one transaction), then
 *           its files removed; files without a running row are removed when the drills load.
 * The drill never fails a restore: a keep that fails, or that would pass --max-size, ends the
 * drill (recorded, with an event) and the restore goes on.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { E } from '../../errors.js';
import { checkName, formatBytes } from '../../units.js';
import { mkdirMode } from '../array/home.js';
import type { Volume } from '../array/volume.js';
import type { VolumeWrite, WriteOrigin } from '../array/write-path.js';
import { restoredTime } from '../repl/consistency-time.js';
import type { GroupRecords } from '../repl/group-records.js';
import type { Journals } from '../repl/journals.js';
import type { Restorer } from '../repl/restore.js';
import type { Site } from '../repl/site.js';
import { DrillStore, type DrillRow, type StopReason } from './drill-store.js';
import { VolumeView } from './volume-view.js';

export interface DrillParts {
  site: Site;
  records: GroupRecords;
  journals: Journals;
  restorer: Restorer;
}

interface Running {
  row: DrillRow;
  views: Map<string, VolumeView>;
  /** bytes written into the view before this process opened it */
  writtenBefore: number;
  ended: boolean;
}

export interface StartOptions {
  journal: string;
  name?: string;
  maxSize?: number;
  /** The RPO (seconds) of a view at `seq` with consistency time `ct` (null when not known). */
  rpo?: (seq: number, ct: number | null) => Promise<number | null>;
}

export class Drills {
  readonly store: DrillStore;
  private readonly running = new Map<string, Running>();
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** The last seq of each restore journal when the drills loaded: a restore may have half-applied up to it. */
  private readonly dirtyUpto = new Map<string, number>();
  /** Told when a drill ends by itself (a limit, an error). */
  onEnded: (row: DrillRow) => void = () => {};

  constructor(private readonly parts: DrillParts) {
    this.store = new DrillStore(parts.site.array.store, parts.site.name);
  }

  private get dir(): string {
    return path.join(this.parts.site.array.dir, 'drills');
  }

  private dirOf(row: DrillRow): string {
    return path.join(this.dir, String(row.id));
  }

  /** Loads the running drills once (their views opened); removes files of drills that ended. */
  load(): Promise<void> {
    this.loading ??= this.doLoad();
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    for (const j of this.parts.records.rs.journals()) if (j.role === 'restore') this.dirtyUpto.set(j.name, this.parts.journals.journal(j.name).lastSeq);
    for (const row of this.store.running()) {
      try {
        this.checkViewFiles(row);
        await this.open(row);
      } catch (e) {
        this.parts.site.log(`drill ${row.name}: its view cannot be opened: ${(e as Error).message}`);
        this.store.stop(row.id, { stopped: Date.now(), reason: 'error', result: null, note: `view lost: ${(e as Error).message}`, bytesWritten: row.bytesWritten, keptBytes: 0 });
      }
    }
    const keep = new Set([...this.running.values()].map((d) => String(d.row.id)));
    for (const f of fs.existsSync(this.dir) ? await fsp.readdir(this.dir) : []) if (!keep.has(f)) await fsp.rm(path.join(this.dir, f), { recursive: true, force: true });
    this.loaded = true;
  }

  /**
   * A running drill's view files must still be there once restores have gone past its seq: opened
   * empty, the view would silently show the S-VOL as it is now. They may be missing only when the
   * controller died between recording the drill and creating them (crash point drill-recorded), when
   * restores were held and the S-VOLs are still at the drill's seq.
   */
  private checkViewFiles(row: DrillRow): void {
    const missing = row.volumes.filter((v) => Object.values(VolumeView.files(this.dirOf(row), v)).some((f) => !fs.existsSync(f)));
    if (!missing.length) return;
    const restored = this.parts.records.journalRow(row.journal).restoredSeq;
    if (restored !== row.seq) throw new Error(`the files of ${missing.map((v) => `${v}@${row.name}`).join(', ')} are gone and the S-VOLs were restored past seq ${row.seq} (to ${restored})`);
  }

  private async open(row: DrillRow): Promise<Running> {
    mkdirMode(this.dirOf(row));
    const views = new Map<string, VolumeView>();
    const array = this.parts.site.array;
    try {
      for (const v of row.volumes) views.set(v, await VolumeView.open(this.dirOf(row), array.volume(v), (fn) => array.locked(fn)));
    } catch (e) {
      for (const v of views.values()) await v.close();
      throw e;
    }
    const d: Running = { row, views, writtenBefore: row.bytesWritten, ended: false };
    this.running.set(row.name, d);
    return d;
  }

  /** Running drills and their live figures. */
  list(): DrillRow[] {
    return [...this.running.values()].map((d) => this.live(d));
  }

  private live(d: Running): DrillRow {
    return { ...d.row, bytesWritten: this.written(d), keptBytes: this.bytes(d) };
  }

  private written(d: Running): number {
    return d.writtenBefore + [...d.views.values()].reduce((n, v) => n + v.written, 0);
  }

  private bytes(d: Running): number {
    return [...d.views.values()].reduce((n, v) => n + v.bytes, 0);
  }

  /** Whether a running drill views this volume (the write hook's quick test). */
  has(vol: string): boolean {
    if (!this.loaded) return true; // not known yet: the hook loads first
    for (const d of this.running.values()) if (d.views.has(vol)) return true;
    return false;
  }

  /** Every drill started at or after `since`: the records, running ones with their live figures. */
  history(since = 0): DrillRow[] {
    return this.store.list(since).map((r) => {
      const d = this.running.get(r.name);
      return d && d.row.id === r.id ? this.live(d) : r;
    });
  }

  /** Writes the running drills' figures to their rows (a controller that stops). */
  saveProgress(): void {
    for (const d of this.running.values()) this.store.progress(d.row.id, this.written(d), this.bytes(d));
  }

  /** The running drills of a restore journal (a group). */
  ofJournal(journal: string): DrillRow[] {
    return this.list().filter((d) => d.journal === journal);
  }

  /** A drill by name: the running one, else the newest record. */
  show(name: string): DrillRow {
    const d = this.running.get(name);
    if (d) return this.live(d);
    const row = this.store.byName(name);
    if (!row) throw E.notFound('drill', `${this.parts.site.name}:${name}`, `run 'rcopy drill list ${this.parts.site.name}'`);
    return row;
  }

  /** The view VOL@NAME. */
  view(vol: string, name: string): VolumeView {
    const d = this.running.get(name);
    if (!d || d.ended) throw E.notFound('running drill', `${this.parts.site.name}:${name}`, `run 'rcopy drill list ${this.parts.site.name}'`);
    const v = d.views.get(vol);
    if (!v) throw E.notFound('volume in drill', `${this.parts.site.name}:${vol}@${name}`, `drill ${name} views ${d.row.volumes.join(', ')}`);
    return v;
  }

  /** Starts a drill of the group of restore journal `journal` (see the file's comment). */
  async start(opts: StartOptions): Promise<DrillRow> {
    const t0 = Date.now();
    await this.load();
    const { records } = this.parts;
    const name = checkName('drill', opts.name ?? `drill-${this.store.list().length + 1}`);
    if (this.running.has(name)) throw E.state(`drill ${this.parts.site.name}:${name} is running`, `stop it first (rcopy drill stop ${this.parts.site.name}:${name}) or choose another --name`);
    const d = await this.parts.restorer.hold(opts.journal, async () => {
      const ps = this.checkGroup(opts.journal);
      const other = this.ofJournal(opts.journal)[0];
      if (other) throw E.state(`group ${ps[0]!.groupName} already has a running drill (${other.name})`, `stop it first: rcopy drill stop ${this.parts.site.name}:${other.name}`);
      const seq = records.journalRow(opts.journal).restoredSeq;
      const dirty = this.dirtyUpto.get(opts.journal) ?? 0;
      if (seq < dirty) throw E.state(`the restore of ${opts.journal} has not yet passed seq ${dirty} since the controller started (at ${seq})`, 'try again in a moment');
      const row = this.store.insert({
        name,
        journal: opts.journal,
        group: ps[0]!.groupName,
        volumes: ps.map((p) => p.localVol),
        seq,
        consistencyTime: restoredTime(records.rs, opts.journal, seq),
        rpoSeconds: null,
        started: t0,
        usableMs: 0,
        maxSize: opts.maxSize ?? null,
      });
      // a kill here (crash point drill-recorded; test: drill.test.ts) leaves durable: the row (running,
      // seq N, usableMs 0, no RPO) and the S-VOLs at exactly N (restores held); no files, no event,
      // no reply. The restart loads the row before the next batch and opens empty logs: the view
      // shows the S-VOLs at N, and the restores go on keeping tracks for it.
      this.parts.site.fault('drill-recorded');
      return this.open(row);
    });
    d.row = { ...d.row, usableMs: Date.now() - t0 };
    d.row.rpoSeconds = (await opts.rpo?.(d.row.seq, d.row.consistencyTime).catch(() => null)) ?? null;
    this.store.setStarted(d.row.id, d.row.usableMs, d.row.rpoSeconds);
    records.rs.event(null, `drill ${name} started on group ${d.row.group} at seq ${d.row.seq}`);
    return this.live(d);
  }

  private checkGroup(journal: string): ReturnType<GroupRecords['groupPairs']> {
    const ps = this.parts.records.groupPairs(journal).filter((p) => p.role === 'S');
    if (!ps.length) throw E.state(`journal ${this.parts.site.name}:${journal} restores no pair`, 'a drill runs on the secondary of a journal group: name an S-VOL or --group');
    for (const p of ps) {
      if (p.state !== 'PAIR' || p.writable) throw E.state(`pair ${p.id} is ${p.state}${p.writable ? ' (writable)' : ''}: a drill needs its group in PAIR`, `rcopy pair resync ${p.id}`);
      if (p.splitSeq !== null) throw E.state(`pair ${p.id} is not yet consistent after its resync`, `wait: rcopy pair wait ${p.id} --drained`);
    }
    return ps;
  }

  /** Stops a drill: its view and space go, its record is completed. */
  async stop(name: string, opts: { result?: 'pass' | 'fail'; note?: string; reason?: StopReason } = {}): Promise<DrillRow> {
    await this.load();
    const d = this.running.get(name);
    if (!d || d.ended) {
      const row = this.store.byName(name);
      if (row?.state === 'stopped') return row;
      throw E.notFound('drill', `${this.parts.site.name}:${name}`, `run 'rcopy drill list ${this.parts.site.name}'`);
    }
    return this.end(d, opts.reason ?? 'stop', opts.result ?? null, opts.note ?? null);
  }

  private async end(d: Running, reason: StopReason, result: 'pass' | 'fail' | null, note: string | null): Promise<DrillRow> {
    d.ended = true;
    const bytesWritten = this.written(d);
    const keptBytes = this.bytes(d);
    this.running.delete(d.row.name);
    const row = this.store.stop(d.row.id, { stopped: Date.now(), reason, result, note, bytesWritten, keptBytes });
    if (reason !== 'stop') this.parts.records.rs.event(null, `drill ${row.name} stopped (${reason})${note ? `: ${note}` : ''}`);
    this.parts.site.fault('drill-stop-recorded');
    for (const v of d.views.values()) await v.destroy().catch(() => undefined);
    await fsp.rm(this.dirOf(d.row), { recursive: true, force: true });
    if (reason === 'limit' || reason === 'error') this.onEnded(row);
    return row;
  }

  /** Ends every running drill of a group (a command that changes it, with --yes). */
  async endGroup(journal: string, why: string): Promise<DrillRow[]> {
    await this.load();
    const out: DrillRow[] = [];
    for (const d of [...this.running.values()]) if (d.row.journal === journal) out.push(await this.end(d, 'group', null, why));
    return out;
  }

  /** Restorer's batch hook: keeps the tracks the batch overwrites, before it writes them. */
  async beforeRestore(journal: string, writes: ReadonlyArray<VolumeWrite>): Promise<void> {
    await this.load();
    for (const d of [...this.running.values()]) if (d.row.journal === journal) await this.keep(d, writes);
  }

  /** Array write hook: any other writer of an S-VOL with a drill keeps its tracks first. */
  async beforeWrite(vol: Volume, offset: number, data: Buffer, origin: WriteOrigin): Promise<void> {
    if (origin === 'restore' || !data.length) return;
    await this.load();
    for (const d of [...this.running.values()]) if (d.views.has(vol.name)) await this.keep(d, [{ vol, offset, data }]);
  }

  private async keep(d: Running, writes: ReadonlyArray<VolumeWrite>): Promise<void> {
    const byView = new Map<VolumeView, Set<number>>();
    for (const w of writes) {
      const v = d.views.get(w.vol.name);
      if (!v || !w.data.length || v.vol !== w.vol) continue;
      const set = byView.get(v) ?? new Set<number>();
      for (let t = Math.floor(w.offset / v.trackSize); t <= Math.floor((w.offset + w.data.length - 1) / v.trackSize); t++) set.add(t);
      byView.set(v, set);
    }
    if (!byView.size || d.ended) return;
    const cost = [...byView].reduce((n, [v, ts]) => n + v.keepCost(ts), 0);
    if (d.row.maxSize !== null && cost > 0 && this.bytes(d) + cost > d.row.maxSize) {
      await this.end(d, 'limit', null, `kept tracks and overlay reached --max-size ${formatBytes(d.row.maxSize)}`);
      return;
    }
    try {
      await Promise.all([...byView].map(([v, ts]) => v.keepTracks(ts)));
      if (cost > 0) this.parts.site.fault('drill-kept'); // kept, the S-VOL not yet written: the batch is redone
    } catch (e) {
      this.parts.site.log(`drill ${d.row.name}: keeping tracks failed: ${(e as Error).message}: the drill ends, replication goes on`);
      await this.end(d, 'error', null, `keeping tracks failed: ${(e as Error).message}`).catch(() => undefined);
    }
  }

  /** Writes into a view (VOL@NAME), within the drill's --max-size. */
  async write(vol: string, name: string, offset: number, data: Buffer): Promise<void> {
    const v = this.view(vol, name);
    const d = this.running.get(name)!;
    if (d.row.maxSize !== null && this.bytes(d) + data.length > d.row.maxSize) {
      await this.end(d, 'limit', null, `kept tracks and overlay reached --max-size ${formatBytes(d.row.maxSize)}`);
      throw E.noSpace(`drill ${name} reached its --max-size ${formatBytes(d.row.maxSize)} and was stopped`, 'start a new drill with a larger --max-size');
    }
    await v.write(offset, data);
    this.store.progress(d.row.id, this.written(d), this.bytes(d));
  }
}
