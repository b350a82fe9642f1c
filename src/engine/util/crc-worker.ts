/**
 * The thread of crc-offload.ts: crc32 of ranges of shared memory, one message per batch of ranges.
 */
import { parentPort } from 'node:worker_threads';
import { crc32 } from './crc32.js';

interface Job {
  id: number;
  ranges: Array<[SharedArrayBuffer, number, number]>;
}

parentPort?.on('message', (m: Job) => {
  const crcs = m.ranges.map(([sab, offset, length]) => crc32(new Uint8Array(sab, offset, length)));
  parentPort!.postMessage({ id: m.id, crcs });
});
