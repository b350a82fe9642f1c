/**
 * Backups with management information (DESIGN.md §2.5).
 *
 * A backup copies a source volume into a backup volume (the "target") of the same array, as of the
 * moment the command was accepted, and records in the management store (mgmt.db), apart from the
 * backup volume, what that backup is: id, source, target, times, label, the host's key=value details,
 * generation, bytes copied, checksum, and for an S-VOL the pair and sequence number it corresponds to.
 *
 * Generations. A source backed up into a target forms a chain. The target always holds the newest
 * image of the chain. Older generations stay restorable through copy-on-write data kept by the array:
 * before a backup overwrites a track of the target, the old content (the previous generation's) is
 * saved in that generation's undo file, backups/bk-NNNNNN.undo (see backup-undo.ts). Generation k is
 * rebuilt as: the target, overlaid by the undo files of generation k and of every newer generation of
 * the chain, the first one holding a track winning. A storage admin gets what snapshot-based backup
 * pools give: one backup volume per source, N generations kept, older ones costing only the tracks that
 * changed after them. Deleting (or rotating out, --keep N) a generation merges its undo records into the
 * next older one (dropping them when it is the oldest), so every remaining generation stays exact.
 *
 * Change tracking for incrementals: each chain has a persistent change bitmap, backups/chain-N.changed,
 * set (durably, before the write lands) for every write to the source. An incremental copies only
 * those tracks; when a backup completes, the bits are cleared except for tracks written while it ran.
 * A backup that fails leaves the bits set, so nothing is lost for the next one.
 *
 * Point in time: from acceptance until the copy ends, a write to the source first copies the tracks
 * it would overwrite that are not yet copied (backup-copy.ts). A backup that did not finish (error,
 * controller stop or crash) is marked failed and is never listed as good.
 *
 * Files are named relative to the array directory, so a moved array keeps its backups.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { E, RcopyError } from '../../errors.js';
import type { StorageArray, VolumeUse } from '../array/array.js';
import { TrackBitmap } from '../repl/track-bitmap.js';
import { ActiveCopy } from './copy.js';
import { CHECKSUM_ALG, ImageReader, TrackSums, rmQuiet, trackHash } from './image.js';
import { forChunks } from '../util/parallel.js';
import { UndoFile } from './undo.js';
import { mkdirMode } from '../array/home.js';
import { formatBackupId } from './id.js';

export { formatBackupId, parseBackupId } from './id.js';
import type { Volume } from '../array/volume.js';

/** What a backup is: the management information kept for it. */
export interface BackupRecord {
  /** ARRAY:bk-NNNNNN */
  id: string;
  array: string;
  number: number;
  source: string;
  target: string;
  /** 1, 2, ... per source; null until the backup is good */
  generation: number | null;
  kind: 'full' | 'incremental';
  state: BackupState;
  label: string | null;
  info: Record<string, string>;
  /** the point in time of the image (when the command was accepted), epoch ms */
  pointInTime: number;
  started: number;
  finished: number | null;
  /** image size in bytes (the source's size) */
  size: number;
  trackSize: number;
  tracksCopied: number;
  bytesCopied: number;
  tracksUnchanged: number;
  cowTracks: number;
  seconds: number | null;
  checksum: string | null;
  checksumAlgorithm: string;
  /** for a volume in a pair (an S-VOL on the secondary): the pair and where its image stands */
  replica: Record<string, unknown> | null;
  keep: number | null;
  error: string | null;
}

export type BackupState =
  | 'running' // being copied; not usable
  | 'good' // complete; restorable
  | 'failed'; // did not complete; never restorable

export interface CreateBackupOptions {
  source: string;
  target: string;
  label?: string;
  info?: Record<string, string>;
  incremental?: boolean;
  keep?: number;
  /** bytes per second to stay under */
  rate?: number;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  expected: string;
  actual: string;
  checksumAlgorithm: string;
  bytes: number;
  seconds: number;
  /** byte offsets (in the image) of tracks that differ, when they can be named */
  badOffsets: number[];
}

export interface RestoreResult {
  id: string;
  to: string;
  bytes: number;
  bytesWritten: number;
  seconds: number;
  checksum: string;
  matches: boolean;
}

const DDL = `
CREATE TABLE IF NOT EXISTS backup_chains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  target_id INTEGER NOT NULL UNIQUE,
  target TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backup_generations (
  source_id INTEGER PRIMARY KEY,
  last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chain_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  target TEXT NOT NULL,
  generation INTEGER,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  label TEXT,
  info TEXT NOT NULL,
  point_in_time INTEGER NOT NULL,
  started INTEGER NOT NULL,
  finished INTEGER,
  size INTEGER NOT NULL,
  track_size INTEGER NOT NULL,
  tracks_copied INTEGER NOT NULL DEFAULT 0,
  bytes_copied INTEGER NOT NULL DEFAULT 0,
  tracks_unchanged INTEGER NOT NULL DEFAULT 0,
  cow_tracks INTEGER NOT NULL DEFAULT 0,
  seconds REAL,
  checksum TEXT,
  checksum_alg TEXT NOT NULL,
  replica TEXT,
  keep INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS backups_chain ON backups(chain_id);
`;

interface Row {
  id: number;
  chain_id: number;
  source: string;
  target: string;
  generation: number | null;
  kind: 'full' | 'incremental';
  state: BackupState;
  label: string | null;
  info: string;
  point_in_time: number;
  started: number;
  finished: number | null;
  size: number;
  track_size: number;
  tracks_copied: number;
  bytes_copied: number;
  tracks_unchanged: number;
  cow_tracks: number;
  seconds: number | null;
  checksum: string | null;
  checksum_alg: string;
  replica: string | null;
  keep: number | null;
  error: string | null;
}

interface Chain {
  id: number;
  sourceId: number;
  source: string;
  targetId: number;
  target: string;
  changed: TrackBitmap;
  /** what holds the chain now: 'backup bk-..', 'restore', 'verify', 'delete' */
  busy: string | null;
  active: ActiveCopy | null;
  /** from the point in time of a backup until its change bits are settled: tracks written since */
  since: TrackBitmap | null;
  /** writes to the source between their hook and their completion: token -> tracks */
  inflight: Map<number, [number, number]>;
}

export const BACKUP_DIR = 'backups';
const CHUNK = 1024 * 1024;
const DEPTH = 4;

export class BackupManager {
  private readonly chains = new Map<number, Chain>();
  private token = 0;
  private stopping = false;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    readonly array: StorageArray,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  private get dir(): string {
    return path.join(this.array.dir, BACKUP_DIR);
  }
  private file(name: string): string {
    return path.join(this.dir, name);
  }
  private db() {
    return this.array.store.db;
  }

  /** Loads the catalogue, marks interrupted backups failed, installs the write hook and usage reports. */
  async start(): Promise<void> {
    this.array.store.ensureSchema('backups', DDL);
    mkdirMode(this.dir);
    const interrupted = this.db().prepare(`UPDATE backups SET state = 'failed', error = ?, finished = ? WHERE state = 'running'`).run('interrupted: the controller stopped or crashed while the backup was running', Date.now());
    if (interrupted.changes) this.log(`backup: ${interrupted.changes} interrupted backup(s) marked failed`);
    for (const f of fs.readdirSync(this.dir)) if (f.includes('.tmp-')) rmQuiet(this.file(f));
    const rows = this.db().prepare('SELECT * FROM backup_chains').all() as Array<{ id: number; source_id: number; source: string; target_id: number; target: string }>;
    for (const r of rows) {
      const src = this.volById(r.source_id);
      // a chain whose source was deleted keeps its backups but tracks nothing
      const changed = src ? await TrackBitmap.openFile(this.file(`chain-${r.id}.changed`), src.tracks) : new TrackBitmap(0);
      this.chains.set(r.id, { id: r.id, sourceId: r.source_id, source: r.source, targetId: r.target_id, target: r.target, changed, busy: null, active: null, since: null, inflight: new Map() });
    }
    // a chain left without a good generation (its first backup was interrupted) frees its volume
    for (const c of [...this.chains.values()]) if (this.goodRows(c.id).length === 0) await this.dropChain(c);
    this.array.writeHooks.push((vol, offset, data, origin) => this.onWrite(vol, offset, data.length, origin));
    this.array.usageProviders.push((vol) => this.usesOf(vol));
  }

  /** Stops running backups (they are marked failed) and closes files. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.chains.values()) c.active?.abort(E.state('the controller is stopping', 'take the backup again'));
    await Promise.allSettled([...this.running]);
    for (const c of this.chains.values()) await c.changed.close().catch(() => undefined);
  }

  private volById(id: number): Volume | undefined {
    for (const v of this.array.volumes.values()) if (v.id === id) return v;
    return undefined;
  }

  // ---- the write hook ------------------------------------------------------------------------

  private onWrite(vol: Volume, offset: number, length: number, origin: string): void | Promise<() => Promise<void>> {
    if (this.chains.size === 0 || length === 0) return;
    let sources: Chain[] | null = null;
    for (const c of this.chains.values()) {
      if (c.targetId === vol.id && origin === 'host') {
        throw E.state(`volume '${this.array.name}:${vol.name}' is a backup volume (of ${c.source}); hosts cannot write to it`, `restore a backup to another volume, or delete the backups of ${this.array.name}:${c.source} into it first`);
      }
      if (c.sourceId === vol.id) (sources ??= []).push(c);
    }
    if (!sources) return;
    const ts = vol.trackSize;
    const first = Math.floor(offset / ts);
    const last = Math.floor((offset + length - 1) / ts);
    const tok = ++this.token;
    const cows: Array<Promise<void>> = [];
    const persists: Array<Promise<void>> = [];
    for (const c of sources) {
      c.inflight.set(tok, [first, last]);
      if (c.changed.nbits !== vol.tracks) continue;
      const tracks: number[] = [];
      for (let t = first; t <= last; t++) tracks.push(t);
      persists.push(c.changed.setAndPersist(tracks));
      c.since?.setRange(first, last);
      if (c.active) cows.push(c.active.cow(first, last));
    }
    const done = async (): Promise<void> => {
      for (const c of sources!) c.inflight.delete(tok);
    };
    return (async () => {
      await Promise.all([...persists, ...cows]);
      return done;
    })();
  }

  private usesOf(vol: Volume): VolumeUse[] {
    const out: VolumeUse[] = [];
    for (const c of this.chains.values()) {
      if (c.targetId === vol.id) {
        const gens = this.goodRows(c.id);
        const latest = gens[gens.length - 1];
        out.push({
          kind: 'backup-target',
          id: latest ? `${this.array.name}:${formatBackupId(latest.id)}` : `${this.array.name}:${c.target}`,
          role: 'backup volume',
          state: c.busy ?? `${gens.length} generation(s)`,
          active: true,
          detail: { source: c.source, generations: gens.length },
        });
      }
      if (c.sourceId === vol.id) {
        out.push({ kind: 'backup-source', id: `${this.array.name}:${c.source}->${c.target}`, role: 'backup source', state: c.busy ?? 'idle', active: c.active !== null, detail: { target: c.target } });
      }
    }
    return out;
  }

  // ---- catalogue -----------------------------------------------------------------------------

  private row(n: number): Row {
    const r = this.db().prepare('SELECT * FROM backups WHERE id = ?').get(n) as Row | undefined;
    if (!r) throw E.notFound('backup', `${this.array.name}:${formatBackupId(n)}`, `run 'rcopy backup list ${this.array.name}'`);
    return r;
  }

  private goodRows(chainId: number): Row[] {
    return this.db().prepare(`SELECT * FROM backups WHERE chain_id = ? AND state = 'good' ORDER BY id`).all(chainId) as Row[];
  }

  private record(r: Row): BackupRecord {
    return {
      id: `${this.array.name}:${formatBackupId(r.id)}`,
      array: this.array.name,
      number: r.id,
      source: r.source,
      target: r.target,
      generation: r.generation,
      kind: r.kind,
      state: r.state,
      label: r.label,
      info: JSON.parse(r.info) as Record<string, string>,
      pointInTime: r.point_in_time,
      started: r.started,
      finished: r.finished,
      size: r.size,
      trackSize: r.track_size,
      tracksCopied: r.tracks_copied,
      bytesCopied: r.bytes_copied,
      tracksUnchanged: r.tracks_unchanged,
      cowTracks: r.cow_tracks,
      seconds: r.seconds,
      checksum: r.checksum,
      checksumAlgorithm: r.checksum_alg,
      replica: r.replica ? (JSON.parse(r.replica) as Record<string, unknown>) : null,
      keep: r.keep,
      error: r.error,
    };
  }

  list(source?: string): BackupRecord[] {
    const rows = (source === undefined
      ? this.db().prepare('SELECT * FROM backups ORDER BY id').all()
      : this.db().prepare('SELECT * FROM backups WHERE source = ? ORDER BY id').all(source)) as Row[];
    return rows.map((r) => this.record(r));
  }

  show(n: number): BackupRecord & { generationsInChain: number; undoTracks: number } {
    const r = this.row(n);
    let undoTracks = 0;
    try {
      undoTracks = Math.floor(Math.max(0, fs.statSync(this.file(`${formatBackupId(n)}.undo`)).size - 64) / (r.track_size + 16));
    } catch {
      undoTracks = 0;
    }
    return { ...this.record(r), generationsInChain: this.goodRows(r.chain_id).length, undoTracks };
  }

  private chainOf(r: Row): Chain {
    const c = this.chains.get(r.chain_id);
    if (!c) throw E.integrity(`backup ${formatBackupId(r.id)} belongs to a chain that is gone`);
    return c;
  }

  private lock(c: Chain, what: string): void {
    if (this.stopping) throw E.state('the controller is stopping', 'try again once it has restarted');
    if (c.busy) throw E.state(`the backups of ${this.array.name}:${c.source} into ${c.target} are busy (${c.busy})`, 'wait for it to finish and try again');
    c.busy = what;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p)).catch(() => undefined);
    return p;
  }

  // ---- create --------------------------------------------------------------------------------

  create(opts: CreateBackupOptions, onProgress?: (done: number, total: number) => void): Promise<BackupRecord> {
    return this.track(this.doCreate(opts, onProgress));
  }

  private async doCreate(opts: CreateBackupOptions, onProgress?: (done: number, total: number) => void): Promise<BackupRecord> {
    if (this.stopping) throw E.state('the controller is stopping', 'try again once it has restarted');
    const source = this.array.volume(opts.source);
    const target = this.array.volume(opts.target);
    const where = (v: Volume): string => `${this.array.name}:${v.name}`;
    if (source === target) throw E.badInput(`the source and the backup volume are the same volume (${where(source)})`, 'back up into another volume of the same array');
    if (target.size < source.size) {
      throw new RcopyError('ERR_RCOPY_BACKUP_TARGET_TOO_SMALL', `backup volume ${where(target)} (${target.size} bytes) is smaller than the source ${where(source)} (${source.size} bytes)`, {
        kind: 'usage',
        hint: `create a volume of at least ${source.size} bytes: rcopy volume create ${this.array.name}:NAME --size ${source.size}`,
      });
    }
    let chain = [...this.chains.values()].find((c) => c.targetId === target.id);
    if (chain && chain.sourceId !== source.id) {
      throw E.state(`volume ${where(target)} holds the backups of ${this.array.name}:${chain.source}`, `choose another backup volume, or delete those backups first (rcopy backup list ${this.array.name} --source ${chain.source})`);
    }
    const busy = this.array.usesOf(target).filter((u) => u.active && !(u.kind === 'backup-target' && chain));
    if (busy.length) {
      const u = busy[0]!;
      throw new RcopyError('ERR_RCOPY_VOLUME_IN_USE', `volume ${where(target)} is in use by ${u.kind} ${u.id}${u.role ? ` as ${u.role}` : ''}${u.state ? ` (${u.state})` : ''}; it cannot be a backup volume`, {
        kind: 'failed',
        hint: u.kind === 'pair' ? `choose a volume that is in no pair, or delete the pair ${u.id} first` : 'choose another volume',
      });
    }
    if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 1)) throw E.badInput(`invalid keep count '${opts.keep}'`, 'keep at least 1 generation');
    if (chain) this.lock(chain, 'backup');
    let created = false;
    let rowId = 0;
    try {
      if (!chain) {
        // a new chain: its change bitmap starts all clear; the first backup is full
        const res = this.db().prepare('INSERT INTO backup_chains(source_id, source, target_id, target, created) VALUES (?, ?, ?, ?, ?)').run(source.id, source.name, target.id, target.name, Date.now());
        const id = Number(res.lastInsertRowid);
        rmQuiet(this.file(`chain-${id}.changed`));
        rmQuiet(this.file(`chain-${id}.sums`));
        const changed = await TrackBitmap.openFile(this.file(`chain-${id}.changed`), source.tracks);
        chain = { id, sourceId: source.id, source: source.name, targetId: target.id, target: target.name, changed, busy: 'backup', active: null, since: null, inflight: new Map() };
        this.chains.set(id, chain);
        created = true;
      }
      const c = chain;
      const gens = this.goodRows(c.id);
      const prev = gens[gens.length - 1];
      const kind: 'full' | 'incremental' = opts.incremental && prev ? 'incremental' : 'full';
      const now = Date.now();
      rowId = Number(
        this.db()
          .prepare(`INSERT INTO backups(chain_id, source, target, kind, state, label, info, point_in_time, started, size, track_size, checksum_alg, keep) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(c.id, source.name, target.name, kind, opts.label ?? null, JSON.stringify(opts.info ?? {}), now, now, source.size, source.trackSize, CHECKSUM_ALG, opts.keep ?? null).lastInsertRowid,
      );
      c.busy = `backup ${formatBackupId(rowId)}`;
      // everything that needs waiting for is prepared before the point in time
      const tracks = source.tracks;
      let sums = kind === 'incremental' ? await TrackSums.load(this.file(`chain-${c.id}.sums`), tracks, source.trackSize) : null;
      const incremental = kind === 'incremental' && sums !== null;
      sums ??= new TrackSums(tracks, source.trackSize);
      const undo = prev ? await UndoFile.open(this.file(`${formatBackupId(prev.id)}.undo`), source.trackSize, { create: true, durable: this.array.durability === 'fsync' }) : null;
      // ---- the point in time: taken under the array's write lock, so every write either landed
      // before it or runs its hook (copy-on-write) after it ----
      const todo = new TrackBitmap(tracks);
      let copy!: ActiveCopy;
      await this.array.locked(async () => {
        if (incremental) todo.or(c.changed);
        else {
          for (const [a, b] of source.alloc.runs()) if (a < tracks) todo.setRange(a, Math.min(b, tracks - 1));
          for (const [a, b] of target.alloc.runs()) if (a < tracks) todo.setRange(a, Math.min(b, tracks - 1));
        }
        copy = new ActiveCopy({
          source,
          target,
          tracks,
          todo,
          undo,
          sums,
          durable: this.array.durability === 'fsync',
          rate: opts.rate,
          // straight into the image: copy-on-write runs inside a host write's hook, under the array's
          // write lock, and a backup volume has no other feature's hooks to run (no pair, no host)
          writeTarget: (off, data) => target.write(off, data),
          chunkBytes: CHUNK,
          depth: DEPTH,
        });
        for (const [a, b] of c.inflight.values()) copy.writtenSince.setRange(a, Math.min(b, tracks - 1));
        c.active = copy;
        c.since = copy.writtenSince;
      });
      const pointInTime = Date.now();
      const replica = this.array
        .usesOf(source)
        .filter((u) => u.kind === 'pair')
        .map((u) => ({ pair: u.id, role: u.role ?? null, state: u.state ?? null, ...(u.detail ?? {}) }));
      this.db().prepare('UPDATE backups SET point_in_time = ?, kind = ?, replica = ? WHERE id = ?').run(pointInTime, incremental ? 'incremental' : 'full', replica.length ? JSON.stringify(replica.length === 1 ? replica[0] : { pairs: replica }) : null, rowId);
      // ---- copying ----
      let stats;
      try {
        await target.alloc.setAndPersist(bitsOf(todo));
        stats = await copy.run(onProgress);
      } finally {
        c.active = null;
      }
      // ---- completion: data, then digests, then the catalogue, then the change bitmap ----
      await this.array.commit();
      await sums.save(this.file(`chain-${c.id}.sums`), this.array.durability === 'fsync');
      const checksum = sums.root();
      const finished = Date.now();
      this.array.store.tx(() => {
        const g = this.db().prepare('SELECT last FROM backup_generations WHERE source_id = ?').get(source.id) as { last: number } | undefined;
        const generation = (g?.last ?? 0) + 1;
        this.db().prepare('INSERT INTO backup_generations(source_id, last) VALUES (?, ?) ON CONFLICT(source_id) DO UPDATE SET last = excluded.last').run(source.id, generation);
        this.db()
          .prepare(`UPDATE backups SET state = 'good', generation = ?, finished = ?, tracks_copied = ?, bytes_copied = ?, tracks_unchanged = ?, cow_tracks = ?, seconds = ?, checksum = ? WHERE id = ?`)
          .run(generation, finished, stats.tracksCopied, stats.bytesCopied, stats.tracksUnchanged, stats.cowTracks, (finished - pointInTime) / 1000, checksum, rowId);
      });
      for (let t = c.changed.nextSet(0); t >= 0; t = c.changed.nextSet(t + 1)) if (t >= tracks || !copy.writtenSince.get(t)) c.changed.clear(t);
      await c.changed.flush();
      await undo?.close();
      if (opts.keep !== undefined) {
        const good = this.goodRows(c.id);
        for (const old of good.slice(0, Math.max(0, good.length - opts.keep))) await this.dropGeneration(c, old);
      }
      this.log(`backup ${formatBackupId(rowId)}: ${source.name} -> ${target.name} ${incremental ? 'incremental' : 'full'}, ${stats.bytesCopied} bytes`);
      return this.record(this.row(rowId));
    } catch (e) {
      if (rowId) {
        const msg = e instanceof Error ? e.message : String(e);
        this.db().prepare(`UPDATE backups SET state = 'failed', error = ?, finished = ? WHERE id = ?`).run(msg, Date.now(), rowId);
        this.log(`backup ${formatBackupId(rowId)} failed: ${msg}`);
      }
      if (created && chain && this.goodRows(chain.id).length === 0) await this.dropChain(chain);
      throw e;
    } finally {
      if (chain) {
        chain.busy = null;
        chain.since = null;
        chain.active = null;
      }
    }
  }

  // ---- reading a generation back ------------------------------------------------------------

  private async openReader(r: Row, c: Chain): Promise<{ reader: ImageReader; close: () => Promise<void>; latest: boolean }> {
    const target = this.array.volumes.get(c.target);
    if (!target || target.id !== c.targetId) throw E.integrity(`the backup volume ${this.array.name}:${c.target} of ${formatBackupId(r.id)} is gone`);
    const newer = this.goodRows(c.id).filter((g) => g.id >= r.id);
    const overlays: UndoFile[] = [];
    try {
      for (const g of newer) {
        const f = this.file(`${formatBackupId(g.id)}.undo`);
        if (fs.existsSync(f)) overlays.push(await UndoFile.open(f, r.track_size));
      }
    } catch (e) {
      for (const o of overlays) await o.close();
      throw e;
    }
    const tracks = Math.ceil(r.size / r.track_size);
    return { reader: new ImageReader(target, overlays, tracks), close: async () => { for (const o of overlays) await o.close(); }, latest: newer.length === 1 };
  }

  private usable(r: Row): void {
    if (r.state !== 'good') throw E.state(`backup ${this.array.name}:${formatBackupId(r.id)} is ${r.state}${r.error ? ` (${r.error})` : ''}; it cannot be used`, `use a good backup (rcopy backup list ${this.array.name})`);
  }

  verify(n: number, onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
    return this.track(this.doVerify(n, onProgress));
  }

  private async doVerify(n: number, onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
    const r = this.row(n);
    this.usable(r);
    const c = this.chainOf(r);
    this.lock(c, `verify ${formatBackupId(n)}`);
    const t0 = performance.now();
    try {
      const { reader, close, latest } = await this.openReader(r, c);
      try {
        const sums = new TrackSums(reader.tracks, r.track_size);
        const ts = r.track_size;
        let done = 0;
        await forChunks(reader.tracks, Math.max(1, CHUNK / ts), DEPTH, async (first, k) => {
          const buf = await reader.read(first, k);
          if (buf) for (let i = 0; i < k; i++) sums.set(first + i, trackHash(buf.subarray(i * ts, (i + 1) * ts)));
          done += k * ts;
          onProgress?.(done, r.size);
        });
        const actual = sums.root();
        let badOffsets: number[] = [];
        if (actual !== r.checksum && latest) {
          const recorded = await TrackSums.load(this.file(`chain-${c.id}.sums`), reader.tracks, ts);
          if (recorded && recorded.root() === r.checksum) badOffsets = sums.differing(recorded).map((t) => t * ts);
        }
        return { id: `${this.array.name}:${formatBackupId(n)}`, ok: actual === r.checksum, expected: r.checksum ?? '', actual, checksumAlgorithm: r.checksum_alg, bytes: r.size, seconds: round3((performance.now() - t0) / 1000), badOffsets };
      } finally {
        await close();
      }
    } finally {
      c.busy = null;
    }
  }

  // ---- restore -------------------------------------------------------------------------------

  /** Checks a restore destination without changing anything; returns the destination's name. */
  checkRestore(n: number, to?: string): { dest: string; size: number } {
    const r = this.row(n);
    this.usable(r);
    const c = this.chainOf(r);
    let destName = to;
    if (destName === undefined) {
      const src = this.volById(c.sourceId);
      if (!src) throw E.state(`the source volume ${this.array.name}:${r.source} of ${formatBackupId(n)} no longer exists`, `restore into another volume: rcopy backup restore ${this.array.name}:${formatBackupId(n)} --to ${this.array.name}:VOLUME`);
      destName = src.name;
    }
    const dest = this.array.volume(destName);
    if (dest.size < r.size) {
      throw new RcopyError('ERR_RCOPY_RESTORE_TARGET_TOO_SMALL', `volume ${this.array.name}:${dest.name} (${dest.size} bytes) is smaller than the backup image (${r.size} bytes)`, { kind: 'usage', hint: 'restore into a volume at least as large as the source was' });
    }
    const uses = this.array.usesOf(dest).filter((u) => u.active);
    const pair = uses.find((u) => u.kind === 'pair');
    if (pair) {
      throw new RcopyError('ERR_RCOPY_VOLUME_IN_USE', `volume ${this.array.name}:${dest.name} is the ${pair.role ?? 'volume'} of pair ${pair.id}${pair.state ? ` (${pair.state})` : ''}; a restore would bypass replication`, {
        kind: 'failed',
        hint: `split or delete pair ${pair.id} first, or restore into another volume with --to`,
      });
    }
    const other = uses.find((u) => u.kind !== 'backup-source');
    if (other) throw new RcopyError('ERR_RCOPY_VOLUME_IN_USE', `volume ${this.array.name}:${dest.name} is in use by ${other.kind} ${other.id}; it cannot be restored into`, { kind: 'failed', hint: 'restore into another volume with --to' });
    return { dest: dest.name, size: r.size };
  }

  restore(n: number, to?: string, onProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
    return this.track(this.doRestore(n, to, onProgress));
  }

  private async doRestore(n: number, to: string | undefined, onProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
    const { dest: destName } = this.checkRestore(n, to);
    const r = this.row(n);
    const c = this.chainOf(r);
    const dest = this.array.volume(destName);
    this.lock(c, `restore ${formatBackupId(n)}`);
    const t0 = performance.now();
    try {
      const { reader, close } = await this.openReader(r, c);
      try {
        const ts = r.track_size;
        const tracks = reader.tracks;
        const sums = new TrackSums(tracks, ts);
        const toWrite: number[] = [];
        for (let t = 0; t < tracks; t++) if (!dest.isAllocated(t) && reader.hasData(t)) toWrite.push(t);
        await dest.alloc.setAndPersist(toWrite);
        let written = 0;
        let done = 0;
        await forChunks(tracks, Math.max(1, CHUNK / ts), DEPTH, async (first, k) => {
          let buf = await reader.read(first, k);
          let destHas = false;
          for (let t = first; t < first + k && !destHas; t++) destHas = dest.isAllocated(t);
          if (buf || destHas) {
            buf ??= Buffer.alloc(k * ts);
            for (let i = 0; i < k; i++) sums.set(first + i, trackHash(buf.subarray(i * ts, (i + 1) * ts)));
            await this.array.write(dest, first * ts, buf, 'backup-restore', { sync: false });
            written += buf.length;
          }
          done += k * ts;
          onProgress?.(done, r.size);
        });
        await this.array.commit();
        const checksum = sums.root();
        this.log(`restore ${formatBackupId(n)} -> ${dest.name}: ${written} bytes`);
        return { id: `${this.array.name}:${formatBackupId(n)}`, to: `${this.array.name}:${dest.name}`, bytes: r.size, bytesWritten: written, seconds: round3((performance.now() - t0) / 1000), checksum, matches: checksum === r.checksum };
      } finally {
        await close();
      }
    } finally {
      c.busy = null;
    }
  }

  // ---- delete and rotation -------------------------------------------------------------------

  async remove(n: number): Promise<{ deleted: string; freedVolume: string | null }> {
    const r = this.row(n);
    const c = this.chains.get(r.chain_id);
    if (r.state === 'running') throw E.state(`backup ${formatBackupId(n)} is running`, 'wait for it to finish');
    if (!c) {
      this.db().prepare('DELETE FROM backups WHERE id = ?').run(n);
      return { deleted: `${this.array.name}:${formatBackupId(n)}`, freedVolume: null };
    }
    this.lock(c, `delete ${formatBackupId(n)}`);
    try {
      if (r.state === 'good') await this.dropGeneration(c, r);
      else this.db().prepare('DELETE FROM backups WHERE id = ?').run(n);
      let freed: string | null = null;
      if (this.goodRows(c.id).length === 0) {
        await this.dropChain(c);
        freed = `${this.array.name}:${c.target}`;
      }
      return { deleted: `${this.array.name}:${formatBackupId(n)}`, freedVolume: freed };
    } finally {
      c.busy = null;
    }
  }

  /** Removes one good generation; its undo records go to the next older generation. */
  private async dropGeneration(c: Chain, r: Row): Promise<void> {
    const good = this.goodRows(c.id);
    const i = good.findIndex((g) => g.id === r.id);
    const older = i > 0 ? good[i - 1] : undefined;
    const mine = this.file(`${formatBackupId(r.id)}.undo`);
    if (older && fs.existsSync(mine)) {
      const from = await UndoFile.open(mine, r.track_size);
      const into = await UndoFile.open(this.file(`${formatBackupId(older.id)}.undo`), r.track_size, { create: true });
      try {
        const buf = Buffer.allocUnsafe(r.track_size);
        for (const t of [...from.tracks()].sort((a, b) => a - b)) if (!into.has(t)) await into.save(t, await from.read(t, buf));
        await into.sync();
      } finally {
        await from.close();
        await into.close();
      }
    }
    this.db().prepare('DELETE FROM backups WHERE id = ?').run(r.id);
    rmQuiet(mine);
  }

  /** Forgets a chain with no good generation left: its target becomes an ordinary volume again. */
  private async dropChain(c: Chain): Promise<void> {
    // failed backups of the chain stay listed (as failed) until deleted
    this.db().prepare('DELETE FROM backup_chains WHERE id = ?').run(c.id);
    this.chains.delete(c.id);
    await c.changed.close().catch(() => undefined);
    rmQuiet(this.file(`chain-${c.id}.changed`));
    rmQuiet(this.file(`chain-${c.id}.sums`));
  }
}

function* bitsOf(bm: TrackBitmap): Generator<number> {
  for (const [a, b] of bm.runs()) for (let t = a; t <= b; t++) yield t;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

