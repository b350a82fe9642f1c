/**
 * The steps of taking a backup (BackupManager.create runs them with the chain locked): refuse what
 * cannot be done; load what the backup updates; take the point in time under the array's write
 * lock (from then on every write to the source runs copy-on-write first); and once the copy has
 * run, complete it in an order that a crash at any step leaves safe: the data is durable before
 * the track digests are saved, both before the catalogue says 'good', and the change bits are
 * cleared only after that (a failed backup leaves them set, so nothing is lost for the next one).
 */
import { E } from '../../errors.js';
import type { StorageArray } from '../array/array.js';
import type { Volume } from '../array/volume.js';
import { TrackBitmap } from '../repl/track-bitmap.js';
import type { BackupCatalogue, CopyCounts, Row } from './catalogue.js';
import type { Chain } from './chains.js';
import { ActiveCopy } from './copy.js';
import { formatBackupId } from './id.js';
import { TrackSums } from './image.js';
import { CHUNK, DEPTH } from './readback.js';
import { UndoFile } from './undo.js';

export interface CreateBackupOptions {
  source: string;
  target: string;
  label?: string;
  info?: Record<string, string>;
  incremental?: boolean;
  keep?: number;
  /** bytes per second to stay under */
  rate?: number;
  /** The source when it is not a volume of the array (a drill's view: engine/drill/view-source.ts). */
  sourceVolume?: Volume;
  /** Why the backup should stop now (its command was interrupted), or null: a stopped backup leaves nothing in the catalogue. */
  stopped?: () => string | null;
}

/** What a backup being created uses: its kind, the digests it updates, the undo file it fills. */
export interface Preparation {
  incremental: boolean;
  sums: TrackSums;
  undo: UndoFile | null;
}

/** What the steps use of their BackupManager. */
export interface CreationContext {
  array: StorageArray;
  catalogue: BackupCatalogue;
  /** A file of the array's backups directory. */
  file(name: string): string;
}

/** Refuses a backup of `source` into `target` that cannot be taken; the chain of the two, if any. */
export function checkCreate(array: StorageArray, chains: Iterable<Chain>, source: Volume, target: Volume, opts: CreateBackupOptions): Chain | undefined {
  const where = (v: Volume): string => `${array.name}:${v.name}`;
  if (source === target) throw E.badInput(`the source and the backup volume are the same volume (${where(source)})`, 'back up into another volume of the same array');
  if (target.size < source.size) {
    throw E.backupTargetTooSmall(
      `backup volume ${where(target)} (${target.size} bytes) is smaller than the source ${where(source)} (${source.size} bytes)`,
      `create a volume of at least ${source.size} bytes: rcopy volume create ${array.name}:NAME --size ${source.size}`,
    );
  }
  const chain = [...chains].find((c) => c.targetId === target.id);
  if (chain && chain.sourceId !== source.id) {
    throw E.state(
      `volume ${where(target)} holds the backups of ${array.name}:${chain.source}`,
      `choose another backup volume, or delete those backups first (rcopy backup list ${array.name} --source ${chain.source})`,
    );
  }
  const busy = array.usesOf(target).filter((u) => u.active && !(u.kind === 'backup-target' && chain));
  if (busy.length) {
    const u = busy[0]!;
    throw E.volumeInUse(
      `volume ${where(target)} is in use by ${u.kind} ${u.id}${u.role ? ` as ${u.role}` : ''}${u.state ? ` (${u.state})` : ''}; it cannot be a backup volume`,
      u.kind === 'pair' ? `choose a volume that is in no pair, or delete the pair ${u.id} first` : 'choose another volume',
    );
  }
  if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 1)) throw E.badInput(`invalid keep count '${opts.keep}'`, 'keep at least 1 generation');
  return chain;
}

/** Loads what a backup updates: the chain's track digests (an incremental without them is
 *  taken full) and the undo file of the previous generation, which the copy fills. */
export async function prepareBackup(ctx: CreationContext, c: Chain, source: Volume, kind: 'full' | 'incremental', prev: Row | undefined): Promise<Preparation> {
  const tracks = source.tracks;
  let sums = kind === 'incremental' ? await TrackSums.load(ctx.file(`chain-${c.id}.sums`), tracks, source.trackSize) : null;
  const incremental = kind === 'incremental' && sums !== null;
  sums ??= new TrackSums(tracks, source.trackSize);
  const undo = prev ? await UndoFile.open(ctx.file(`${formatBackupId(prev.id)}.undo`), source.trackSize, { create: true, durable: ctx.array.durability === 'fsync' }) : null;
  return { incremental, sums, undo };
}

/**
 * The point in time: taken under the array's write lock, so every write either landed before it
 * or runs its hook (copy-on-write) after it. Fixes the tracks to copy and makes the copy active.
 */
export async function takePointInTime(array: StorageArray, c: Chain, source: Volume, target: Volume, prep: Preparation, rate: number | undefined): Promise<{ copy: ActiveCopy; todo: TrackBitmap }> {
  const tracks = source.tracks;
  const todo = new TrackBitmap(tracks);
  let copy!: ActiveCopy;
  await array.locked(async () => {
    if (prep.incremental) todo.or(c.changed);
    else {
      for (const [a, b] of source.alloc.runs()) if (a < tracks) todo.setRange(a, Math.min(b, tracks - 1));
      for (const [a, b] of target.alloc.runs()) if (a < tracks) todo.setRange(a, Math.min(b, tracks - 1));
    }
    copy = new ActiveCopy({
      source,
      target,
      tracks,
      todo,
      undo: prep.undo,
      sums: prep.sums,
      durable: array.durability === 'fsync',
      rate,
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
  return { copy, todo };
}

/**
 * Completion, in this order: data, then digests, then the catalogue, then the change bitmap. The
 * bits cleared need not be durable for any backup to be right (a crash before they are leaves them
 * set: the next incremental reads those tracks again and finds them unchanged), so the command does
 * not wait for their fsync: `cleared` resolves once it is done (stop() and close() wait for it).
 */
export async function completeBackup(
  ctx: CreationContext,
  c: Chain,
  source: Volume,
  rowId: number,
  prep: Preparation,
  copy: ActiveCopy,
  done: { counts: CopyCounts; pointInTime: number },
): Promise<{ cleared: Promise<void> }> {
  const tracks = source.tracks;
  await ctx.array.commit();
  await prep.sums.save(ctx.file(`chain-${c.id}.sums`), ctx.array.durability === 'fsync');
  const checksum = prep.sums.root();
  ctx.catalogue.markGood(rowId, source.id, { finished: Date.now(), pointInTime: done.pointInTime, checksum, counts: done.counts });
  for (let t = c.changed.nextSet(0); t >= 0; t = c.changed.nextSet(t + 1)) if (t >= tracks || !copy.writtenSince.get(t)) c.changed.clear(t);
  await prep.undo?.close();
  return { cleared: c.changed.flush() };
}
