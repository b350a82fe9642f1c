/** SHA-256 of a range of a drill's view (VOL@DRILL), as StorageArray.checksum gives for a volume. */
import crypto from 'node:crypto';
import type { VolumeView } from './volume-view.js';

const CHUNK = 4 * 1024 * 1024;

export async function viewChecksum(view: VolumeView, offset: number, length: number): Promise<{ sha256: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  for (let at = offset; at < offset + length; at += CHUNK) h.update(await view.read(at, Math.min(CHUNK, offset + length - at)));
  return { sha256: h.digest('hex'), bytes: length };
}
