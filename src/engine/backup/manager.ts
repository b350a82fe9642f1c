/**
 * Backups with management information (DESIGN.md §2.5): the BackupManager runs the backup commands
 * of one array (create, verify, restore, delete) and the write hook that keeps backups exact; the
 * catalogue (catalogue.ts) records what each backup is.
 *
 * A backup copies a source volume into a backup volume (the "target") of the same array, as of the
 * moment the command was accepted, and records in the management store (mgmt.db), apart from the
 * backup volume, what that backup is: id, source, target, times, label, the host's key=value details,
 * generation, bytes copied, checksum, and for an S-VOL the pair and sequence number it corresponds to.
 *
 * Generations. A source backed up into a target forms a chain. The target always holds the newest
 * image of the chain. Older generations stay restorable through copy-on-write data kept by the array:
 * before a backup overwrites a track of the target, the old content (the previous generation's) is
 * saved in that generation's undo file, backups/bk-NNNNNN.undo (see undo.ts). Generation k is
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
 * it would overwrite that are not yet copied (copy.ts). A backup that did not finish (error,
 * controller stop or crash) is marked failed and is never listed as good.
 *
 * Files are named relative to the array directory, so a moved array keeps its backups.
 *
 * long: the backup commands share the manager's locks and chains; their steps live in the files named above.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import type { StorageArray } from '../array/array.js';
import type { Volume } from '../array/volume.js';
import { mkdirMode } from '../array/home.js';
import { TrackBitmap } from '../repl/track-bitmap.js';
import { BackupChains, type Chain } from './chains.js';
import { BackupCatalogue, type BackupRecord, type CopyCounts, type Row } from './catalogue.js';
import { type CreateBackupOptions, type CreationContext, checkCreate, completeBackup, prepareBackup, takePointInTime } from './create.js';
import { formatBackupId } from './id.js';
import { CHECKSUM_ALG, ImageReader, TrackSums, rmQuiet } from './image.js';
import { hashImage, restoreImage } from './readback.js';
import { UndoFile } from './undo.js';

export { formatBackupId, parseBackupId } from './id.js';
export type { BackupRecord, BackupState } from './catalogue.js';
export type { CreateBackupOptions } from './create.js';

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

export const BACKUP_DIR = 'backups';

type Progress = (done: number, total: number) => void;

export class BackupManager {
  private readonly chains: BackupChains;
  private readonly catalogue: BackupCatalogue;
  /** What the steps of a backup use (create.ts). */
  private readonly ctx: CreationContext;
  private stopping = false;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    readonly array: StorageArray,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    this.catalogue = new BackupCatalogue(array.store, array.name);
    this.chains = new BackupChains(array, (id) => this.catalogue.goodRows(id));
    this.ctx = { array, catalogue: this.catalogue, file: (name) => this.file(name) };
  }

  private get dir(): string {
    return path.join(this.array.dir, BACKUP_DIR);
  }
  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Loads the catalogue, marks interrupted backups failed, installs the write hook and usage reports. */
  async start(): Promise<void> {
    this.catalogue.open();
    mkdirMode(this.dir);
    const interrupted = this.catalogue.markInterrupted();
    if (interrupted) this.log(`backup: ${interrupted} interrupted backup(s) marked failed`);
    for (const f of fs.readdirSync(this.dir)) if (f.includes('.tmp-')) rmQuiet(this.file(f));
    for (const r of this.catalogue.chains()) {
      const src = this.volById(r.source_id);
      // a chain whose source was deleted keeps its backups but tracks nothing
      const changed = src ? await TrackBitmap.openFile(this.file(`chain-${r.id}.changed`), src.tracks) : new TrackBitmap(0);
      this.chains.set(r.id, { id: r.id, sourceId: r.source_id, source: r.source, targetId: r.target_id, target: r.target, changed, busy: null, active: null, since: null, inflight: new Map() });
    }
    // a chain left without a good generation (its first backup was interrupted) frees its volume
    for (const c of [...this.chains.values()]) if (this.catalogue.goodRows(c.id).length === 0) await this.dropChain(c);
    this.array.writeHooks.push((vol, offset, data, origin) => this.chains.onWrite(vol, offset, data.length, origin));
    this.array.usageProviders.push((vol) => this.chains.usesOf(vol));
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

  // ---- catalogue -----------------------------------------------------------------------------

  list(source?: string): BackupRecord[] {
    return this.catalogue.list(source);
  }

  show(n: number): BackupRecord & { generationsInChain: number; undoTracks: number } {
    const r = this.catalogue.row(n);
    let undoTracks = 0;
    try {
      undoTracks = Math.floor(Math.max(0, fs.statSync(this.file(`${formatBackupId(n)}.undo`)).size - 64) / (r.track_size + 16));
    } catch {
      undoTracks = 0;
    }
    return { ...this.catalogue.record(r), generationsInChain: this.catalogue.goodRows(r.chain_id).length, undoTracks };
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

  create(opts: CreateBackupOptions, onProgress?: Progress): Promise<BackupRecord> {
    return this.track(this.doCreate(opts, onProgress));
  }

  private async doCreate(opts: CreateBackupOptions, onProgress?: Progress): Promise<BackupRecord> {
    if (this.stopping) throw E.state('the controller is stopping', 'try again once it has restarted');
    const source = opts.sourceVolume ?? this.array.volume(opts.source);
    const target = this.array.volume(opts.target);
    let chain = checkCreate(this.array, this.chains.values(), source, target, opts);
    if (chain) this.lock(chain, 'backup');
    let created = false;
    let rowId = 0;
    try {
      if (!chain) {
        chain = await this.newChain(source, target);
        created = true;
      }
      const c = chain;
      const gens = this.catalogue.goodRows(c.id);
      const prev = gens[gens.length - 1];
      const kind: 'full' | 'incremental' = opts.incremental && prev ? 'incremental' : 'full';
      rowId = this.catalogue.addRunning({
        chainId: c.id,
        source: source.name,
        target: target.name,
        kind,
        label: opts.label ?? null,
        info: opts.info ?? {},
        size: source.size,
        trackSize: source.trackSize,
        checksumAlg: CHECKSUM_ALG,
        keep: opts.keep ?? null,
      });
      c.busy = `backup ${formatBackupId(rowId)}`;
      // everything that needs waiting for is prepared before the point in time
      const prep = await prepareBackup(this.ctx, c, source, kind, prev);
      const { copy, todo } = await takePointInTime(this.array, c, source, target, prep, opts.rate);
      const pointInTime = Date.now();
      const replica = this.array
        .usesOf(source)
        .filter((u) => u.kind === 'pair')
        .map((u) => ({ pair: u.id, role: u.role ?? null, state: u.state ?? null, ...(u.detail ?? {}) }));
      this.catalogue.setPointInTime(rowId, pointInTime, prep.incremental ? 'incremental' : 'full', replica);
      // ---- copying ----
      let stats: CopyCounts;
      const unwatch = watchStop(opts.stopped, (why) => copy.abort(E.aborted(`backup cancelled: ${why}`)));
      try {
        await target.alloc.setAndPersist(bitsOf(todo));
        stats = await copy.run(onProgress);
      } finally {
        unwatch();
        c.active = null;
      }
      const { cleared } = await completeBackup(this.ctx, c, source, rowId, prep, copy, { counts: stats, pointInTime });
      // a failed write leaves the bits set on disk (the next flush writes them again): only said
      this.track(cleared).catch((e: Error) => this.log(`backup ${formatBackupId(rowId)}: writing its cleared change bits failed: ${e.message}`));
      if (opts.keep !== undefined) {
        const good = this.catalogue.goodRows(c.id);
        for (const old of good.slice(0, Math.max(0, good.length - opts.keep))) await this.dropGeneration(c, old);
      }
      this.log(`backup ${formatBackupId(rowId)}: ${source.name} -> ${target.name} ${prep.incremental ? 'incremental' : 'full'}, ${stats.bytesCopied} bytes`);
      return this.catalogue.record(this.catalogue.row(rowId));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // cancelled by its command: not in the catalogue at all (a failure stays listed as failed)
      if (rowId && opts.stopped?.()) this.catalogue.deleteBackup(rowId);
      else if (rowId) this.catalogue.markFailed(rowId, msg);
      if (rowId) this.log(`backup ${formatBackupId(rowId)} ${opts.stopped?.() ? 'cancelled' : 'failed'}: ${msg}`);
      if (created && chain && this.catalogue.goodRows(chain.id).length === 0) await this.dropChain(chain);
      throw e;
    } finally {
      if (chain) {
        chain.busy = null;
        chain.since = null;
        chain.active = null;
      }
    }
  }

  /** A new chain of `source` into `target`: its change bitmap starts all clear; its first backup is full. */
  private async newChain(source: Volume, target: Volume): Promise<Chain> {
    const id = this.catalogue.addChain(source, target);
    rmQuiet(this.file(`chain-${id}.changed`));
    rmQuiet(this.file(`chain-${id}.sums`));
    const changed = await TrackBitmap.openFile(this.file(`chain-${id}.changed`), source.tracks);
    const chain: Chain = { id, sourceId: source.id, source: source.name, targetId: target.id, target: target.name, changed, busy: 'backup', active: null, since: null, inflight: new Map() };
    this.chains.set(id, chain);
    return chain;
  }

  // ---- reading a generation back ------------------------------------------------------------

  private async openReader(r: Row, c: Chain): Promise<{ reader: ImageReader; close: () => Promise<void>; latest: boolean }> {
    const target = this.array.volumes.get(c.target);
    if (!target || target.id !== c.targetId) throw E.integrity(`the backup volume ${this.array.name}:${c.target} of ${formatBackupId(r.id)} is gone`);
    const newer = this.catalogue.goodRows(c.id).filter((g) => g.id >= r.id);
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
    return {
      reader: new ImageReader(target, overlays, tracks),
      close: async () => {
        for (const o of overlays) await o.close();
      },
      latest: newer.length === 1,
    };
  }

  private usable(r: Row): void {
    if (r.state !== 'good')
      throw E.state(`backup ${this.array.name}:${formatBackupId(r.id)} is ${r.state}${r.error ? ` (${r.error})` : ''}; it cannot be used`, `use a good backup (rcopy backup list ${this.array.name})`);
  }

  verify(n: number, onProgress?: Progress): Promise<VerifyResult> {
    return this.track(this.doVerify(n, onProgress));
  }

  private async doVerify(n: number, onProgress?: Progress): Promise<VerifyResult> {
    const r = this.catalogue.row(n);
    this.usable(r);
    const c = this.chainOf(r);
    this.lock(c, `verify ${formatBackupId(n)}`);
    const t0 = performance.now();
    try {
      const { reader, close, latest } = await this.openReader(r, c);
      try {
        const ts = r.track_size;
        const sums = await hashImage(reader, ts, r.size, onProgress);
        const actual = sums.root();
        let badOffsets: number[] = [];
        if (actual !== r.checksum && latest) {
          const recorded = await TrackSums.load(this.file(`chain-${c.id}.sums`), reader.tracks, ts);
          if (recorded && recorded.root() === r.checksum) badOffsets = sums.differing(recorded).map((t) => t * ts);
        }
        this.catalogue.recordVerify(n, actual === r.checksum);
        return {
          id: `${this.array.name}:${formatBackupId(n)}`,
          ok: actual === r.checksum,
          expected: r.checksum ?? '',
          actual,
          checksumAlgorithm: r.checksum_alg,
          bytes: r.size,
          seconds: round3((performance.now() - t0) / 1000),
          badOffsets,
        };
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
    const r = this.catalogue.row(n);
    this.usable(r);
    const c = this.chainOf(r);
    let destName = to;
    if (destName === undefined) {
      const src = this.volById(c.sourceId);
      if (!src)
        throw E.state(
          `the source volume ${this.array.name}:${r.source} of ${formatBackupId(n)} no longer exists`,
          `restore into another volume: rcopy backup restore ${this.array.name}:${formatBackupId(n)} --to ${this.array.name}:VOLUME`,
        );
      destName = src.name;
    }
    const dest = this.array.volume(destName);
    if (dest.size < r.size) {
      throw E.restoreTargetTooSmall(
        `volume ${this.array.name}:${dest.name} (${dest.size} bytes) is smaller than the backup image (${r.size} bytes)`,
        'restore into a volume at least as large as the source was',
      );
    }
    const uses = this.array.usesOf(dest).filter((u) => u.active);
    const pair = uses.find((u) => u.kind === 'pair');
    if (pair) {
      throw E.volumeInUse(
        `volume ${this.array.name}:${dest.name} is the ${pair.role ?? 'volume'} of pair ${pair.id}${pair.state ? ` (${pair.state})` : ''}; a restore would bypass replication`,
        `split or delete pair ${pair.id} first, or restore into another volume with --to`,
      );
    }
    const other = uses.find((u) => u.kind !== 'backup-source');
    if (other) throw E.volumeInUse(`volume ${this.array.name}:${dest.name} is in use by ${other.kind} ${other.id}; it cannot be restored into`, 'restore into another volume with --to');
    return { dest: dest.name, size: r.size };
  }

  restore(n: number, to?: string, onProgress?: Progress): Promise<RestoreResult> {
    return this.track(this.doRestore(n, to, onProgress));
  }

  private async doRestore(n: number, to: string | undefined, onProgress?: Progress): Promise<RestoreResult> {
    const { dest: destName } = this.checkRestore(n, to);
    const r = this.catalogue.row(n);
    const c = this.chainOf(r);
    const dest = this.array.volume(destName);
    this.lock(c, `restore ${formatBackupId(n)}`);
    const t0 = performance.now();
    try {
      const { reader, close } = await this.openReader(r, c);
      try {
        const { sums, written } = await restoreImage(reader, dest, r.track_size, r.size, (off, buf) => this.array.write(dest, off, buf, 'backup-restore', { sync: false }), onProgress);
        await this.array.commit();
        const checksum = sums.root();
        this.log(`restore ${formatBackupId(n)} -> ${dest.name}: ${written} bytes`);
        return {
          id: `${this.array.name}:${formatBackupId(n)}`,
          to: `${this.array.name}:${dest.name}`,
          bytes: r.size,
          bytesWritten: written,
          seconds: round3((performance.now() - t0) / 1000),
          checksum,
          matches: checksum === r.checksum,
        };
      } finally {
        await close();
      }
    } finally {
      c.busy = null;
    }
  }

  // ---- delete and rotation -------------------------------------------------------------------

  async remove(n: number): Promise<{ deleted: string; freedVolume: string | null }> {
    const r = this.catalogue.row(n);
    const c = this.chains.get(r.chain_id);
    if (r.state === 'running') throw E.state(`backup ${formatBackupId(n)} is running`, 'wait for it to finish');
    if (!c) {
      this.catalogue.deleteBackup(n);
      return { deleted: `${this.array.name}:${formatBackupId(n)}`, freedVolume: null };
    }
    this.lock(c, `delete ${formatBackupId(n)}`);
    try {
      if (r.state === 'good') await this.dropGeneration(c, r);
      else this.catalogue.deleteBackup(n);
      let freed: string | null = null;
      if (this.catalogue.goodRows(c.id).length === 0) {
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
    const good = this.catalogue.goodRows(c.id);
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
    this.catalogue.deleteBackup(r.id);
    rmQuiet(mine);
  }

  /** Forgets a chain with no good generation left: its target becomes an ordinary volume again. */
  private async dropChain(c: Chain): Promise<void> {
    // failed backups of the chain stay listed (as failed) until deleted
    this.catalogue.deleteChain(c.id);
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

/** Polls `stopped` (every 50 ms) and calls `stop` once with its reason; returns the function that ends the watch. */
function watchStop(stopped: (() => string | null) | undefined, stop: (why: string) => void): () => void {
  if (!stopped) return () => undefined;
  const t = setInterval(() => {
    const why = stopped();
    if (why === null) return;
    clearInterval(t);
    stop(why);
  }, 50);
  return () => clearInterval(t);
}
