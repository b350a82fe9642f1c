/**
 * The secondary's pull rounds, for a simulation of a real pair pulling at a fixed interval (what
 * `stats simulate --verify` replays into: `pull start --interval`, pull-loop.ts). A round starts at
 * c, takes every write made by c and not yet sent (at most `batchBytes` of data, at least one
 * write), and ends when the link shaper lets it (link-shaper.ts: one latency after c, or when the
 * wire has carried the batch, the wire being busy with earlier batches until `wireFree`). The next
 * round starts `intervalMs` after the end; a round with nothing to take lasts one latency. The
 * batch is restorable on the secondary at the round's end; its journal space on the primary is
 * freed when the next round's request reports it restored, `intervalMs` later.
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
}

export class PullRounds {
  /** When the next round starts (it has not taken its batch yet). */
  next: number;
  private wireFree = -Infinity;
  /** First write made and not yet taken by a round. */
  pending = 0;

  constructor(
    private readonly p: RoundParams,
    first: number,
  ) {
    this.next = first;
  }

  /**
   * Runs the rounds that start before t (writes [pending, made) were made by then, at `times`);
   * `arrive(j, at)` is told each write's arrival. Stops early when `stop()` says so.
   */
  runUntil(t: number, made: number, times: Float64Array, wire: Float64Array, lengths: Uint32Array, arrive: (j: number, at: number) => void): void {
    const p = this.p;
    const idle = p.latencyMs + p.intervalMs;
    while (this.next < t) {
      const c = this.next;
      let j = this.pending;
      if (j >= made || times[j]! > c) {
        // nothing to take: skip the empty rounds up to the next write (or t)
        const until = j < made ? Math.min(t, times[j]!) : t;
        this.next = c + Math.max(1, Math.ceil((until - c) / idle)) * idle;
        continue;
      }
      let data = 0;
      let bytes = 0;
      while (j < made && times[j]! <= c && (j === this.pending || data + lengths[j]! <= p.batchBytes)) {
        data += lengths[j]!;
        bytes += wire[j]!;
        j++;
      }
      const start = Math.max(this.wireFree, c);
      this.wireFree = start + bytes * p.msPerByte;
      const end = Math.max(c + p.latencyMs, this.wireFree);
      for (let k = this.pending; k < j; k++) arrive(k, end);
      this.pending = j;
      this.next = end + p.intervalMs;
    }
  }
}
