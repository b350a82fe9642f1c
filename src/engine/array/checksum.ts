/**
 * The checksum of a volume range (rcopy volume checksum, and the comparisons of tests and
 * benches): SHA-256 of the bytes, holes read as zeros. Tracks the allocation map says were never
 * written are hashed as zeros without reading them; reads are pipelined (1 MiB each, 4 in flight)
 * so the disk and the hash overlap.
 */
import crypto from 'node:crypto';
import type { Volume } from './volume.js';

const CHUNK = 1024 * 1024;
const DEPTH = 4;
const ZERO_CHUNK = Buffer.alloc(CHUNK);

/** Hashes [start, start+length) of a volume (hex SHA-256). */
export async function hashRange(vol: Volume, start: number, length: number): Promise<string> {
  const h = crypto.createHash('sha256');
  const end = start + length;
  const queue: Array<Promise<Buffer>> = [];
  let next = start;
  const issue = (): void => {
    if (next >= end) return;
    const len = Math.min(CHUNK, end - next);
    const off = next;
    next += len;
    queue.push(readOrZero(vol, off, len));
  };
  for (let i = 0; i < DEPTH; i++) issue();
  while (queue.length) {
    const buf = await queue.shift()!;
    issue();
    h.update(buf);
  }
  return h.digest('hex');
}

async function readOrZero(vol: Volume, off: number, len: number): Promise<Buffer> {
  const ts = vol.trackSize;
  const first = Math.floor(off / ts);
  const last = Math.floor((off + len - 1) / ts);
  let any = false;
  for (let t = first; t <= last; t++) {
    if (vol.isAllocated(t)) {
      any = true;
      break;
    }
  }
  if (!any) return len === ZERO_CHUNK.length ? ZERO_CHUNK : Buffer.alloc(len);
  return vol.read(off, len);
}
