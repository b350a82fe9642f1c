/**
 * The report of a group as the sum of reports of disjoint sets of its volumes, built over the same
 * frame (from-store.ts builds them volume by volume on several threads). Tracks of different volumes
 * are distinct, so every figure is a sum over volumes, window by window.
 */
import { checkOpts, type ReportOptions } from './options.js';
import type { Report, ReportGroup, ReportPart, ReportSummary, ReportWindow } from './result.js';
import { Acc, summarise } from './summary.js';

/** Sums reports of disjoint sets of volumes built over the same frame into the report of them all. */
export function mergeParts(parts: ReportPart[], opts: ReportOptions): Report {
  const { W, overhead } = checkOpts(opts);
  const key = new Map<string, [number, number]>();
  for (const p of parts) for (const [v, k] of p.first) key.set(v, k);
  const order = (a: string, b: string) => {
    const x = key.get(a) ?? [Infinity, Infinity],
      y = key.get(b) ?? [Infinity, Infinity];
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
