/**
 * Bandwidth report from PB-bit entries (DESIGN.md §2.3).
 *
 * Windows: window k is [t0 + k*slide, t0 + k*slide + window), t0 = fromMs or the first entry's start;
 * slide defaults to the window (consecutive windows). Windows run until the first one that reaches
 * the end (toMs, else the latest entry end), so with a slide every placement is covered and the last
 * window may extend past the data. An entry belongs to every window that contains its start time.
 * Windows are placed by time: a gap with no entries is a run of zero windows.
 * Per window: changedTracks = bits set in the OR of its entries (tracks of different volumes are
 * distinct), changedBytes = changedTracks * trackSize, bandwidth = changedBytes / window seconds *
 * (1 + overhead); writes / writeBytes summed, naiveBandwidth = writeBytes / window seconds *
 * (1 + overhead).
 * Groups: by volume, one group per volume; by dataset, one per data set (the tracks of its byte range,
 * a partly covered track counts) and the top level is the OR of the data-set tables; writes of a data
 * set are those of its whole volume (entries do not split writes by range): `writesScope: 'volume'`.
 * For by=controller `groups` is empty: the top level is the controller.
 *
 * Algorithm: one pass over entries in start order. Boundaries of all windows cut time into segments;
 * each volume ORs its entries into one bitmap per segment; a two-stack queue of segment bitmaps per
 * volume gives the OR over any window in amortised O(1) bitmap operations per segment, however many
 * windows overlap (sliding windows are not re-ORed from scratch). Bitmaps live in a BitArena (SIMD OR
 * and popcount). Memory: per volume about 2 * (window / slide) bitmaps, plus one for the whole span.
 * Entries in stored form (ReportEntry with enc + data, from the store) are ORed straight into their
 * segment's bitmap by a WebAssembly kernel (BitArena.orEncoded): no dense decode, zero-fill or copy
 * per entry; a 1% entry touches only the words of its tracks.
 * Reports over a store, built volume by volume on several threads: stats-report-store.ts.
 */
import { E, InternalError } from '../../../errors.js';
import { BitArena } from '../bitops.js';
import type { StatsEntry } from '../pb-table.js';

export interface DataSetDef {
  name: string;
  volume: string;
  /** Byte range [startByte, endByte) of the volume. */
  startByte: number;
  endByte: number;
}

export type ReportBy = 'controller' | 'volume' | 'dataset';

export interface ReportOptions {
  windowMs: number;
  /** A window starts every slide (default: windowMs, i.e. consecutive windows). */
  slideMs?: number;
  /** Only entries starting in [fromMs, toMs). fromMs also anchors the first window. */
  fromMs?: number;
  toMs?: number;
  by?: ReportBy;
  datasets?: DataSetDef[];
  /** Required resynchronisation time for the peak window's changes -> summary.requiredBandwidth. */
  resyncTimeMs?: number;
  /** Available bandwidth, bytes/s -> summary.resyncSeconds. */
  bandwidth?: number;
  /** Speed of one path, bytes/s -> summary.paths. */
  pathSpeed?: number;
  /** Protocol overhead as a fraction (0.1 = 10%); default 0. */
  overhead?: number;
  /** Use the WebAssembly SIMD kernel when available (default true; false forces the JS kernel). */
  simd?: boolean;
  /** Size in tracks of each volume, when entries come from an iterator (e.g. the store) and their
   *  sizes may differ: the largest wins. Without it, the first entry of a volume decides. */
  volumeTracks?: Map<string, number>;
}

export interface ReportWindow {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  startIso: string;
  endIso: string;
  changedTracks: number;
  changedBytes: number;
  writes: number;
  writeBytes: number;
  /** Bytes/s to ship the window's changed tracks within the window. */
  bandwidth: number;
  /** Bytes/s to ship every byte written within the window. */
  naiveBandwidth: number;
}

export interface ReportSummary {
  windows: number;
  /** The window with the highest bandwidth (the first of equals); null without windows. */
  peak: ReportWindow | null;
  p95Bandwidth: number;
  meanBandwidth: number;
  naivePeakBandwidth: number;
  naiveP95Bandwidth: number;
  naiveMeanBandwidth: number;
  /** Distinct tracks changed over the whole span (OR of every entry). */
  distinctTracks: number;
  distinctBytes: number;
  writes: number;
  writeBytes: number;
  /** With resyncTimeMs: bandwidth to resync the peak window's changes in that time; with only
   *  pathSpeed: the peak bandwidth. Bytes/s. */
  requiredBandwidth?: number;
  /** With pathSpeed: ceil(requiredBandwidth / pathSpeed). */
  paths?: number;
  /** With bandwidth: seconds to resync the peak window's changes at that bandwidth. */
  resyncSeconds?: number;
}

export interface ReportGroup {
  name: string;
  kind: ReportBy;
  volume?: string;
  startByte?: number;
  endByte?: number;
  trackSize: number | null;
  tracks: number;
  /** 'volume' when writes are those of the whole volume (data sets). */
  writesScope?: 'volume';
  windows: ReportWindow[];
  summary: ReportSummary;
}

export interface Report {
  by: ReportBy;
  windowMs: number;
  slideMs: number;
  overhead: number;
  /** Epoch ms of the first window start / the end of the span; null without data. */
  from: number | null;
  to: number | null;
  volumes: { name: string; trackSize: number; tracks: number; entries: number }[];
  windows: ReportWindow[];
  summary: ReportSummary;
  groups: ReportGroup[];
  kernel: 'wasm-simd' | 'js';
}

/** Per-window raw sums of one group. */
class Acc {
  tracks: number[] = [];
  bytes: number[] = [];
  writes: number[] = [];
  writeBytes: number[] = [];
  spanTracks = 0;
  spanBytes = 0;
  totalWrites = 0;
  totalWriteBytes = 0;
  open(): void {
    this.tracks.push(0);
    this.bytes.push(0);
    this.writes.push(0);
    this.writeBytes.push(0);
  }
  add(k: number, tracks: number, bytes: number, writes: number, writeBytes: number): void {
    this.tracks[k]! += tracks;
    this.bytes[k]! += bytes;
    this.writes[k]! += writes;
    this.writeBytes[k]! += writeBytes;
  }
}

/** FIFO of segment bitmaps with OR over its contents (two stacks; see the file comment). */
class OrQueue {
  private backIdx: number[] = [];
  private backPtr: number[] = [];
  /** OR of the back stack: aliases the oldest back bitmap, which later pushes are ORed into
   *  (harmless: the suffix OR computed from that element includes them anyway). */
  private backAgg = -1;
  private frontIdx: number[] = []; // last element = oldest
  private frontPtr: number[] = []; // suffix ORs
  constructor(private readonly a: BitArena, private readonly bytes: number) {}

  push(idx: number, ptr: number): void {
    this.backIdx.push(idx);
    this.backPtr.push(ptr);
    if (this.backAgg < 0) this.backAgg = ptr;
    else this.a.orInto(this.backAgg, ptr, this.bytes);
  }

  /** Drops every segment older than idx. */
  dropBefore(idx: number): void {
    const { a, bytes } = this;
    for (;;) {
      if (this.frontIdx.length === 0) {
        const n = this.backIdx.length;
        if (n === 0 || this.backIdx[0]! >= idx) return;
        let keep = 0;
        while (keep < n && this.backIdx[keep]! < idx) a.free(this.backPtr[keep++]!, bytes);
        let agg = -1;
        for (let i = n - 1; i >= keep; i--) {
          const p = this.backPtr[i]!;
          if (agg >= 0) a.orInto(p, agg, bytes);
          agg = p;
          this.frontIdx.push(this.backIdx[i]!);
          this.frontPtr.push(p);
        }
        this.backIdx.length = 0;
        this.backPtr.length = 0;
        this.backAgg = -1;
        return;
      }
      const top = this.frontIdx.length - 1;
      if (this.frontIdx[top]! >= idx) return;
      a.free(this.frontPtr[top]!, bytes);
      this.frontIdx.pop();
      this.frontPtr.pop();
    }
  }

  /** OR of every queued segment: a bitmap address (possibly `scratch`), or -1 when empty. */
  query(scratch: number): number {
    const f = this.frontPtr.length > 0 ? this.frontPtr[this.frontPtr.length - 1]! : -1;
    const b = this.backAgg;
    if (f < 0) return b;
    if (b < 0) return f;
    this.a.or3(scratch, f, b, this.bytes);
    return scratch;
  }
}

interface DsRange { group: number; from: number; to: number }

class Vol {
  seg = -1;
  segWrites = 0;
  segWriteBytes = 0;
  span = -1;
  entries = 0;
  readonly queue: OrQueue;
  // writes per segment, FIFO with running sums
  private wIdx: number[] = [];
  private wW: number[] = [];
  private wB: number[] = [];
  private wHead = 0;
  sumW = 0;
  sumB = 0;
  totalW = 0;
  totalB = 0;
  datasets: DsRange[] = [];
  union: [number, number][] = [];
  constructor(readonly name: string, readonly trackSize: number, readonly tracks: number, readonly bytes: number, a: BitArena, readonly group: number) {
    this.queue = new OrQueue(a, bytes);
  }
  pushWrites(idx: number): void {
    if (this.segWrites === 0 && this.segWriteBytes === 0) return;
    this.wIdx.push(idx);
    this.wW.push(this.segWrites);
    this.wB.push(this.segWriteBytes);
    this.sumW += this.segWrites;
    this.sumB += this.segWriteBytes;
    this.totalW += this.segWrites;
    this.totalB += this.segWriteBytes;
    this.segWrites = 0;
    this.segWriteBytes = 0;
  }
  dropWritesBefore(idx: number): void {
    while (this.wHead < this.wIdx.length && this.wIdx[this.wHead]! < idx) {
      this.sumW -= this.wW[this.wHead]!;
      this.sumB -= this.wB[this.wHead]!;
      this.wHead++;
    }
    if (this.wHead > 4096 && this.wHead * 2 > this.wIdx.length) {
      this.wIdx.splice(0, this.wHead);
      this.wW.splice(0, this.wHead);
      this.wB.splice(0, this.wHead);
      this.wHead = 0;
    }
  }
}

export function checkOpts(o: ReportOptions): { W: number; S: number; overhead: number; by: ReportBy } {
  const W = o.windowMs;
  const S = o.slideMs ?? W;
  if (!(W > 0) || !Number.isFinite(W)) throw E.badInput(`invalid report window ${W} ms`, 'use a duration such as 5m or 1h');
  if (!(S > 0) || S > W || !Number.isFinite(S)) throw E.badInput(`invalid slide ${S} ms: it must be more than 0 and at most the window (${W} ms)`);
  const overhead = o.overhead ?? 0;
  if (!(overhead >= 0) || !Number.isFinite(overhead)) throw E.badInput(`invalid overhead ${overhead}`);
  for (const [k, v] of [['resync time', o.resyncTimeMs], ['bandwidth', o.bandwidth], ['path speed', o.pathSpeed]] as const) {
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw E.badInput(`invalid ${k} ${v}: must be more than 0`);
  }
  if (o.fromMs !== undefined && o.toMs !== undefined && !(o.toMs > o.fromMs)) throw E.badInput('the report end must be after its start');
  const by = o.by ?? 'controller';
  if (by === 'dataset' && !(o.datasets && o.datasets.length > 0)) throw E.badInput('a report by data set needs data sets', 'define them as NAME=VOL:START-END, e.g. db=vol1:0-10G');
  const seen = new Set<string>();
  for (const d of o.datasets ?? []) {
    if (seen.has(d.name)) throw E.badInput(`data set '${d.name}' is defined twice`);
    seen.add(d.name);
    if (!(d.startByte >= 0) || !(d.endByte > d.startByte)) throw E.badInput(`data set '${d.name}': the range ${d.startByte}-${d.endByte} is empty or negative`);
  }
  return { W, S, overhead, by };
}

/**
 * An entry as the report takes it: with its dense bitmap (a StatsEntry), or with the bitmap in its
 * stored form (stats-codec.ts), which is ORed into the window's bitmap without being decoded first.
 */
export type ReportEntry = StatsEntry | (Omit<StatsEntry, 'bitmap'> & { bitmap?: undefined; enc: number; data: Uint8Array });

/** The report of some volumes of a group, with the first (start, id) of each volume in the store. */
export interface ReportPart {
  report: Report;
  first: Map<string, [number, number]>;
}

/** Sums reports of disjoint sets of volumes built over the same frame into the report of them all. */
export function mergeParts(parts: ReportPart[], opts: ReportOptions): Report {
  const { W, overhead } = checkOpts(opts);
  const key = new Map<string, [number, number]>();
  for (const p of parts) for (const [v, k] of p.first) key.set(v, k);
  const order = (a: string, b: string) => {
    const x = key.get(a) ?? [Infinity, Infinity], y = key.get(b) ?? [Infinity, Infinity];
    return x[0] - y[0] || x[1] - y[1];
  };
  const f = (1 + overhead) / (W / 1000);
  const sum = (list: { windows: ReportWindow[]; summary: ReportSummary }[]): { windows: ReportWindow[]; summary: ReportSummary } => {
    const n = Math.max(0, ...list.map((x) => x.windows.length));
    const acc = new Acc();
    const windows: ReportWindow[] = [];
    for (let k = 0; k < n; k++) {
      let w: ReportWindow | undefined;
      for (const x of list) {
        const y = x.windows[k];
        if (!y) continue;
        if (!w) w = { ...y };
        else {
          w.changedTracks += y.changedTracks;
          w.changedBytes += y.changedBytes;
          w.writes += y.writes;
          w.writeBytes += y.writeBytes;
        }
      }
      w!.bandwidth = w!.changedBytes * f;
      w!.naiveBandwidth = w!.writeBytes * f;
      windows.push(w!);
    }
    for (const x of list) {
      acc.spanTracks += x.summary.distinctTracks;
      acc.spanBytes += x.summary.distinctBytes;
      acc.totalWrites += x.summary.writes;
      acc.totalWriteBytes += x.summary.writeBytes;
    }
    return { windows, summary: summarise(windows, acc, opts, overhead) };
  };
  const reps = parts.map((p) => p.report);
  const r0 = reps[0]!;
  const top = sum(reps);
  let groups: ReportGroup[];
  if (r0.by === 'dataset') {
    groups = r0.groups.map((g0, i) => {
      const all = reps.map((r) => r.groups[i]!);
      const def = all.find((g) => g.trackSize !== null) ?? g0;
      return { ...def, ...sum(all) };
    });
  } else {
    groups = reps.flatMap((r) => r.groups).sort((a, b) => order(a.name, b.name));
  }
  return {
    ...r0,
    from: reps.find((r) => r.from !== null)?.from ?? null,
    to: reps.find((r) => r.to !== null)?.to ?? null,
    volumes: reps.flatMap((r) => r.volumes).sort((a, b) => order(a.name, b.name)),
    windows: top.windows,
    summary: top.summary,
    groups,
  };
}

export function buildReport(input: Iterable<ReportEntry>, opts: ReportOptions): Report {
  const { W, S, overhead, by } = checkOpts(opts);
  const from = opts.fromMs ?? -Infinity;
  const to = opts.toMs ?? Infinity;
  const arena = new BitArena({ simd: opts.simd });

  // Volume sizes: known up front for arrays; for other iterables the first entry of a volume decides.
  let entries: Iterable<ReportEntry> = input;
  const sizeOf = new Map<string, number>();
  if (Array.isArray(input)) {
    const kept = (input as ReportEntry[]).filter((e) => e.start >= from && e.start < to);
    kept.sort((x, y) => x.start - y.start);
    for (const e of kept) sizeOf.set(e.volume, Math.max(sizeOf.get(e.volume) ?? 0, e.tracks));
    entries = kept;
  }

  const vols: Vol[] = [];
  const volByName = new Map<string, Vol>();
  const total = new Acc();
  const groups: { def: Omit<ReportGroup, 'windows' | 'summary'>; acc: Acc }[] = [];
  const dsDefs = by === 'dataset' ? opts.datasets ?? [] : [];
  if (by === 'dataset') {
    for (const d of dsDefs) groups.push({ def: { name: d.name, kind: 'dataset', volume: d.volume, startByte: d.startByte, endByte: d.endByte, trackSize: null, tracks: 0, writesScope: 'volume' }, acc: new Acc() });
  }
  let scratchIn = -1, scratchQ = -1, scratchBytes = 0;
  let windowsOpen = 0;

  const volume = (e: ReportEntry): Vol => {
    let v = volByName.get(e.volume);
    if (v) {
      if (e.trackSize !== v.trackSize) throw E.badInput(`entries of volume '${e.volume}' disagree on the track size (${v.trackSize} and ${e.trackSize})`);
      if (e.tracks > v.tracks) throw E.badInput(`entries of volume '${e.volume}' disagree on its size (${v.tracks} and ${e.tracks} tracks)`, 'pass the entries as an array');
      return v;
    }
    if (!(e.trackSize > 0) || !(e.tracks >= 0)) throw E.badInput(`entry of volume '${e.volume}' has an invalid track size or size`);
    const tracks = Math.max(sizeOf.get(e.volume) ?? 0, opts.volumeTracks?.get(e.volume) ?? 0, e.tracks);
    const bytes = Math.ceil(tracks / 8);
    let group = -1;
    if (by === 'volume') {
      group = groups.length;
      groups.push({ def: { name: e.volume, kind: 'volume', volume: e.volume, trackSize: e.trackSize, tracks }, acc: new Acc() });
    }
    v = new Vol(e.volume, e.trackSize, tracks, bytes, arena, group);
    if (group >= 0) for (let k = 0; k < windowsOpen; k++) groups[group]!.acc.open();
    dsDefs.forEach((d, gi) => {
      if (d.volume !== e.volume) return;
      const r = { group: gi, from: Math.floor(d.startByte / e.trackSize), to: Math.min(tracks, Math.ceil(d.endByte / e.trackSize)) };
      v!.datasets.push(r);
      const g = groups[gi]!.def;
      g.trackSize = e.trackSize;
      g.tracks = Math.max(0, r.to - r.from);
    });
    const rs = v.datasets.map((r) => [r.from, r.to] as [number, number]).sort((x, y) => x[0] - y[0]);
    for (const r of rs) {
      const last = v.union[v.union.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else v.union.push([r[0], r[1]]);
    }
    if (bytes > scratchBytes) {
      if (scratchIn >= 0) {
        arena.free(scratchIn, scratchBytes);
        arena.free(scratchQ, scratchBytes);
      }
      scratchBytes = bytes;
      scratchIn = arena.alloc(bytes);
      scratchQ = arena.alloc(bytes);
    }
    vols.push(v);
    volByName.set(e.volume, v);
    return v;
  };

  // ---- segments and windows ----
  let t0 = NaN;
  let segIdx = 0;
  let ks = 0, ke = 0; // next window to start / to end
  let nS = 0, nE = 0; // their times
  let segEnd = Infinity;
  const startSeg: number[] = [];

  const start = (t: number) => {
    t0 = t;
    startSeg.push(0);
    ks = 1;
    nS = t0 + S;
    nE = t0 + W;
    segEnd = Math.min(nS, nE);
    openWindow();
  };
  function openWindow(): void {
    windowsOpen++;
    total.open();
    for (const g of groups) g.acc.open();
  }

  const closeSegment = () => {
    for (const v of vols) {
      if (v.seg >= 0) {
        if (v.span < 0) v.span = arena.alloc(v.bytes);
        arena.orInto(v.span, v.seg, v.bytes);
        v.queue.push(segIdx, v.seg);
        v.seg = -1;
      }
      v.pushWrites(segIdx);
    }
    segIdx++;
  };

  const count = (v: Vol, ptr: number, k: number, writes: number, writeBytes: number, span: boolean) => {
    // ptr: the window's (or span's) bitmap of v, -1 if empty
    if (by === 'dataset') {
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
  };
  function addTo(acc: Acc, k: number, tracks: number, bytes: number, writes: number, writeBytes: number, span: boolean): void {
    if (!span) acc.add(k, tracks, bytes, writes, writeBytes);
    else {
      acc.spanTracks += tracks;
      acc.spanBytes += bytes;
      acc.totalWrites += writes;
      acc.totalWriteBytes += writeBytes;
    }
  }

  const evalWindow = (k: number) => {
    const s = startSeg[k];
    if (s === undefined) throw new InternalError(`window ${k} ended before it started`);
    for (const v of vols) {
      v.queue.dropBefore(s);
      v.dropWritesBefore(s);
      count(v, v.queue.query(scratchQ), k, v.sumW, v.sumB, false);
    }
  };

  /** Closes the current segment at the next boundary; ends and opens windows there. */
  const advance = () => {
    const b = segEnd;
    closeSegment();
    if (nE === b) {
      evalWindow(ke);
      ke++;
      nE = t0 + ke * S + W;
    }
    if (nS === b) {
      startSeg.push(segIdx);
      ks++;
      nS = t0 + ks * S;
      openWindow();
    }
    segEnd = Math.min(nS, nE);
  };

  let lastStart = -Infinity;
  let maxEnd = -Infinity;
  const entryCount = new Map<string, number>();
  for (const e of entries) {
    if (!(e.start >= from && e.start < to)) continue;
    if (e.start < lastStart) throw E.badInput('entries must be in order of start time', 'pass them as an array to have them sorted');
    lastStart = e.start;
    if (e.end > maxEnd) maxEnd = e.end;
    if (t0 !== t0) start(opts.fromMs ?? e.start);
    while (e.start >= segEnd) advance();
    const v = volume(e);
    v.entries++;
    v.segWrites += e.writes;
    v.segWriteBytes += e.writeBytes;
    if (e.count === 0) continue;
    if (e.bitmap === undefined) {
      // a stored entry: ORed into the segment bitmap straight from its compact form
      if (e.data.length === 0) continue;
      if (v.seg < 0) v.seg = arena.alloc(v.bytes);
      arena.orEncoded(v.seg, v.bytes, e.enc, e.data, e.tracks);
      continue;
    }
    if (e.bitmap.length === 0) continue;
    if (v.seg < 0) {
      v.seg = arena.alloc(v.bytes);
      arena.load(v.seg, e.bitmap, v.bytes);
    } else {
      const n = Math.min(e.bitmap.length, v.bytes);
      arena.load(scratchIn, e.bitmap, n);
      arena.orInto(v.seg, scratchIn, n);
    }
  }
  for (const v of vols) entryCount.set(v.name, v.entries);

  // ---- finish: every window up to the one that reaches the end ----
  let end = opts.toMs ?? maxEnd;
  if (t0 !== t0 && opts.fromMs !== undefined && opts.toMs !== undefined) start(opts.fromMs);
  let windows = 0;
  if (t0 === t0) {
    if (!(end > t0)) end = t0 + W;
    windows = end - t0 <= W ? 1 : 1 + Math.ceil((end - t0 - W) / S);
    while (ke < windows) advance();
    closeSegment();
    for (const v of vols) count(v, v.span, 0, v.totalW, v.totalB, true);
  }
  return finish();

  function finish(): Report {
    const mk = (acc: Acc) => makeWindows(acc, windows, t0, W, S, overhead);
    const top = mk(total);
    const report: Report = {
      by, windowMs: W, slideMs: S, overhead,
      from: t0 === t0 ? t0 : null,
      to: t0 === t0 ? end : null,
      volumes: vols.map((v) => ({ name: v.name, trackSize: v.trackSize, tracks: v.tracks, entries: entryCount.get(v.name) ?? 0 })),
      windows: top,
      summary: summarise(top, total, opts, overhead),
      groups: groups.map((g) => {
        const w = mk(g.acc);
        return { ...g.def, windows: w, summary: summarise(w, g.acc, opts, overhead) };
      }),
      kernel: arena.simd ? 'wasm-simd' : 'js',
    };
    return report;
  }
}

function makeWindows(acc: Acc, n: number, t0: number, W: number, S: number, overhead: number): ReportWindow[] {
  const out: ReportWindow[] = [];
  const f = (1 + overhead) / (W / 1000);
  for (let k = 0; k < n; k++) {
    const start = t0 + k * S;
    const end = start + W;
    const bytes = acc.bytes[k] ?? 0;
    const wb = acc.writeBytes[k] ?? 0;
    out.push({
      start, end, startIso: iso(start), endIso: iso(end),
      changedTracks: acc.tracks[k] ?? 0, changedBytes: bytes,
      writes: acc.writes[k] ?? 0, writeBytes: wb,
      bandwidth: bytes * f, naiveBandwidth: wb * f,
    });
  }
  return out;
}

function iso(ms: number): string {
  const d = new Date(Math.round(ms));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function p95(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(0.95 * s.length) - 1)]!;
}

function summarise(windows: ReportWindow[], acc: Acc, opts: ReportOptions, overhead: number): ReportSummary {
  let peak: ReportWindow | null = null;
  let naivePeak = 0, sum = 0, naiveSum = 0;
  for (const w of windows) {
    if (!peak || w.bandwidth > peak.bandwidth) peak = w;
    if (w.naiveBandwidth > naivePeak) naivePeak = w.naiveBandwidth;
    sum += w.bandwidth;
    naiveSum += w.naiveBandwidth;
  }
  const n = windows.length;
  const s: ReportSummary = {
    windows: n,
    peak: peak ? { ...peak } : null,
    p95Bandwidth: p95(windows.map((w) => w.bandwidth)),
    meanBandwidth: n ? sum / n : 0,
    naivePeakBandwidth: naivePeak,
    naiveP95Bandwidth: p95(windows.map((w) => w.naiveBandwidth)),
    naiveMeanBandwidth: n ? naiveSum / n : 0,
    distinctTracks: acc.spanTracks,
    distinctBytes: acc.spanBytes,
    writes: acc.totalWrites,
    writeBytes: acc.totalWriteBytes,
  };
  const peakBytes = (peak?.changedBytes ?? 0) * (1 + overhead);
  if (opts.resyncTimeMs !== undefined) s.requiredBandwidth = peakBytes / (opts.resyncTimeMs / 1000);
  if (opts.pathSpeed !== undefined) {
    const required = s.requiredBandwidth ?? peak?.bandwidth ?? 0;
    s.requiredBandwidth = required;
    s.paths = Math.ceil(required / opts.pathSpeed);
  }
  if (opts.bandwidth !== undefined) s.resyncSeconds = peakBytes / opts.bandwidth;
  return s;
}
