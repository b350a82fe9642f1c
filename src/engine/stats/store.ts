/**
 * The collection data set of PB-bit statistics, in the array's management store (DESIGN.md §2.3).
 *
 * Tables:
 *   stats_groups    one row per data group set: name, collection interval, whether a collection
 *                   runs (and since when, and where its current interval started), last collect.
 *   stats_members   the group's volumes in order; `external` = a device of an imported trace, not a
 *                   volume of this array (its size is the device size seen in the trace).
 *   stats_datasets  named track ranges of member volumes: NAME=VOL:[startByte, endByte).
 *   stats_entries   one row per volume per collection interval: [start, end) epoch ms, size in tracks,
 *                   track size, tracks set (count), writes, bytes written and the bitmap in its
 *                   compact form (codec.ts: RAW, RUNS, or GAPS, which addEntries makes of a RUNS
 *                   blob when smaller). Indexed by (grp, start) and by (grp, volume, start, end,
 *                   tracks): reports read a volume's entries at a time and size volumes from it.
 * Invariants: every change is one transaction; an entry's count equals the bits of its bitmap (checked
 * when entries arrive from outside); entries are read back in order of start time.
 * The controller is the only writer; the CLI reads with a read-only connection (WAL: safe while the
 * controller writes).
 *
 * long: one store, its tables and their queries; the codec and the report live elsewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { STORE_FILE } from '../array/home.js';
import type { StatsEntry } from './pb-table.js';
import { BitmapDecoder, decodeBitmapInto, encodeBitmap, popcountBytes, storageForm, type Encoding } from './codec.js';
import type { DataSetDef, ReportEntry } from './report/options.js';
import { ManagementStore } from '../array/mgmt-store.js';

const DDL = `
CREATE TABLE IF NOT EXISTS stats_groups (
  name TEXT PRIMARY KEY,
  interval_ms INTEGER NOT NULL,
  running INTEGER NOT NULL DEFAULT 0,
  since INTEGER,
  cur_start INTEGER,
  last_collect INTEGER,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stats_members (
  grp TEXT NOT NULL,
  volume TEXT NOT NULL,
  pos INTEGER NOT NULL,
  external INTEGER NOT NULL DEFAULT 0,
  tracks INTEGER,
  track_size INTEGER,
  PRIMARY KEY (grp, volume)
);
CREATE TABLE IF NOT EXISTS stats_datasets (
  grp TEXT NOT NULL,
  name TEXT NOT NULL,
  pos INTEGER NOT NULL,
  volume TEXT NOT NULL,
  start_byte INTEGER NOT NULL,
  end_byte INTEGER NOT NULL,
  PRIMARY KEY (grp, name)
);
CREATE TABLE IF NOT EXISTS stats_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  grp TEXT NOT NULL,
  volume TEXT NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  tracks INTEGER NOT NULL,
  track_size INTEGER NOT NULL,
  count INTEGER NOT NULL,
  writes INTEGER NOT NULL,
  write_bytes INTEGER NOT NULL,
  enc INTEGER NOT NULL,
  bitmap BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stats_entries_by_start ON stats_entries (grp, start);
CREATE INDEX IF NOT EXISTS stats_entries_by_volume ON stats_entries (grp, volume, start, end, tracks);
`;

export interface GroupDef {
  name: string;
  intervalMs: number;
  /** Volumes of the array. */
  volumes: string[];
  datasets: DataSetDef[];
}

export interface GroupMember {
  volume: string;
  /** A device of an imported trace, not a volume of the array. */
  external: boolean;
  tracks: number | null;
  trackSize: number | null;
}

export interface GroupInfo {
  name: string;
  intervalMs: number;
  running: boolean;
  /** Epoch ms the collection was started; null when stopped. */
  since: number | null;
  /** Start of the interval being collected now. */
  intervalStart: number | null;
  lastCollect: number | null;
  created: number;
  members: GroupMember[];
  datasets: DataSetDef[];
  entries: number;
  /** First entry start and last entry end, epoch ms. */
  from: number | null;
  to: number | null;
  storedBytes: number;
}

/** An entry in its stored form. */
export interface EncodedEntry {
  start: number;
  end: number;
  volume: string;
  tracks: number;
  trackSize: number;
  count: number;
  writes: number;
  writeBytes: number;
  enc: Encoding;
  data: Buffer;
}

export function encodeEntry(e: StatsEntry): EncodedEntry {
  const { enc, data } = encodeBitmap(e.bitmap);
  return { start: e.start, end: e.end, volume: e.volume, tracks: e.tracks, trackSize: e.trackSize, count: e.count, writes: e.writes, writeBytes: e.writeBytes, enc, data };
}

/** Checks an entry that came from outside the controller (an import): sizes, times and count. */
export function checkEntry(e: EncodedEntry): void {
  const ok = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!(Number.isFinite(e.start) && Number.isFinite(e.end) && e.end > e.start)) throw E.badInput(`entry of '${e.volume}': end must be after start`);
  if (!ok(e.tracks) || !(e.trackSize > 0) || !ok(e.trackSize) || !ok(e.count) || !ok(e.writes) || !ok(e.writeBytes)) throw E.badInput(`entry of '${e.volume}': invalid sizes or counters`);
  const out = new Uint8Array(Math.ceil(e.tracks / 8));
  const n = decodeBitmapInto(e.enc, e.data, e.tracks, out);
  const c = popcountBytes(out, n);
  if (c !== e.count) throw E.integrity(`entry of '${e.volume}' at ${new Date(e.start).toISOString()}: bitmap has ${c} tracks set, count says ${e.count}`);
}

export class StatsStore {
  private constructor(
    readonly store: ManagementStore,
    private readonly readonly: boolean,
  ) {}

  /** For the controller: the array's open store (creates the tables). */
  static of(store: ManagementStore): StatsStore {
    store.ensureSchema('stats', DDL);
    return new StatsStore(store, false);
  }

  /** For readers outside the controller: a read-only connection to an array directory's store. */
  static openReadOnly(dir: string): StatsStore {
    const file = path.join(dir, STORE_FILE);
    if (!fs.existsSync(file)) throw E.notAnArray(dir);
    const ms = ManagementStore.open(file, { readonly: true });
    // reports read gigabytes of entry blobs: map the file instead of a read() per 4 KiB page
    ms.db.pragma('mmap_size = 68719476736');
    return new StatsStore(ms, true);
  }

  close(): void {
    this.store.close();
  }

  private get db() {
    return this.store.db;
  }

  /** False on a read-only store of an array that never had statistics. */
  private hasTables(): boolean {
    if (!this.readonly) return true;
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stats_entries'").get() !== undefined;
  }

  /** Creates or redefines groups in one transaction. A running group cannot be redefined. */
  define(defs: GroupDef[], now = Date.now()): void {
    this.store.tx(() => {
      for (const d of defs) {
        const cur = this.db.prepare('SELECT running FROM stats_groups WHERE name = ?').get(d.name) as { running: number } | undefined;
        if (cur?.running) throw E.state(`a collection runs on group '${d.name}'`, `stop it first: rcopy stats stop ARRAY:${d.name}`);
        if (cur) {
          this.db.prepare('UPDATE stats_groups SET interval_ms = ? WHERE name = ?').run(d.intervalMs, d.name);
          this.db.prepare('DELETE FROM stats_members WHERE grp = ? AND external = 0').run(d.name);
          this.db.prepare('DELETE FROM stats_datasets WHERE grp = ?').run(d.name);
        } else {
          this.db.prepare('INSERT INTO stats_groups (name, interval_ms, created) VALUES (?, ?, ?)').run(d.name, d.intervalMs, now);
        }
        let pos = this.nextPos(d.name);
        const ins = this.db.prepare('INSERT INTO stats_members (grp, volume, pos, external) VALUES (?, ?, ?, 0) ON CONFLICT (grp, volume) DO UPDATE SET external = 0');
        for (const v of d.volumes) ins.run(d.name, v, pos++);
        const ds = this.db.prepare('INSERT INTO stats_datasets (grp, name, pos, volume, start_byte, end_byte) VALUES (?, ?, ?, ?, ?, ?)');
        d.datasets.forEach((x, i) => ds.run(d.name, x.name, i, x.volume, x.startByte, x.endByte));
      }
    });
  }

  private nextPos(group: string): number {
    const r = this.db.prepare('SELECT COALESCE(MAX(pos) + 1, 0) AS p FROM stats_members WHERE grp = ?').get(group) as { p: number };
    return r.p;
  }

  /** Creates the group if absent (imports) and records external members with their sizes. */
  addExternalMembers(group: string, intervalMs: number, members: { volume: string; tracks: number; trackSize: number }[], now = Date.now()): void {
    this.store.tx(() => {
      this.db.prepare('INSERT INTO stats_groups (name, interval_ms, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING').run(group, intervalMs, now);
      let pos = this.nextPos(group);
      for (const m of members) {
        const cur = this.db.prepare('SELECT external, tracks FROM stats_members WHERE grp = ? AND volume = ?').get(group, m.volume) as { external: number; tracks: number | null } | undefined;
        if (!cur) this.db.prepare('INSERT INTO stats_members (grp, volume, pos, external, tracks, track_size) VALUES (?, ?, ?, 1, ?, ?)').run(group, m.volume, pos++, m.tracks, m.trackSize);
        else if (cur.external)
          this.db.prepare('UPDATE stats_members SET tracks = MAX(COALESCE(tracks, 0), ?), track_size = ? WHERE grp = ? AND volume = ?').run(m.tracks, m.trackSize, group, m.volume);
      }
    });
  }

  group(name: string): GroupInfo | undefined {
    if (!this.hasTables()) return undefined;
    const r = this.db.prepare('SELECT * FROM stats_groups WHERE name = ?').get(name) as GroupRow | undefined;
    return r ? this.info(r) : undefined;
  }

  /** The group, or ERR_RCOPY_NOT_FOUND naming what to run. */
  need(array: string, name: string): GroupInfo {
    const g = this.group(name);
    if (!g) throw E.notFound('statistics group', `${array}:${name}`, `define it first: rcopy stats define ${array}:${name} --volumes VOL1,VOL2 (see rcopy stats list ${array})`);
    return g;
  }

  /** The group's definition (members and data sets) without its entry statistics, which cost a scan. */
  needDefinition(array: string, name: string): Pick<GroupInfo, 'name' | 'members' | 'datasets'> {
    if (!this.hasTables() || !this.db.prepare('SELECT 1 FROM stats_groups WHERE name = ?').get(name)) return this.need(array, name);
    return { name, members: this.members(name), datasets: this.datasets(name) };
  }

  private members(name: string): GroupMember[] {
    return (
      this.db.prepare('SELECT volume, external, tracks, track_size FROM stats_members WHERE grp = ? ORDER BY pos').all(name) as Array<{
        volume: string;
        external: number;
        tracks: number | null;
        track_size: number | null;
      }>
    ).map((m) => ({ volume: m.volume, external: m.external === 1, tracks: m.tracks, trackSize: m.track_size }));
  }

  private datasets(name: string): DataSetDef[] {
    return (
      this.db.prepare('SELECT name, volume, start_byte, end_byte FROM stats_datasets WHERE grp = ? ORDER BY pos').all(name) as Array<{
        name: string;
        volume: string;
        start_byte: number;
        end_byte: number;
      }>
    ).map((d) => ({ name: d.name, volume: d.volume, startByte: d.start_byte, endByte: d.end_byte }));
  }

  groups(): GroupInfo[] {
    if (!this.hasTables()) return [];
    const rows = this.db.prepare('SELECT * FROM stats_groups ORDER BY name').all() as GroupRow[];
    return rows.map((r) => this.info(r));
  }

  private info(r: GroupRow): GroupInfo {
    const members = this.members(r.name);
    const datasets = this.datasets(r.name);
    const s = this.db.prepare('SELECT COUNT(*) AS n, MIN(start) AS a, MAX(end) AS b, COALESCE(SUM(LENGTH(bitmap)), 0) AS bytes FROM stats_entries WHERE grp = ?').get(r.name) as {
      n: number;
      a: number | null;
      b: number | null;
      bytes: number;
    };
    return {
      name: r.name,
      intervalMs: r.interval_ms,
      running: r.running === 1,
      since: r.since,
      intervalStart: r.cur_start,
      lastCollect: r.last_collect,
      created: r.created,
      members,
      datasets,
      entries: s.n,
      from: s.a,
      to: s.b,
      storedBytes: s.bytes,
    };
  }

  /** Records that a collection runs (or not), with its interval and the start of its current interval. */
  setRunning(name: string, running: boolean, intervalMs: number, intervalStart: number | null, since: number | null): void {
    this.db.prepare('UPDATE stats_groups SET running = ?, interval_ms = ?, cur_start = ?, since = ? WHERE name = ?').run(running ? 1 : 0, intervalMs, intervalStart, since, name);
  }

  /** Stores the entries of one cut (or one import) and moves the group's interval start, atomically. */
  addEntries(group: string, entries: EncodedEntry[], cut?: { nextStart: number; at: number }): void {
    const ins = this.db.prepare('INSERT INTO stats_entries (grp, volume, start, end, tracks, track_size, count, writes, write_bytes, enc, bitmap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.store.tx(() => {
      for (const e of entries) {
        const f = storageForm(e.enc, e.data);
        ins.run(group, e.volume, e.start, e.end, e.tracks, e.trackSize, e.count, e.writes, e.writeBytes, f.enc, f.data);
      }
      if (cut) this.db.prepare('UPDATE stats_groups SET cur_start = ?, last_collect = ? WHERE name = ?').run(cut.nextStart, cut.at, group);
    });
  }

  /**
   * The group's entries with start in [fromMs, toMs), in order of start, decoded to dense bitmaps.
   * The yielded bitmap is a view of a buffer reused for the next entry: consume it before asking for
   * the next one (buildReport does).
   */
  *entries(group: string, opts: { fromMs?: number; toMs?: number } = {}): Generator<StatsEntry> {
    if (!this.hasTables()) return;
    const rows = this.db
      .prepare('SELECT volume, start, end, tracks, track_size, count, writes, write_bytes, enc, bitmap FROM stats_entries WHERE grp = ? AND start >= ? AND start < ? ORDER BY start, id')
      .iterate(group, opts.fromMs ?? -8.64e15, opts.toMs ?? 8.64e15) as IterableIterator<EntryRow>;
    const dec = new BitmapDecoder();
    for (const r of rows) {
      const bitmap = dec.decode(r.enc, r.bitmap, r.tracks);
      yield {
        start: r.start,
        end: r.end,
        volume: r.volume,
        trackSize: r.track_size,
        tracks: r.tracks,
        bitmap: Buffer.from(bitmap.buffer, bitmap.byteOffset, bitmap.length),
        count: r.count,
        writes: r.writes,
        writeBytes: r.write_bytes,
      };
    }
  }

  /**
   * The group's entries with start in [fromMs, toMs), in order of start, with their bitmaps in stored
   * form (enc + data), for buildReport to OR straight into its window bitmaps. Rows are read as
   * arrays (no per-row column objects); `data` is the row's own buffer.
   */
  *reportEntries(group: string, opts: { fromMs?: number; toMs?: number; volumes?: string[] } = {}): Generator<ReportEntry & { id: number }> {
    if (!this.hasTables()) return;
    const vols = opts.volumes;
    if (vols && vols.length === 0) return;
    // one volume: through stats_entries_by_volume, in order of start (ties in any order: entries that
    // start together are ORed into the same segment, so their order does not matter)
    const one = vols?.length === 1 && this.byVolumeIndex;
    const only = vols ? ` AND volume IN (${vols.map(() => '?').join(', ')})` : '';
    const sql = one
      ? 'SELECT volume, start, end, tracks, track_size, count, writes, write_bytes, enc, bitmap, id FROM stats_entries INDEXED BY stats_entries_by_volume WHERE grp = ? AND start >= ? AND start < ? AND volume = ? ORDER BY start'
      : `SELECT volume, start, end, tracks, track_size, count, writes, write_bytes, enc, bitmap, id FROM stats_entries WHERE grp = ? AND start >= ? AND start < ?${only} ORDER BY start, id`;
    const rows = this.db
      .prepare(sql)
      .raw(true)
      .iterate(group, opts.fromMs ?? -8.64e15, opts.toMs ?? 8.64e15, ...(vols ?? [])) as IterableIterator<[string, number, number, number, number, number, number, number, number, Buffer, number]>;
    for (const r of rows) {
      yield { volume: r[0], start: r[1], end: r[2], tracks: r[3], trackSize: r[4], count: r[5], writes: r[6], writeBytes: r[7], enc: r[8], data: r[9], id: r[10] };
    }
  }

  /**
   * Per volume with entries: its largest size in tracks (all entries) and, among entries with start
   * in [fromMs, toMs), their number, first start and last end. One pass over the
   * stats_entries_by_volume index when the store has it (stores written by this version).
   */
  volumeSpans(group: string, opts: { fromMs?: number; toMs?: number } = {}): Map<string, { tracks: number; entries: number; from: number | null; to: number | null }> {
    const m = new Map<string, { tracks: number; entries: number; from: number | null; to: number | null }>();
    if (!this.hasTables()) return m;
    const a = opts.fromMs ?? -8.64e15,
      b = opts.toMs ?? 8.64e15;
    const rows = this.db
      .prepare(
        'SELECT volume, MAX(tracks) AS t, SUM(start >= ? AND start < ?) AS n, MIN(CASE WHEN start >= ? AND start < ? THEN start END) AS f, MAX(CASE WHEN start >= ? AND start < ? THEN end END) AS e FROM stats_entries WHERE grp = ? GROUP BY volume',
      )
      .all(a, b, a, b, a, b, group) as Array<{ volume: string; t: number; n: number; f: number | null; e: number | null }>;
    for (const r of rows) m.set(r.volume, { tracks: r.t, entries: r.n, from: r.f, to: r.e });
    return m;
  }

  /** Whether entries can be read volume by volume through an index (else by a filtered scan). */
  get byVolumeIndex(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'stats_entries_by_volume'").get() !== undefined;
  }

  /** The store's file (a worker opens its own read-only connection to it). */
  get file(): string {
    return this.db.name;
  }

  /** Largest size in tracks of each volume's entries in a range (the report sizes bitmaps from it). */
  volumeSizes(group: string): Map<string, number> {
    const m = new Map<string, number>();
    if (!this.hasTables()) return m;
    for (const r of this.db.prepare('SELECT volume, MAX(tracks) AS t FROM stats_entries WHERE grp = ? GROUP BY volume').all(group) as Array<{ volume: string; t: number }>) m.set(r.volume, r.t);
    return m;
  }
}

interface GroupRow {
  name: string;
  interval_ms: number;
  running: number;
  since: number | null;
  cur_start: number | null;
  last_collect: number | null;
  created: number;
}

interface EntryRow {
  volume: string;
  start: number;
  end: number;
  tracks: number;
  track_size: number;
  count: number;
  writes: number;
  write_bytes: number;
  enc: number;
  bitmap: Buffer;
}
