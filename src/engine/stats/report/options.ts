/**
 * What a bandwidth report is asked (DESIGN.md §2.3): its windows, its grouping and the figures of the
 * link it sizes, and the entries it takes.
 *
 * Windows: window k is [t0 + k*slide, t0 + k*slide + window), t0 = fromMs or the first entry's start;
 * slide defaults to the window (consecutive windows). Windows run until the first one that reaches
 * the end (toMs, else the latest entry end), so with a slide every placement is covered and the last
 * window may extend past the data. An entry belongs to every window that contains its start time.
 * Windows are placed by time: a gap with no entries is a run of zero windows.
 * Groups: by volume, one group per volume; by dataset, one per data set (the tracks of its byte range,
 * a partly covered track counts) and the top level is the OR of the data-set tables; writes of a data
 * set are those of its whole volume (entries do not split writes by range): `writesScope: 'volume'`.
 * For by=controller `groups` is empty: the top level is the controller.
 * What a report holds: result.ts; how it is built: build.ts.
 */
import { E } from '../../../errors.js';
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

export function checkOpts(o: ReportOptions): { W: number; S: number; overhead: number; by: ReportBy } {
  const W = o.windowMs;
  const S = o.slideMs ?? W;
  if (!(W > 0) || !Number.isFinite(W)) throw E.badInput(`invalid report window ${W} ms`, 'use a duration such as 5m or 1h');
  if (!(S > 0) || S > W || !Number.isFinite(S)) throw E.badInput(`invalid slide ${S} ms: it must be more than 0 and at most the window (${W} ms)`);
  const overhead = o.overhead ?? 0;
  if (!(overhead >= 0) || !Number.isFinite(overhead)) throw E.badInput(`invalid overhead ${overhead}`);
  for (const [k, v] of [
    ['resync time', o.resyncTimeMs],
    ['bandwidth', o.bandwidth],
    ['path speed', o.pathSpeed],
  ] as const) {
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
 * stored form (codec.ts), which is ORed into the window's bitmap without being decoded first.
 */
export type ReportEntry = StatsEntry | (Omit<StatsEntry, 'bitmap'> & { bitmap?: undefined; enc: number; data: Uint8Array });
