/**
 * crc32 of data in shared memory (SharedArrayBuffer: an NBD connection's WRITE payloads,
 * buffer-pool.ts) computed on a worker thread, so the main thread goes on reading requests
 * meanwhile. A P-VOL's journal records carry the crc32 of their data; computed on the main thread
 * it was the largest single cost of an NBD copy into a P-VOL (bench/nbd.ts profiled with perf:
 * crc32_z 15% of the controller's CPU, all of it on the main thread that serves every connection).
 *
 * Only with zlib's crc32. With the native SIMD one (crc32.ts) every crc is done at once on the
 * caller's thread: it costs the main thread less than the messages to and from the worker did
 * (2 GiB by nbdcopy into a P-VOL: the controller's user CPU 1.4-1.6 s against 2.5-3.1 s with
 * zlib's on the worker, the main thread no busier; bench/HISTORY.md, session 13).
 *
 * Invariants:
 *   - The result is crc32() of the data (util/crc32.ts, the same function runs on the worker).
 *   - Data that is not in shared memory, or short, is done at once on the caller's thread; so is
 *     everything after the worker failed to start or died (it is not started again), and
 *     everything when crc32 is the native one.
 *   - The caller keeps the data unchanged until the promise settles (the worker reads it).
 */
import type { Worker } from 'node:worker_threads';
import { crc32, crc32Backend } from './crc32.js';

/** Below this many bytes a crc is cheaper than the message to the worker. */
const MIN_OFFLOAD = 32 * 1024;

/** Whether crcs go to the worker at all (not with the native crc32). */
const OFFLOAD = crc32Backend !== 'native';

interface Pending {
  resolve: (crcs: number[]) => void;
  reject: (e: unknown) => void;
}

let worker: Promise<Worker | null> | null = null;
let dead = false;
let nextId = 1;
const pending = new Map<number, Pending>();

async function start(): Promise<Worker | null> {
  try {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(new URL('./crc-worker.js', import.meta.url));
    w.on('message', (m: { id: number; crcs: number[] }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) w.unref(); // an idle worker keeps no process alive
      p?.resolve(m.crcs);
    });
    const fail = (e: unknown): void => {
      dead = true;
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the crc worker exited (${code})`)));
    w.unref();
    return w;
  } catch {
    dead = true;
    return null;
  }
}

/** Whether crc32Many() does this buffer's crc on the worker. */
export function offloadable(b: Buffer): boolean {
  return OFFLOAD && !dead && b.length >= MIN_OFFLOAD && b.buffer instanceof SharedArrayBuffer;
}

/** crc32 of each buffer: the ones in shared memory on the worker, in one message; the rest here. */
export async function crc32Many(bufs: readonly Buffer[]): Promise<number[]> {
  const out = new Array<number>(bufs.length);
  const far: number[] = [];
  for (let i = 0; i < bufs.length; i++) {
    if (offloadable(bufs[i]!)) far.push(i);
    else out[i] = crc32(bufs[i]!);
  }
  if (far.length === 0) return out;
  const w = await (worker ??= start());
  let crcs: number[] | null = null;
  if (w && !dead) {
    const id = nextId++;
    const got = new Promise<number[]>((resolve, reject) => pending.set(id, { resolve, reject }));
    if (pending.size === 1) w.ref();
    w.postMessage({ id, ranges: far.map((i) => [bufs[i]!.buffer, bufs[i]!.byteOffset, bufs[i]!.length]) });
    crcs = await got.catch(() => null);
  }
  far.forEach((i, k) => (out[i] = crcs ? crcs[k]! : crc32(bufs[i]!)));
  return out;
}
