/**
 * A drill's view as the source of a backup (`backup create B:SVOL@DRILL --to B:BK`): the parts of a
 * Volume that a backup's copy reads. Every track counts as allocated (a view has no allocation map);
 * `id` is the backup chain's key: negative, so that it is no volume's and no write hook of a
 * volume (copy-on-write, change bits) ever finds the chain: the view changes only by its own
 * writes, which the backup holds off while it copies (VolumeView.hold).
 */
import type { Volume } from '../array/volume.js';
import type { VolumeView } from './volume-view.js';

/** The key of view `vol` of drill row `drillId` as a backup source. */
export function viewSourceId(drillId: number, vol: Volume): number {
  return -(drillId * 1_000_000 + vol.id);
}

export function viewSource(view: VolumeView, name: string, drillId: number): Volume {
  const tracks = view.vol.tracks;
  const part: Pick<Volume, 'id' | 'name' | 'size' | 'trackSize' | 'tracks' | 'read' | 'isAllocated'> & { alloc: { runs(): Array<[number, number]> } } = {
    id: viewSourceId(drillId, view.vol),
    name,
    size: view.size,
    trackSize: view.trackSize,
    tracks,
    alloc: { runs: () => (tracks ? [[0, tracks - 1]] : []) },
    isAllocated: () => true,
    // Volume.read fills `into` when given (a backup's copy reuses its buffers)
    read: async (offset, length, into) => {
      const data = await view.read(offset, length);
      if (!into) return data;
      data.copy(into);
      return into;
    },
  };
  return part as unknown as Volume;
}
