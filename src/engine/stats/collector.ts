/**
 * Live PB-bit collection in the controller (DESIGN.md §2.3): one PbTable per member volume of each
 * running group; a write hook marks them; at each interval end (a timer) or on a collect, every
 * table of the group is stored as an entry in the collection data set and reset.
 *
 * Write path: the hook is installed once and costs one Map lookup for a volume in no running group,
 * and a Map lookup plus PbTable.mark (a few word operations per track) for a member. It is
 * synchronous, runs under the array's write lock, and never fails a host write.
 * Time: interval k of a run is [start_k, start_k+1); a timer cut ends it at its nominal end, a
 * collect ends it now and the next interval starts there. A collection that was running when the
 * controller stopped resumes when it starts again (the state is in the store); a graceful stop stores
 * the partial interval first, a crash loses only the interval in progress.
 */
import { E } from '../../errors.js';
import type { StorageArray } from '../array/array.js';
import type { WriteHook } from '../array/write-path.js';
import { PbTable } from './pb-table.js';
import { encodeEntry, StatsStore, type GroupInfo } from './store.js';

export const MIN_INTERVAL_MS = 100;

interface Run {
  group: string;
  intervalMs: number;
  since: number;
  start: number;
  tables: PbTable[];
  timer: NodeJS.Timeout | null;
}

export interface CutResult {
  group: string;
  start: number;
  end: number;
  entries: number;
  changedTracks: number;
  writes: number;
  writeBytes: number;
}

export class StatsCollector {
  readonly stats: StatsStore;
  private readonly runs = new Map<string, Run>();
  private readonly byVolume = new Map<string, PbTable[]>();
  private closed = false;

  constructor(
    readonly array: StorageArray,
    private readonly log: (msg: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.stats = StatsStore.of(array.store);
    array.writeHooks.push(this.hook);
  }

  /** Every write that changes a member volume (host writes, restores, resyncs alike) sets PB bits. */
  private readonly hook: WriteHook = (vol, offset, data) => {
    const tables = this.byVolume.get(vol.name);
    if (tables !== undefined) for (let i = 0; i < tables.length; i++) tables[i]!.mark(offset, data.length);
  };

  /** Restarts the collections that were running when the controller last stopped. */
  resume(): string[] {
    const resumed: string[] = [];
    for (const g of this.stats.groups()) {
      if (!g.running) continue;
      try {
        this.begin(g, g.intervalMs, g.since ?? this.now());
        resumed.push(g.name);
        this.log(`stats: resumed collection on group '${g.name}' (interval ${g.intervalMs} ms)`);
      } catch (e) {
        this.log(`stats: cannot resume collection on group '${g.name}': ${(e as Error).message}`);
      }
    }
    return resumed;
  }

  isRunning(group: string): boolean {
    return this.runs.has(group);
  }

  start(group: string, intervalMs?: number): GroupInfo {
    const g = this.stats.need(this.array.name, group);
    if (this.runs.has(group))
      throw E.state(
        `a collection already runs on group '${this.array.name}:${group}'`,
        `collect it with: rcopy stats collect ${this.array.name}:${group}, or stop it with: rcopy stats stop ${this.array.name}:${group}`,
      );
    const iv = intervalMs ?? g.intervalMs;
    if (!(iv >= MIN_INTERVAL_MS)) throw E.badInput(`invalid collection interval ${iv} ms`, 'use a duration of at least 100ms, e.g. 1m');
    this.begin(g, iv, this.now());
    return this.stats.need(this.array.name, group);
  }

  private begin(g: GroupInfo, intervalMs: number, since: number): void {
    const vols = g.members.filter((m) => !m.external).map((m) => this.array.volume(m.volume));
    if (vols.length === 0)
      throw E.state(`group '${this.array.name}:${g.name}' has no volume of this array to collect`, `add volumes: rcopy stats define ${this.array.name}:${g.name} --volumes VOL1,VOL2`);
    const start = this.now();
    const run: Run = { group: g.name, intervalMs, since, start, tables: vols.map((v) => new PbTable(v.name, v.trackSize, v.tracks)), timer: null };
    this.stats.setRunning(g.name, true, intervalMs, start, since);
    this.runs.set(g.name, run);
    for (const t of run.tables) {
      const list = this.byVolume.get(t.volume);
      if (list) list.push(t);
      else this.byVolume.set(t.volume, [t]);
    }
    this.arm(run);
  }

  private arm(run: Run): void {
    if (run.timer) clearTimeout(run.timer);
    if (this.closed) return;
    const due = run.start + run.intervalMs;
    run.timer = setTimeout(
      () => {
        run.timer = null;
        try {
          // a timer that fires late still ends the interval at its nominal end, unless it is very late
          const now = this.now();
          this.cut(run, now - due < run.intervalMs ? Math.max(due, run.start + 1) : now);
        } catch (e) {
          this.log(`stats: storing an interval of group '${run.group}' failed: ${(e as Error).message}`);
        }
        this.arm(run);
      },
      Math.max(0, due - this.now()),
    );
  }

  /** Stores the current interval of a run as one entry per volume, ending at `end`, and resets. */
  private cut(run: Run, end: number): CutResult {
    const res: CutResult = { group: run.group, start: run.start, end, entries: 0, changedTracks: 0, writes: 0, writeBytes: 0 };
    if (!(end > run.start)) return res;
    const entries = run.tables.map((t) => encodeEntry(t.snapshot(run.start, end)));
    this.stats.addEntries(run.group, entries, { nextStart: end, at: this.now() });
    run.start = end;
    for (const e of entries) {
      res.entries++;
      res.changedTracks += e.count;
      res.writes += e.writes;
      res.writeBytes += e.writeBytes;
    }
    return res;
  }

  /** `rcopy stats collect`: ends the current interval now. */
  collect(group: string): CutResult {
    const run = this.runs.get(group);
    if (!run) {
      this.stats.need(this.array.name, group);
      throw E.state(`no collection runs on group '${this.array.name}:${group}'`, `start one: rcopy stats start ${this.array.name}:${group} --interval 1m`);
    }
    const r = this.cut(run, this.now());
    this.arm(run);
    return r;
  }

  /** Stores the partial interval and ends the collection. */
  stop(group: string): CutResult {
    const run = this.runs.get(group);
    if (!run) {
      this.stats.need(this.array.name, group);
      throw E.state(`no collection runs on group '${this.array.name}:${group}'`, `start one: rcopy stats start ${this.array.name}:${group}`);
    }
    const r = this.cut(run, this.now());
    this.end(run);
    this.stats.setRunning(group, false, run.intervalMs, null, null);
    return r;
  }

  private end(run: Run): void {
    if (run.timer) clearTimeout(run.timer);
    run.timer = null;
    this.runs.delete(run.group);
    for (const t of run.tables) {
      const list = this.byVolume.get(t.volume);
      if (!list) continue;
      const rest = list.filter((x) => x !== t);
      if (rest.length) this.byVolume.set(t.volume, rest);
      else this.byVolume.delete(t.volume);
    }
  }

  /** The interval in progress of a running group. */
  current(group: string): { start: number; intervalMs: number; changedTracks: number; writes: number } | null {
    const run = this.runs.get(group);
    if (!run) return null;
    return { start: run.start, intervalMs: run.intervalMs, changedTracks: run.tables.reduce((a, t) => a + t.changed, 0), writes: run.tables.reduce((a, t) => a + t.writeCount, 0) };
  }

  /** Controller stop: stores every partial interval; the collections stay marked running and resume. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const run of [...this.runs.values()]) {
      try {
        this.cut(run, this.now());
      } catch (e) {
        this.log(`stats: storing the last interval of group '${run.group}' failed: ${(e as Error).message}`);
      }
      this.end(run);
    }
    const i = this.array.writeHooks.indexOf(this.hook);
    if (i >= 0) this.array.writeHooks.splice(i, 1);
  }
}
