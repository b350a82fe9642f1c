/**
 * Builds a bandwidth report from PB-bit entries (DESIGN.md §2.3): what is asked is in options.ts,
 * what it holds in result.ts.
 *
 * Algorithm: one pass over entries in start order. Boundaries of all windows cut time into segments;
 * each volume ORs its entries into one bitmap per segment; a two-stack queue of segment bitmaps per
 * volume (or-queue.ts) gives the OR over any window in amortised O(1) bitmap operations per segment,
 * however many windows overlap (sliding windows are not re-ORed from scratch). Bitmaps live in a
 * BitArena (SIMD OR and popcount). Memory: per volume about 2 * (window / slide) bitmaps, plus one
 * for the whole span.
 * Entries in stored form (ReportEntry with enc + data, from the store) are ORed straight into their
 * segment's bitmap by a WebAssembly kernel (BitArena.orEncoded): no dense decode, zero-fill or copy
 * per entry; a sparse entry touches only the words of its tracks.
 * Reports over a store, built volume by volume on several threads: from-store.ts.
 */
import { E, InternalError } from '../../../errors.js';
import { BitArena } from '../bitops.js';
import { checkOpts, type DataSetDef, type ReportBy, type ReportEntry, type ReportOptions } from './options.js';
import type { Report, ReportGroup } from './result.js';
import { Acc, makeWindows, summarise } from './summary.js';
import { Vol } from './volume-state.js';

export function buildReport(input: Iterable<ReportEntry>, opts: ReportOptions): Report {
  const sweep = new ReportSweep(opts);
  // Volume sizes: known up front for arrays; for other iterables the first entry of a volume decides.
  let entries: Iterable<ReportEntry> = input;
  if (Array.isArray(input)) {
    const kept = (input as ReportEntry[]).filter((e) => e.start >= sweep.from && e.start < sweep.to);
    kept.sort((x, y) => x.start - y.start);
    for (const e of kept) sweep.sizeOf.set(e.volume, Math.max(sweep.sizeOf.get(e.volume) ?? 0, e.tracks));
    entries = kept;
  }
  for (const e of entries) sweep.add(e);
  return sweep.finish();
}

/** The state of one report build: the volumes, the window sums, and the segment and window clocks. */
class ReportSweep {
  /** Only entries starting in [from, to) count. */
  readonly from: number;
  readonly to: number;
  /** Volume sizes known before the first entry (entries given as an array). */
  readonly sizeOf = new Map<string, number>();
  private readonly W: number;
  private readonly S: number;
  private readonly overhead: number;
  private readonly by: ReportBy;
  private readonly arena: BitArena;
  private readonly vols: Vol[] = [];
  private readonly volByName = new Map<string, Vol>();
  private readonly total = new Acc();
  private readonly groups: { def: Omit<ReportGroup, 'windows' | 'summary'>; acc: Acc }[] = [];
  private readonly dsDefs: DataSetDef[];
  private scratchIn = -1;
  private scratchQ = -1;
  private scratchBytes = 0;
  private windowsOpen = 0;

  // ---- segments and windows ----
  private t0 = NaN;
  private segIdx = 0;
  private ks = 0; // next window to start
  private ke = 0; // next window to end
  private nS = 0; // their times
  private nE = 0;
  private segEnd = Infinity;
  private readonly startSeg: number[] = [];
  private lastStart = -Infinity;
  private maxEnd = -Infinity;

  constructor(private readonly opts: ReportOptions) {
    const { W, S, overhead, by } = checkOpts(opts);
    this.W = W;
    this.S = S;
    this.overhead = overhead;
    this.by = by;
    this.from = opts.fromMs ?? -Infinity;
    this.to = opts.toMs ?? Infinity;
    this.arena = new BitArena({ simd: opts.simd });
    this.dsDefs = by === 'dataset' ? (opts.datasets ?? []) : [];
    for (const d of this.dsDefs)
      this.groups.push({ def: { name: d.name, kind: 'dataset', volume: d.volume, startByte: d.startByte, endByte: d.endByte, trackSize: null, tracks: 0, writesScope: 'volume' }, acc: new Acc() });
  }

  /** Takes the next entry (in order of start time). */
  add(e: ReportEntry): void {
    if (!(e.start >= this.from && e.start < this.to)) return;
    if (e.start < this.lastStart) throw E.badInput('entries must be in order of start time', 'pass them as an array to have them sorted');
    this.lastStart = e.start;
    if (e.end > this.maxEnd) this.maxEnd = e.end;
    if (this.t0 !== this.t0) this.start(this.opts.fromMs ?? e.start);
    while (e.start >= this.segEnd) this.advance();
    const v = this.volume(e);
    v.entries++;
    v.segWrites += e.writes;
    v.segWriteBytes += e.writeBytes;
    if (e.count === 0) return;
    const arena = this.arena;
    if (e.bitmap === undefined) {
      // a stored entry: ORed into the segment bitmap straight from its compact form
      if (e.data.length === 0) return;
      if (v.seg < 0) v.seg = arena.alloc(v.bytes);
      arena.orEncoded(v.seg, v.bytes, e.enc, e.data, e.tracks);
      return;
    }
    if (e.bitmap.length === 0) return;
    if (v.seg < 0) {
      v.seg = arena.alloc(v.bytes);
      arena.load(v.seg, e.bitmap, v.bytes);
    } else {
      const n = Math.min(e.bitmap.length, v.bytes);
      arena.load(this.scratchIn, e.bitmap, n);
      arena.orInto(v.seg, this.scratchIn, n);
    }
  }

  /** Every window up to the one that reaches the end, then the report. */
  finish(): Report {
    const { opts, W, S } = this;
    let end = opts.toMs ?? this.maxEnd;
    if (this.t0 !== this.t0 && opts.fromMs !== undefined && opts.toMs !== undefined) this.start(opts.fromMs);
    const t0 = this.t0;
    let windows = 0;
    if (t0 === t0) {
      if (!(end > t0)) end = t0 + W;
      windows = end - t0 <= W ? 1 : 1 + Math.ceil((end - t0 - W) / S);
      while (this.ke < windows) this.advance();
      this.closeSegment();
      for (const v of this.vols) this.count(v, v.span, 0, v.totalW, v.totalB, true);
    }
    return this.report(windows, end);
  }

  private report(windows: number, end: number): Report {
    const { t0, W, S, overhead, opts } = this;
    const mk = (acc: Acc) => makeWindows(acc, windows, t0, W, S, overhead);
    const top = mk(this.total);
    return {
      by: this.by,
      windowMs: W,
      slideMs: S,
      overhead,
      from: t0 === t0 ? t0 : null,
      to: t0 === t0 ? end : null,
      volumes: this.vols.map((v) => ({ name: v.name, trackSize: v.trackSize, tracks: v.tracks, entries: v.entries })),
      windows: top,
      summary: summarise(top, this.total, opts, overhead),
      groups: this.groups.map((g) => {
        const w = mk(g.acc);
        return { ...g.def, windows: w, summary: summarise(w, g.acc, opts, overhead) };
      }),
      kernel: this.arena.simd ? 'wasm-simd' : 'js',
    };
  }

  /** The volume of an entry, set up on its first entry (its group, data-set ranges and scratch space). */
  private volume(e: ReportEntry): Vol {
    let v = this.volByName.get(e.volume);
    if (v) {
      if (e.trackSize !== v.trackSize) throw E.badInput(`entries of volume '${e.volume}' disagree on the track size (${v.trackSize} and ${e.trackSize})`);
      if (e.tracks > v.tracks) throw E.badInput(`entries of volume '${e.volume}' disagree on its size (${v.tracks} and ${e.tracks} tracks)`, 'pass the entries as an array');
      return v;
    }
    if (!(e.trackSize > 0) || !(e.tracks >= 0)) throw E.badInput(`entry of volume '${e.volume}' has an invalid track size or size`);
    const tracks = Math.max(this.sizeOf.get(e.volume) ?? 0, this.opts.volumeTracks?.get(e.volume) ?? 0, e.tracks);
    const bytes = Math.ceil(tracks / 8);
    const groups = this.groups;
    let group = -1;
    if (this.by === 'volume') {
      group = groups.length;
      groups.push({ def: { name: e.volume, kind: 'volume', volume: e.volume, trackSize: e.trackSize, tracks }, acc: new Acc() });
    }
    v = new Vol(e.volume, e.trackSize, tracks, bytes, this.arena, group);
    if (group >= 0) for (let k = 0; k < this.windowsOpen; k++) groups[group]!.acc.open();
    this.addDatasets(v);
    if (bytes > this.scratchBytes) {
      const arena = this.arena;
      if (this.scratchIn >= 0) {
        arena.free(this.scratchIn, this.scratchBytes);
        arena.free(this.scratchQ, this.scratchBytes);
      }
      this.scratchBytes = bytes;
      this.scratchIn = arena.alloc(bytes);
      this.scratchQ = arena.alloc(bytes);
    }
    this.vols.push(v);
    this.volByName.set(e.volume, v);
    return v;
  }

  /** The track ranges of the data sets on a new volume, and their union. */
  private addDatasets(v: Vol): void {
    this.dsDefs.forEach((d, gi) => {
      if (d.volume !== v.name) return;
      const r = { group: gi, from: Math.floor(d.startByte / v.trackSize), to: Math.min(v.tracks, Math.ceil(d.endByte / v.trackSize)) };
      v.datasets.push(r);
      const g = this.groups[gi]!.def;
      g.trackSize = v.trackSize;
      g.tracks = Math.max(0, r.to - r.from);
    });
    const rs = v.datasets.map((r) => [r.from, r.to] as [number, number]).sort((x, y) => x[0] - y[0]);
    for (const r of rs) {
      const last = v.union[v.union.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else v.union.push([r[0], r[1]]);
    }
  }

  private start(t: number): void {
    this.t0 = t;
    this.startSeg.push(0);
    this.ks = 1;
    this.nS = t + this.S;
    this.nE = t + this.W;
    this.segEnd = Math.min(this.nS, this.nE);
    this.openWindow();
  }

  private openWindow(): void {
    this.windowsOpen++;
    this.total.open();
    for (const g of this.groups) g.acc.open();
  }

  private closeSegment(): void {
    const { arena, segIdx } = this;
    for (const v of this.vols) {
      if (v.seg >= 0) {
        if (v.span < 0) v.span = arena.alloc(v.bytes);
        arena.orInto(v.span, v.seg, v.bytes);
        v.queue.push(segIdx, v.seg);
        v.seg = -1;
      }
      v.pushWrites(segIdx);
    }
    this.segIdx++;
  }

  /** Adds v's changed tracks (ptr: the window's or span's bitmap of v, -1 if empty) to window k. */
  private count(v: Vol, ptr: number, k: number, writes: number, writeBytes: number, span: boolean): void {
    const { arena, total, groups } = this;
    if (this.by === 'dataset') {
      if (v.datasets.length === 0) return;
      let u = 0;
      if (ptr >= 0) for (const [a, b] of v.union) u += arena.popcountRange(ptr, a, b);
      addTo(total, k, u, u * v.trackSize, writes, writeBytes, span);
      for (const r of v.datasets) {
        const c = ptr >= 0 ? arena.popcountRange(ptr, r.from, r.to) : 0;
        addTo(groups[r.group]!.acc, k, c, c * v.trackSize, writes, writeBytes, span);
      }
      return;
    }
    const c = ptr >= 0 ? arena.popcount(ptr, v.bytes) : 0;
    addTo(total, k, c, c * v.trackSize, writes, writeBytes, span);
    if (v.group >= 0) addTo(groups[v.group]!.acc, k, c, c * v.trackSize, writes, writeBytes, span);
  }

  private evalWindow(k: number): void {
    const s = this.startSeg[k];
    if (s === undefined) throw new InternalError(`window ${k} ended before it started`);
    for (const v of this.vols) {
      v.queue.dropBefore(s);
      v.dropWritesBefore(s);
      this.count(v, v.queue.query(this.scratchQ), k, v.sumW, v.sumB, false);
    }
  }

  /** Closes the current segment at the next boundary; ends and opens windows there. */
  private advance(): void {
    const b = this.segEnd;
    this.closeSegment();
    if (this.nE === b) {
      this.evalWindow(this.ke);
      this.ke++;
      this.nE = this.t0 + this.ke * this.S + this.W;
    }
    if (this.nS === b) {
      this.startSeg.push(this.segIdx);
      this.ks++;
      this.nS = this.t0 + this.ks * this.S;
      this.openWindow();
    }
    this.segEnd = Math.min(this.nS, this.nE);
  }
}

function addTo(acc: Acc, k: number, tracks: number, bytes: number, writes: number, writeBytes: number, span: boolean): void {
  if (!span) acc.add(k, tracks, bytes, writes, writeBytes);
  else {
    acc.spanTracks += tracks;
    acc.spanBytes += bytes;
    acc.totalWrites += writes;
    acc.totalWriteBytes += writeBytes;
  }
}
