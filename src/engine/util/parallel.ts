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

/**
 * Starts fn(i) for every i in [0, count) in order, `depth` at a time, and returns the promise of
 * each at once, to be awaited when its result is needed (a failure surfaces there, not before).
 */
export function mapAhead<T>(count: number, depth: number, fn: (i: number) => Promise<T>): Array<Promise<T>> {
  const starts: Array<() => void> = [];
  const out: Array<Promise<T>> = [];
  let running = 0;
  let next = 0;
  const pump = (): void => {
    while (running < depth && next < count) {
      running++;
      starts[next++]!();
    }
  };
  for (let i = 0; i < count; i++) {
    const p = new Promise<T>((resolve, reject) => {
      starts.push(() => {
        Promise.resolve()
          .then(() => fn(i))
          .then(resolve, reject)
          .finally(() => {
            running--;
            pump();
          });
      });
    });
    p.catch(() => undefined);
    out.push(p);
  }
  pump();
  return out;
}
