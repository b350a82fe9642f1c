/**
 * The figures of a report computed from per-window sums: the windows (bandwidth from changed bytes,
 * naive rate from bytes written) and their summary (peak, 95th percentile, mean, and the link sized
 * from the peak window: required bandwidth, paths, resync time).
 */
import type { ReportOptions } from './options.js';
import type { ReportSummary, ReportWindow } from './result.js';

/** Per-window raw sums of one group. */
export class Acc {
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

export function makeWindows(acc: Acc, n: number, t0: number, W: number, S: number, overhead: number): ReportWindow[] {
  const out: ReportWindow[] = [];
  const f = (1 + overhead) / (W / 1000);
  for (let k = 0; k < n; k++) {
    const start = t0 + k * S;
    const end = start + W;
    const bytes = acc.bytes[k] ?? 0;
    const wb = acc.writeBytes[k] ?? 0;
    out.push({
      start,
      end,
      startIso: iso(start),
      endIso: iso(end),
      changedTracks: acc.tracks[k] ?? 0,
      changedBytes: bytes,
      writes: acc.writes[k] ?? 0,
      writeBytes: wb,
      bandwidth: bytes * f,
      naiveBandwidth: wb * f,
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

export function summarise(windows: ReportWindow[], acc: Acc, opts: ReportOptions, overhead: number): ReportSummary {
  let peak: ReportWindow | null = null;
  let naivePeak = 0,
    sum = 0,
    naiveSum = 0;
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
