/**
 * The backup chains of one array (a source backed up into one backup volume) and the write hook
 * that keeps their backups exact. For every write to a source, before it lands: the chain's change
 * bit of each track it touches is set durably (what the next incremental copies), the tracks are
 * marked written since the running backup's point in time, and a running backup first copies the
 * tracks it still has to copy (copy-on-write, copy.ts). Hosts may not write to a backup volume.
 */
import { E } from '../../errors.js';
import type { StorageArray, VolumeUse } from '../array/array.js';
import type { Volume } from '../array/volume.js';
import type { TrackBitmap } from '../repl/track-bitmap.js';
import type { Row } from './catalogue.js';
import type { ActiveCopy } from './copy.js';
import { formatBackupId } from './id.js';

export interface Chain {
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

/** The chains by id. */
export class BackupChains extends Map<number, Chain> {
  private token = 0;

  constructor(
    private readonly array: StorageArray,
    private readonly goodRows: (chainId: number) => Row[],
  ) {
    super();
  }

  /** The write hook (StorageArray.writeHooks). */
  onWrite(vol: Volume, offset: number, length: number, origin: string): void | Promise<() => Promise<void>> {
    if (this.size === 0 || length === 0) return;
    let sources: Chain[] | null = null;
    for (const c of this.values()) {
      if (c.targetId === vol.id && origin === 'host') {
        throw E.state(
          `volume '${this.array.name}:${vol.name}' is a backup volume (of ${c.source}); hosts cannot write to it`,
          `restore a backup to another volume, or delete the backups of ${this.array.name}:${c.source} into it first`,
        );
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

  /** Who uses `vol`: as the backup volume of a chain, or as its source (StorageArray.usageProviders). */
  usesOf(vol: Volume): VolumeUse[] {
    const out: VolumeUse[] = [];
    for (const c of this.values()) {
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
}
