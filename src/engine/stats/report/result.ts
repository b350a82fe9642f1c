/**
 * A bandwidth report (DESIGN.md §2.3): per window, changedTracks = bits set in the OR of its entries
 * (tracks of different volumes are distinct), changedBytes = changedTracks * trackSize, bandwidth =
 * changedBytes / window seconds * (1 + overhead); writes / writeBytes summed, naiveBandwidth =
 * writeBytes / window seconds * (1 + overhead). The summary sizes the link from the peak window.
 * What a report is asked: options.ts; the figures computed from window sums: summary.ts.
 */
import type { ReportBy } from './options.js';

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

/** The report of some volumes of a group, with the first (start, id) of each volume in the store. */
export interface ReportPart {
  report: Report;
  first: Map<string, [number, number]>;
}
