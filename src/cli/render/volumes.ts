/** The table of volumes (volume list, volume create). */
import type { VolumeInfo } from '../../engine/array/volume.js';
import { formatBytes } from '../../units.js';
import type { Output } from './output.js';

export function volumeRows(vols: VolumeInfo[]): Output['table'] {
  return {
    head: ['volume', 'size', 'allocated', 'tracks written', 'image'],
    rows: vols.map((v) => [v.name, formatBytes(v.size), formatBytes(v.allocatedBytes), `${v.allocatedTracks}/${v.tracks}`, v.path]),
  };
}
