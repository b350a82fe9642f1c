/**
 * The secondary's pull rounds, for a simulation of a real pair pulling at a fixed interval (what
 * `stats simulate --verify` replays into: `pull start --interval`, pull-loop.ts). A round starts at
 * c, takes every write made by c and not yet sent (at most `batchBytes` of data, at least one
 * write), and ends when the link shaper lets it (link-shaper.ts: one latency after c, or when the
 * wire has carried the batch, the wire being busy with earlier batches until `wireFree`). The next
 * round starts `intervalMs` after the end; a round with nothing to take lasts one latency. The
 * batch is restorable on the secondary at the round's end and restored `restoreMs` after that (or
 * `restoreDelay` of its data: on a loaded machine a batch of 1 MB takes 20-50 ms, one of 100 KB a
 * few); its journal space on the primary is freed by the first request that starts after it was
 * restored (the request reports the restored seq). Writes are released in order: a small batch
 * restored sooner than the large one before it is freed with it (the secondary restores one batch
 * at a time, in order).
 *
 * Asking ahead (pull-loop.ts): when the primary's reply says more is waiting than it sent (a write
 * was made while it read the batch: modelled as a write made within `aheadMs` after the round's
 * start), the secondary sends the next request at once, `aheadMs` after the round's start; it
 * takes what was made by then, goes on the wire after this batch, and cannot yet report this
 * batch restored.
 *
 * The continuous model of queue.ts (each write sent as soon as the link is free) is the limit of
 * this one as the interval and the batch overhead go to 0.
 */
export interface RoundParams {
  intervalMs: number;
  /** Most data bytes a pull takes (restore.ts PULL_BATCH). */
  batchBytes: number;
  latencyMs: number;
  msPerByte: number;
  /** A write made this soon after a round's start makes the secondary ask ahead (0: never). */
  aheadMs?: number;
  /** From a batch's arrival to its restore on the secondary (0: at once). */
  restoreMs?: number;
  /** Instead: from a batch's arrival to its restore, by the batch's data bytes (ms). */
  restoreDelay?: (bytes: number) => number;
  /** Added to each wait of the interval (ms, may be negative): a request's varying round trip (none: every round alike). */
  jitter?: () => number;
}

export class PullRounds {
  /** When the next round starts (it has not taken its batch yet). */
  next: number;
  private wireFree = -Infinity;
  /** First write made and not yet taken by a round. */
  pending = 0;
  /** First write taken and not yet released. */
  private unreleased = 0;
  /** When each write taken was restored on the secondary. */
  private readonly restored: Float64Array;

  constructor(
    private readonly p: RoundParams,
    first: number,
    writes: number,
  ) {
    this.next = first;
    this.restored = new Float64Array(writes);
  }

  /**
   * Runs the rounds that start before t (writes [pending, made) were made by then; `times` has all
   * `count` writes' times);
   * `arrive(j, at, restored)` is told each write's arrival and restore, `release(j, at)` when its space is freed.
   */
  runUntil(
    t: number,
    made: number,
    w: { times: Float64Array; wire: Float64Array; lengths: Uint32Array; count: number },
    arrive: (j: number, at: number, restored: number) => void,
    release: (j: number, at: number) => void,
  ): void {
    const p = this.p;
    const idle = p.latencyMs + p.intervalMs;
    const ahead = p.aheadMs ?? 0;
    const restore = p.restoreMs ?? 0;
    const delay = p.restoreDelay;
    const times = w.times;
    while (this.next < t) {
      const c = this.next;
      while (this.unreleased < this.pending && this.restored[this.unreleased]! <= c) release(this.unreleased++, c);
      let j = this.pending;
      if (j >= made || times[j]! > c) {
        // nothing to take: skip the empty rounds up to the next write (or t)
        const until = j < made ? Math.min(t, times[j]!) : t;
        // (with jitter one round at a time, each its own wait)
        if (p.jitter && until < Infinity) this.next = c + Math.max(p.latencyMs, idle + p.jitter());
        else this.next = c + Math.max(1, Math.ceil((until - c) / idle)) * idle;
        continue;
      }
      let data = 0;
      let bytes = 0;
      while (j < made && times[j]! <= c && (j === this.pending || data + w.lengths[j]! <= p.batchBytes)) {
        data += w.lengths[j]!;
        bytes += w.wire[j]!;
        j++;
      }
      const start = Math.max(this.wireFree, c);
      this.wireFree = start + bytes * p.msPerByte;
      const end = Math.max(c + p.latencyMs, this.wireFree);
      const restored = end + (delay ? delay(data) : restore);
      for (let k = this.pending; k < j; k++) {
        this.restored[k] = restored;
        arrive(k, end, restored);
      }
      this.pending = j;
      // more waiting than taken (the batch was full, or a write was being made): ask again at once
      // (the writes still to come are known: `times` holds them all)
      const asks = j < w.count && times[j]! <= c + ahead;
      this.next = asks ? Math.min(c + ahead, end) : end + Math.max(0, p.intervalMs + (p.jitter?.() ?? 0));
    }
  }
}
