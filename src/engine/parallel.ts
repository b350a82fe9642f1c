/** Bounded concurrency for the engine's bulk work (copies, hashes, writes). */

/** Runs fn over [0, count) in chunks of chunkSize, `depth` chunks in flight (any order). */
export async function forChunks(count: number, chunkSize: number, depth: number, fn: (first: number, n: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const first = next;
      const n = Math.min(chunkSize, count - first);
      next += n;
      await fn(first, n);
    }
  };
  await Promise.all(Array.from({ length: Math.min(depth, Math.ceil(count / chunkSize)) }, () => worker()));
}

/** Runs fn(i) for every i in [0, count), `depth` at a time (any order). */
export function forEachLimit(count: number, depth: number, fn: (i: number) => Promise<void>): Promise<void> {
  return forChunks(count, 1, depth, (i) => fn(i));
}
