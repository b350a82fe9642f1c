/**
 * The journal of an async pair, simulated: every host write of a WriteLog enters the master journal
 * at its time (journalBytes: header and padding included) and leaves it through a FIFO link drained
 * at the link's rate. Pure and synchronous: numbers in, numbers out.
 *
 * The model (stated in words in every report):
 *   - write i is sent when the link is free and the write has been made, taking wireBytes / rate
 *     seconds; the link does not send while it is down (an outage pauses the transfer in progress);
 *   - it arrives (is restorable on the secondary) one latency after it was sent, and its journal space
 *     is freed one more latency later (the secondary's report of what it restored comes back with its
 *     next pull);
 *   - journal usage is a step function: a record's bytes from its write until its release;
 *   - the journal overflows when a write does not fit: the pair suspends (PFUS) at that time, what was
 *     not yet arrived and everything written afterwards is tracked by track (the differential bitmap),
 *     and the resync that follows copies those distinct tracks at the link's rate. Nothing is shipped
 *     from the journal after the overflow (the simulation does not resume journal mode);
 *   - the lag (the age of the secondary's copy, what the RPO bounds) at time t is t minus the time of
 *     the oldest write not yet arrived, 0 when every write made has arrived; percentiles and the share
 *     of time within the RPO come from `samples` instants evenly spaced over the trace's span, the
 *     maximum is exact (the largest arrival - write time, or the lag at the end of the trace after an
 *     overflow);
 *   - the high-water mark is 80% of the journal (PFUL): the time above it is exact;
 *   - with `pull` (what `--verify` compares with a real pair pulling at a fixed interval), writes go
 *     in the secondary's pull rounds instead (rounds.ts), and a record's space is freed by the first
 *     request after its restore (or, with `freeAt: 'restore'`, the usage counts what is written and
 *     not yet restored: a record leaves it when the rounds restore its batch); outages are not modelled then.
 */
export { lagFigures, sendEnd, type Outage } from './lag.js';
import { PagedTable } from '../traces/paged-table.js';
import { lagFigures, sendEnd, type LagFigures, type Outage } from './lag.js';
import { PullRounds, type RoundParams } from './rounds.js';
import type { WriteLog } from './writes.js';

export interface SimParams {
  /** Link rate, bytes per second. */
  bandwidth: number;
  /** Journal capacity (its data area), bytes. */
  journal: number;
  /** One-way link latency, ms. */
  latencyMs: number;
  /** Times the link is down (sorted, not overlapping). */
  outages: Outage[];
  /** Track size of the differential bitmap (for the resync after an overflow), bytes. */
  trackSize: number;
  /** The recovery point objective, ms. */
  rpoMs: number;
  /** Lag samples over the trace's span (default 100,000; 0: no lag figures, faster). */
  samples?: number;
  /** Stop at the overflow (a search that only asks whether the journal overflows). */
  stopAtOverflow?: boolean;
  /**
   * Without `pull`: start at write `index` with writes [rel, index) in the journal, their arrivals in
   * `scratch` (as a run without outages left them at a write that found the link idle: `idleAt`).
   */
  from?: { index: number; rel: number };
  /** Without `pull`: note the last write made at or before this time that finds the link idle (SimResult.idleAt). */
  noteIdleBefore?: number;
  /**
   * Without `pull`: stop (no overflow) at the first write made at or after `after` that finds the
   * link idle and every write still in the journal arrived when it did in `arrivals`, those of the
   * run without outages: from there on the run is that one. Only for a caller that knows it does not overflow.
   */
  couple?: { after: number; arrivals: Float64Array };
  /** The secondary pulls in rounds at this fixed interval (rounds.ts) instead of the continuous link. */
  pull?: Omit<RoundParams, 'latencyMs' | 'msPerByte'> & { dataOnlyWire?: boolean; freeAt?: 'request' | 'restore' };
}

export interface SimResult {
  writes: number;
  /** Data written by the hosts. */
  writeBytes: number;
  /** What the writes take in the journal (headers and padding included). */
  journalBytes: number;
  /** What the journal ships on the link (data and headers). */
  wireBytes: number;
  start: number;
  end: number;
  peak: { bytes: number; at: number; share: number };
  /** Time with the journal above the 80% mark (PFUL), ms; the first time it went above. */
  overHighWaterMs: number;
  firstOverHighWater: number | null;
  overflow: null | { at: number; resyncTracks: number; resyncBytes: number; resyncMs: number };
  lag: LagFigures;
  /** For a chart: the highest journal usage and lag in each of TIMELINE_BUCKETS equal parts of the trace's span. */
  timeline: { start: number; step: number; usage: number[]; lag: number[] };
  /** With `noteIdleBefore`: the write it asks for and the first write not yet released then. */
  idleAt?: { index: number; rel: number };
}

/** Parts of the trace's span the timeline has. */
export const TIMELINE_BUCKETS = 600;

export const HIGH_WATER = 0.8;
/** Tracks at or past this number are not marked in the bitmap (counted as distinct). */
const TRACK_LIMIT = 2 ** 30;

/** Runs the simulation of `log` with `p`. `scratch` (length >= log.length) is reused if given. */
export function simulate(log: WriteLog, p: SimParams, scratch?: Float64Array): SimResult {
  return new JournalQueue(log, p, scratch).run();
}

class JournalQueue {
  private readonly arr: Float64Array; // arrival time of each write (Infinity: never, after an overflow)
  private readonly jb: Float64Array; // journal bytes of each write
  private readonly wb: Float64Array; // link bytes of each write
  private readonly msPerByte: number;
  private readonly hw: number;
  private usage = 0;
  private last = 0; // time up to which the usage has been accounted
  private over = 0;
  private firstOver: number | null = null;
  private peak = 0;
  private peakAt = 0;
  private rel: number; // first write not yet released
  private ak: number; // first write not yet arrived (for the lag samples)
  private readonly from: number;
  private idleAt: { index: number; rel: number } | undefined;
  private sent = -Infinity; // when the link is free
  private maxLag = 0;
  private overflowAt: number | null = null;
  private bitmap: PagedTable[] = [];
  private beyond = 0;
  private readonly lags: Float64Array;
  private nLags = 0;
  private nextSample = 0;
  private readonly step: number;
  private readonly spanEnd: number;
  private readonly first: number;
  private readonly usageMax = new Float64Array(TIMELINE_BUCKETS);
  private fb = 0; // the timeline bucket filled up to
  private readonly bw: number; // bucket width, ms
  private readonly rounds: PullRounds | null;
  private readonly releaseMs: number; // from arrival to release (without rounds)
  private readonly relAt: Float64Array | null; // each write's release (with rounds)

  constructor(
    private readonly log: WriteLog,
    private readonly p: SimParams,
    scratch?: Float64Array,
  ) {
    this.arr = scratch && scratch.length >= log.length ? scratch : new Float64Array(log.length);
    const cost = log.cost();
    this.jb = cost.journal;
    // rcopy's link shaper counts the entries' data only (their headers travel in the reply's metadata)
    this.wb = p.pull?.dataOnlyWire ? Float64Array.from(log.lengths.subarray(0, log.length)) : cost.wire;
    this.msPerByte = 1000 / p.bandwidth;
    this.hw = HIGH_WATER * p.journal;
    const n = log.length;
    const from = p.pull ? undefined : p.from;
    this.from = from ? from.index : 0;
    this.rel = this.ak = from ? from.rel : 0;
    for (let k = this.rel; k < this.from; k++) this.usage += this.jb[k]!;
    const first = n > this.from ? log.times[this.from]! : 0;
    this.spanEnd = n > 0 ? log.times[n - 1]! : 0;
    const samples = p.samples ?? 100_000;
    this.lags = new Float64Array(samples);
    this.step = samples > 0 ? Math.max(this.spanEnd - first, 1e-3) / samples : Infinity;
    this.nextSample = first;
    this.last = first;
    this.first = first;
    this.bw = Math.max(this.spanEnd - first, 1e-3) / TIMELINE_BUCKETS;
    const pull = p.pull;
    this.rounds = pull ? new PullRounds({ ...pull, latencyMs: p.latencyMs, msPerByte: this.msPerByte }, first, n) : null;
    this.releaseMs = p.latencyMs;
    this.relAt = pull ? new Float64Array(n).fill(Infinity) : null;
    if (pull?.freeAt === 'restore') {
      const rel = this.relAt!;
      this.onArrive = (j, at, restored) => {
        this.arrive(j, at);
        rel[j] = restored;
      };
      this.onRelease = () => undefined;
    }
  }

  /** What the rounds tell of a write's arrival and release (freed by a request, by default). */
  private onArrive = (j: number, at: number, _restored: number): void => this.arrive(j, at);
  private onRelease = (j: number, at: number): void => {
    this.relAt![j] = at;
  };

  /** Write j arrives on the secondary at `at`. */
  private readonly arrive = (j: number, at: number): void => {
    this.arr[j] = at;
    if (at - this.log.times[j]! > this.maxLag) this.maxLag = at - this.log.times[j]!;
  };

  /** The pull rounds that start before t, writes [0, i) made. */
  private roundsUntil(t: number, i: number): void {
    if (this.rounds && this.overflowAt === null) this.rounds.runUntil(t, i, { times: this.log.times, wire: this.wb, lengths: this.log.lengths, count: this.log.length }, this.onArrive, this.onRelease);
  }

  run(): SimResult {
    const { log } = this;
    const stop = this.p.stopAtOverflow === true;
    const couple = this.rounds ? undefined : this.p.couple;
    const after = couple ? couple.after : Infinity;
    const note = this.rounds ? -Infinity : (this.p.noteIdleBefore ?? -Infinity);
    for (let i = this.from; i < log.length; i++) {
      const t = log.times[i]!;
      if ((t >= after || t <= note) && this.sent <= t && this.overflowAt === null) {
        if (t <= note) this.idleAt = { index: i, rel: this.rel };
        else if (this.coupled(t, i, couple!.arrivals)) return this.result(t); // the rest is the run without outages
      }
      this.write(i);
      if (stop && this.overflowAt !== null) break;
    }
    const end = this.drain();
    return this.result(end);
  }

  /** Whether every write still in the journal at t (writes [0, i) made) arrived when it did in `arrivals`. */
  private coupled(t: number, i: number, arrivals: Float64Array): boolean {
    this.releaseUpTo(t, i);
    for (let k = this.rel; k < i; k++) if (this.arr[k] !== arrivals[k]) return false;
    return true;
  }

  /** Write i arrives at the journal. */
  private write(i: number): void {
    const log = this.log;
    const t = log.times[i]!;
    this.roundsUntil(t, i);
    this.releaseUpTo(t, i);
    this.sampleUpTo(t, i);
    if (this.overflowAt === null) {
      const jb = this.jb[i]!;
      if (this.usage + jb > this.p.journal) this.suspend(t, i);
      else {
        if (this.rounds)
          this.arr[i] = Infinity; // taken by a later round
        else {
          this.sent = sendEnd(Math.max(this.sent, t), this.wb[i]! * this.msPerByte, this.p.outages);
          this.arrive(i, this.sent + this.p.latencyMs);
        }
        this.account(t);
        this.usage += jb;
        this.noteUsage(t);
        if (this.usage > this.peak) {
          this.peak = this.usage;
          this.peakAt = t;
        }
        if (this.usage > this.hw && this.firstOver === null) this.firstOver = t;
        return;
      }
    }
    this.arr[i] = Infinity;
    this.mark(i);
  }

  /** The journal is full at t: the pair suspends; writes not yet arrived go to the bitmap. */
  private suspend(t: number, i: number): void {
    this.account(t);
    this.overflowAt = t;
    if (this.usage + this.jb[i]! > this.peak) {
      this.peak = Math.min(this.p.journal, this.usage + this.jb[i]!);
      this.peakAt = t;
    }
    this.usage = this.peak;
    this.noteUsage(t);
    for (let k = this.rel; k < i; k++) {
      if (this.arr[k]! > t) {
        this.arr[k] = Infinity;
        this.mark(k);
      }
    }
    this.usage = 0; // folded into the bitmap
    this.rel = i;
  }

  private mark(i: number): void {
    const log = this.log;
    const ts = this.p.trackSize;
    const len = log.lengths[i]!;
    const off = log.offsets[i]!;
    const first = Math.floor(off / ts);
    const last = Math.floor((off + Math.max(len, 1) - 1) / ts);
    if (last >= TRACK_LIMIT) {
      this.beyond += last - first + 1;
      return;
    }
    const d = log.devices[i]!;
    const table = (this.bitmap[d] ??= new PagedTable());
    table.mark(first, last);
  }

  /** Accounts the time above the high-water mark up to t, at the current usage (and the timeline). */
  private account(t: number): void {
    if (this.usage > this.hw) this.over += t - this.last;
    this.last = t;
    const b = Math.min(TIMELINE_BUCKETS - 1, Math.floor((t - this.first) / this.bw));
    const m = this.usageMax;
    for (; this.fb <= b; this.fb++) if (m[this.fb]! < this.usage) m[this.fb] = this.usage;
    this.fb = b;
  }

  /** The usage just set at t, in the timeline. */
  private noteUsage(t: number): void {
    const b = Math.min(TIMELINE_BUCKETS - 1, Math.floor((t - this.first) / this.bw));
    if (this.usageMax[b]! < this.usage) this.usageMax[b] = this.usage;
  }

  private timeline(): SimResult['timeline'] {
    if (this.overflowAt === null) this.account(Math.min(this.last, this.spanEnd));
    const lag = new Array<number>(TIMELINE_BUCKETS).fill(0);
    for (let i = 0; i < this.nLags; i++) {
      const b = Math.min(TIMELINE_BUCKETS - 1, Math.floor((i * this.step) / this.bw));
      if (lag[b]! < this.lags[i]!) lag[b] = this.lags[i]!;
    }
    return { start: this.first, step: this.bw, usage: Array.from(this.usageMax), lag };
  }

  /** Frees the space of the writes released by time t; writes [0, i) have been sent. */
  private releaseUpTo(t: number, i: number): void {
    if (this.overflowAt !== null) return;
    const arr = this.arr;
    const lat = this.releaseMs;
    const relAt = this.relAt;
    while (this.rel < i) {
      const r = relAt ? relAt[this.rel]! : arr[this.rel]! + lat;
      if (!(r <= t)) break;
      this.account(r);
      this.usage -= this.jb[this.rel]!;
      this.rel++;
    }
  }

  /** Takes the lag samples before t; writes [0, i) have been made. */
  private sampleUpTo(t: number, i: number): void {
    const { arr, log } = this;
    const lim = Math.min(t, this.spanEnd);
    while (this.nextSample < lim && this.nLags < this.lags.length) {
      const tau = this.nextSample;
      while (this.ak < i && arr[this.ak]! <= tau) this.ak++;
      this.lags[this.nLags++] = this.ak < i ? tau - log.times[this.ak]! : 0;
      this.nextSample += this.step;
    }
  }

  /** After the last write: the journal drains (or, after an overflow, stays suspended). */
  private drain(): number {
    const n = this.log.length;
    this.sampleUpTo(Infinity, n);
    if (n === 0) return 0;
    if (this.overflowAt !== null) {
      const firstLost = this.firstNotArrived();
      if (firstLost >= 0) this.maxLag = Math.max(this.maxLag, this.spanEnd - this.log.times[firstLost]!);
      return this.spanEnd;
    }
    this.roundsUntil(Infinity, n);
    this.releaseUpTo(Infinity, n);
    return this.relAt ? this.relAt[n - 1]! : this.arr[n - 1]! + this.releaseMs;
  }

  private firstNotArrived(): number {
    for (let k = this.from; k < this.log.length; k++) if (this.arr[k] === Infinity) return k;
    return -1;
  }

  private result(end: number): SimResult {
    const log = this.log;
    let jb = 0,
      wb = 0;
    for (let i = 0; i < log.length; i++) {
      jb += this.jb[i]!;
      wb += this.wb[i]!;
    }
    let overflow: SimResult['overflow'] = null;
    if (this.overflowAt !== null) {
      let tracks = this.beyond;
      for (const t of this.bitmap) if (t) tracks += t.count;
      const bytes = tracks * this.p.trackSize;
      overflow = { at: this.overflowAt, resyncTracks: tracks, resyncBytes: bytes, resyncMs: (bytes * 1000) / this.p.bandwidth };
    }
    return {
      writes: log.length,
      writeBytes: log.writeBytes,
      journalBytes: jb,
      wireBytes: wb,
      start: log.length ? log.times[0]! : 0,
      end,
      peak: { bytes: this.peak, at: this.peakAt, share: this.peak / this.p.journal },
      overHighWaterMs: this.over,
      firstOverHighWater: this.firstOver,
      overflow,
      lag: lagFigures(this.lags.subarray(0, this.nLags), this.maxLag, this.p.rpoMs),
      timeline: this.timeline(),
      idleAt: this.idleAt,
    };
  }
}
