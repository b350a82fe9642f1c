/**
 * The write path of an array: every write into a volume (a host's, a restore's, a copy's) goes
 * through one WritePath. Under the array's write lock it runs the write hooks that features install
 * (a replication journal append or a differential bitmap, copy-on-write for a backup, PB bits),
 * then writes the data to the volume; outside the lock it makes the write durable as the array's
 * durability setting says (group commit: concurrent writes share one fsync), then runs what the
 * hooks asked to run after the volume write (a synchronous push).
 *
 * Invariants:
 *   - The hooks of one write run under the write lock, and its volume write starts there (its
 *     allocation bits are set before the lock is released); the data write itself may still run
 *     when the next write's hooks run (several host writes in flight, as an NBD client sends
 *     them). A write waits, before its hooks, for every write in flight that overlaps it, so
 *     overlapping writes land on the volume in the order of their journal sequence numbers;
 *     writes that do not overlap have no order to keep.
 *   - locked() is a barrier: its function runs once no write is in flight and none starts until it
 *     ends (a suspension, a verify, a checkpoint and writeMany see every earlier write on the volume).
 *   - Every hook that journaled a write learns how its volume write ended (WriteContext.settle):
 *     at once when it succeeded, under the lock (the barrier) when it failed.
 */
import { GroupSync } from '../util/group-sync.js';
import type { Volume } from './volume.js';

/** One write of a batch (StorageArray.writeMany). */
export interface VolumeWrite {
  vol: Volume;
  offset: number;
  data: Buffer;
}

/** Where a write comes from: a host, a restore of pulled entries, a resync, a backup restore... */
export type WriteOrigin = 'host' | 'restore' | 'resync' | 'copy' | 'backup-restore' | 'sync';

/**
 * Called for every write before the data lands on the volume. A hook that must be durable before
 * the volume write (a journal append) awaits inside; it may return a function to run after the
 * volume write (e.g. a synchronous push).
 */
export type WriteHook = (vol: Volume, offset: number, data: Buffer, origin: WriteOrigin, ctx: WriteContext) => void | Promise<void | (() => Promise<void>)>;

/**
 * What hooks say about one write. `logged`: a hook made the data durable elsewhere (appended to a
 * master journal, which is fsynced at commit and re-applied at start). The volume write is then
 * not fsynced at commit: the volume is made durable by checkpoint() before the journal drops the
 * entry (write-ahead logging, as an array's cache does with its journal).
 */
export interface WriteContext {
  logged: boolean;
  /**
   * What must be written before the volume write starts (write-ahead): a journal append that a
   * hook queued (repl/master-append.ts) rather than awaited under the lock. When one fails, the
   * volume write does not run and the write fails with its error.
   */
  before: Array<Promise<unknown>>;
  /**
   * Run once the volume write has ended: with null when it succeeded (at once, other writes may be
   * in flight), with its error when it (or a later hook) failed (under the write lock, no write in
   * flight). A hook that journaled the write uses it to keep the record from being shipped before
   * the data is on the volume, and to withdraw it when the data never got there (repl/write-hook.ts).
   */
  settle: Array<(err: unknown) => void | Promise<void>>;
}

/** A volume write in flight: its range, and a promise that resolves when it ends (never rejects). */
interface Flight {
  vol: Volume;
  start: number;
  end: number;
  ended: Promise<void>;
}

/** What the write path needs of its array. */
export interface WritePathHost {
  /** The volumes a sync makes durable. */
  volumes(): Iterable<Volume>;
  /** Whether a commit fsyncs (the array's durability is 'fsync'). */
  durable(): boolean;
  /** Called after every single write has landed (the array tops up its space reserve). */
  afterWrite(): void;
}

export class WritePath {
  readonly hooks: WriteHook[] = [];
  /** Sync hooks: make other durable parts (journals) durable with the volumes, once per batch. */
  readonly syncHooks: Array<() => Promise<void>> = [];
  /**
   * Guards of write-ahead logs: for a volume about to take a write no hook logged, each returns
   * what must run first (with no write in flight) so that a restart does not re-apply an older
   * logged write over it, or null (repl/journals.ts unloggedGuard).
   */
  readonly unloggedGuards: Array<(vol: Volume) => (() => Promise<void>) | null> = [];
  private readonly syncer = new GroupSync(() => this.syncAll());
  private lockChain: Promise<unknown> = Promise.resolve();
  /** Volume writes started under the lock and not ended yet (write()). */
  private readonly flights = new Set<Flight>();

  constructor(private readonly host: WritePathHost) {}

  /**
   * A write into a volume: hooks first (journal append, bitmaps, PB bits), then the data, then
   * durability (group commit: concurrent writes share one fsync). The lock is held for the hooks
   * and the start of the volume write; the data write runs beside later writes' (see the header).
   */
  async write(vol: Volume, offset: number, data: Buffer, origin: WriteOrigin, opts: { sync?: boolean }): Promise<void> {
    vol.checkRange(offset, data.length);
    const { after, ctx, done } = await this.chained(async () => {
      const end = offset + data.length;
      const overlaps: Promise<void>[] = [];
      for (const f of this.flights) if (f.vol === vol && f.start < end && offset < f.end) overlaps.push(f.ended);
      if (overlaps.length) await Promise.all(overlaps);
      const after: Array<() => Promise<void>> = [];
      const ctx: WriteContext = { logged: false, before: [], settle: [] };
      try {
        await this.runHooks(vol, offset, data, origin, after, ctx);
        if (!ctx.logged) {
          const guards = this.guardsFor(vol);
          if (guards.length) await this.drain();
          for (const g of guards) await g();
        }
      } catch (e) {
        await this.drain();
        await settle([ctx], e);
        throw e;
      }
      const done = ctx.before.length ? Promise.all(ctx.before).then(() => vol.write(offset, data, ctx.logged)) : vol.write(offset, data, ctx.logged);
      const flight: Flight = { vol, start: offset, end, ended: Promise.resolve() };
      const land = (): void => void this.flights.delete(flight);
      flight.ended = done.then(land, land);
      this.flights.add(flight);
      return { after, ctx, done };
    });
    try {
      await done;
    } catch (e) {
      await this.locked(() => settle([ctx], e));
      throw e;
    }
    await settle([ctx], null);
    this.host.afterWrite();
    if (opts.sync !== false) await this.commit();
    for (const f of after) await f();
  }

  /**
   * Several writes as one step under the write lock: the hooks run for each in order, then the
   * data writes go to the disk side by side (a restore batch or a copy wave, where one write at a
   * time leaves the disk idle between them). Writes that overlap an earlier one of the same call
   * wait for it, so the result is the same as writing them one by one in order. Nothing is made
   * durable here (call commit()): this is for copies and restores, which commit once per batch.
   */
  async writeMany(writes: ReadonlyArray<VolumeWrite>, origin: WriteOrigin): Promise<void> {
    for (const w of writes) w.vol.checkRange(w.offset, w.data.length);
    const after = await this.locked(async () => {
      const after: Array<() => Promise<void>> = [];
      const ctxs: WriteContext[] = [];
      // taken before the hooks: what they log now is not on the volumes yet, so not covered
      const guards = new Map<Volume, Array<() => Promise<void>>>();
      for (const w of writes) if (!guards.has(w.vol)) guards.set(w.vol, this.guardsFor(w.vol));
      try {
        for (const w of writes) {
          const ctx: WriteContext = { logged: false, before: [], settle: [] };
          ctxs.push(ctx);
          await this.runHooks(w.vol, w.offset, w.data, origin, after, ctx);
        }
        const unlogged = new Set(writes.filter((_, i) => !ctxs[i]!.logged).map((w) => w.vol));
        for (const v of unlogged) for (const g of guards.get(v)!) await g();
        await Promise.all(ctxs.flatMap((c) => c.before));
        await writeOrdered(
          writes,
          ctxs.map((c) => c.logged),
          origin === 'restore' ? RESTORE_PLAN : BULK_PLAN,
        );
      } catch (e) {
        // which of the writes reached their volume is not known: all of them count as failed
        await settle(ctxs, e);
        throw e;
      }
      await settle(ctxs, null);
      return after;
    });
    for (const f of after) await f();
  }

  /** What must run before an unlogged write to `vol` (unloggedGuards). */
  private guardsFor(vol: Volume): Array<() => Promise<void>> {
    const out: Array<() => Promise<void>> = [];
    for (const f of this.unloggedGuards) {
      const g = f(vol);
      if (g) out.push(g);
    }
    return out;
  }

  /**
   * Runs the write hooks for one write, in order; functions a hook returns (to run after the
   * volume write) go into `after`.
   */
  private async runHooks(vol: Volume, offset: number, data: Buffer, origin: WriteOrigin, after: Array<() => Promise<void>>, ctx: WriteContext): Promise<WriteContext> {
    for (const h of this.hooks) {
      const r = h(vol, offset, data, origin, ctx);
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        const f = await r;
        if (typeof f === 'function') after.push(f);
      }
    }
    return ctx;
  }

  /**
   * Runs fn with the write lock held and no write in flight (hooks that change replication state,
   * a verify, a checkpoint's barrier use it): every write that started before it has ended.
   */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.chained(async () => {
      await this.drain();
      return fn();
    });
  }

  /** Waits until no volume write is in flight (with the lock held: none starts meanwhile). */
  private async drain(): Promise<void> {
    while (this.flights.size > 0) await Promise.all([...this.flights].map((f) => f.ended));
  }

  /** Runs fn after every earlier holder of the lock (writes may still be in flight). */
  private chained<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockChain.then(fn, fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  /** Makes everything written so far durable, if the array's durability asks for it. */
  async commit(): Promise<void> {
    if (this.host.durable()) await this.syncer.sync();
  }

  private async syncAll(): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (const v of this.host.volumes()) tasks.push(v.sync());
    for (const h of this.syncHooks) tasks.push(h());
    await Promise.all(tasks);
  }
}

/** Tells the hooks of some writes how their volume writes ended (WriteContext.settle), in order. */
async function settle(ctxs: WriteContext[], err: unknown): Promise<void> {
  for (const c of ctxs) {
    for (const f of c.settle) {
      if (err === null) await f(null);
      else await Promise.resolve(f(err)).catch(() => undefined); // the write's own error is the one to report
    }
  }
}

/**
 * How writes of one writeMany() go: how many are in flight at once (and how many bytes), and the
 * smallest that goes around the page cache (O_DIRECT, Volume.write).
 * - A restore applies what its journal already holds durably: its writes are 'logged' and need no
 *   fsync until a checkpoint, so small ones are cheapest in the page cache (one later fsync writes
 *   them sorted); only bulk ones (>= 256 KiB) go direct, two at a time.
 * - A copy or resync is made durable at its end: every aligned write goes direct, many at a time,
 *   since direct writes gain with depth and copying into fresh page-cache pages is the slow part
 *   of a buffered copy (bench/file-io.ts measures both on a machine).
 */
interface WritePlan {
  depth: number;
  bytes: number;
  directMin: number;
}
const RESTORE_PLAN: WritePlan = { depth: 2, bytes: Number.POSITIVE_INFINITY, directMin: 256 * 1024 };
const BULK_PLAN: WritePlan = { depth: 16, bytes: 16 * 1024 * 1024, directMin: 0 };

async function writeOrdered(writes: ReadonlyArray<VolumeWrite>, logged: boolean[], plan: WritePlan): Promise<void> {
  const running = new Map<number, { vol: Volume; start: number; end: number; done: Promise<void> }>();
  let inFlight = 0;
  // the allocation map first, once per volume for the whole list
  const vols = new Set(writes.map((w) => w.vol));
  for (const v of vols) v.allocate(writes.filter((w) => w.vol === v).map((w) => [w.offset, w.data.length] as const));
  const all: Promise<void>[] = [];
  let first: unknown = null;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!;
    if (w.data.length === 0) continue;
    const start = w.offset;
    const end = w.offset + w.data.length;
    while (running.size > 0 && (running.size >= plan.depth || inFlight + w.data.length > plan.bytes)) await Promise.race([...running.values()].map((r) => r.done));
    const deps: Promise<void>[] = [];
    for (const r of running.values()) if (r.vol === w.vol && r.start < end && start < r.end) deps.push(r.done);
    const lazy = logged[i]!;
    const direct = w.data.length >= plan.directMin;
    inFlight += w.data.length;
    const done = (deps.length ? Promise.all(deps).then(() => w.vol.write(start, w.data, lazy, direct)) : w.vol.write(start, w.data, lazy, direct))
      .catch((e) => {
        first ??= e;
      })
      .finally(() => {
        running.delete(i);
        inFlight -= w.data.length;
      });
    running.set(i, { vol: w.vol, start, end, done });
    all.push(done);
    if (first) break;
  }
  await Promise.all(all);
  if (first) throw first;
}
