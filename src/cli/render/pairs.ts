/** Renderers of pairs: the rows and table of `pair list`, and the data and text of `pair show`. */
import type { PairDetail, PairView } from '../../server/methods.js';
import type { ExportView } from '../../server/nbd/types.js';
import { formatBytes, formatDuration, parseVolRef } from '../../units.js';
import { rpoOf } from '../../engine/ops/rpo.js';
import { iso, type Output } from './output.js';

/** Both sides of each pair by id (a side that was not listed is absent). */
export type PairSides = Map<string, { p?: PairView; s?: PairView }>;

export function lagOf(pv: PairView | undefined): number | null {
  return pv?.oldestTimestamp ? Math.max(0, (Date.now() - pv.oldestTimestamp) / 1000) : 0;
}

/** One row of `pair list` per pair: both sides' states, the lag and the estimated resync time. */
export function pairListRows(byId: PairSides, linkBw: Map<string, number | null>) {
  return [...byId.entries()].map(([id, v]) => {
    const either = (v.p ?? v.s)!; // an entry has at least one side
    const changed = (v.p?.changedTracks ?? 0) + (v.s?.changedTracks ?? 0);
    const changedBytes = (v.p?.changedBytes ?? 0) + (v.s?.changedBytes ?? 0);
    const bw = linkBw.get([parseVolRef(either.pvol).array, parseVolRef(either.svol).array].sort().join('|')) ?? null;
    const rpo = rpoOf(v.p, v.s);
    return {
      id,
      pvol: either.pvol,
      svol: either.svol,
      group: either.group,
      mode: either.mode,
      pState: v.p?.state ?? null,
      sState: v.s?.state ?? null,
      copyPct: v.s?.copyPct ?? null,
      journalUsedPct: v.p?.journalUsedPct ?? null,
      entriesBehind: v.p && v.s ? Math.max(0, (v.p.lastSeq ?? 0) - (v.s.restoredSeq ?? 0)) : null,
      bytesBehind: v.p?.journalBytes ?? null,
      lagSeconds: v.p ? lagOf(v.p) : null,
      changedTracks: changed,
      changedBytes,
      linkBandwidth: bw,
      resyncSecondsEstimate: bw ? changedBytes / bw : changedBytes ? null : 0,
      imageTime: v.s?.imageTime ?? null,
      consistencyTime: rpo.consistencyTime,
      rpoSeconds: rpo.rpoSeconds,
      catchUpSeconds: rpo.catchUpSeconds,
    };
  });
}

export type PairListRow = ReturnType<typeof pairListRows>[number];

/** An NBD export of a pair's volume, as `pair list --json` shows it (`export list` has the rest). */
export interface PairExport {
  volume: string;
  name: string;
  uri: string;
  clients: number;
  bytesRead: number;
  bytesWritten: number;
}

/** The rows with the NBD exports of their P-VOL and S-VOL (of the arrays listed). */
export function withExports(rows: PairListRow[], exports: ExportView[]): Array<PairListRow & { exports: PairExport[] }> {
  const of = (vol: string): PairExport[] =>
    exports.filter((x) => `${x.array}:${x.volume}` === vol).map((x) => ({ volume: vol, name: x.name, uri: x.uri, clients: x.clients, bytesRead: x.bytesRead, bytesWritten: x.bytesWritten }));
  return rows.map((r) => ({ ...r, exports: [...of(r.pvol), ...of(r.svol)] }));
}

export function pairListTable(rows: PairListRow[]): Output['table'] {
  return {
    head: ['P-VOL', 'S-VOL', 'mode', 'state P/S', 'copy', 'journal', 'behind', 'lag', 'changed (bitmap)', 'est. resync', 'RPO'],
    // on a narrow terminal these go first (pair show has them all)
    drop: ['journal', 'mode', 'lag', 'behind', 'copy'],
    rows: rows.map((r) => [
      r.pvol,
      r.svol,
      r.mode,
      `${r.pState ?? '?'}/${r.sState ?? '?'}`,
      r.copyPct === null ? '' : `${r.copyPct}%`,
      r.journalUsedPct === null ? '' : `${r.journalUsedPct}%`,
      r.entriesBehind === null ? '' : `${r.entriesBehind} (${formatBytes(r.bytesBehind ?? 0)})`,
      r.lagSeconds === null ? '' : `${r.lagSeconds.toFixed(1)}s`,
      r.changedTracks ? `${r.changedTracks} tr (${formatBytes(r.changedBytes)})` : '0',
      r.resyncSecondsEstimate === null ? 'link unlimited' : formatDuration(r.resyncSecondsEstimate * 1000),
      r.rpoSeconds === null ? '?' : `${r.rpoSeconds.toFixed(1)}s${r.catchUpSeconds ? ` (eta ${formatDuration(r.catchUpSeconds * 1000)})` : ''}`,
    ]),
  };
}

/** The data of `pair show`: both sides' views and the secondary's transfer counters. */
export function pairShowData(id: string, either: PairView, p: PairDetail | null, s: PairDetail | null) {
  return {
    id,
    pvol: either.pvol,
    svol: either.svol,
    group: either.group,
    mode: either.mode,
    state: s?.state ?? p?.state,
    primary: p,
    secondary: s,
    imageTime: s?.imageTime ? iso(s.imageTime) : null,
    logicalBytes: s?.pull?.logicalBytes ?? 0,
    dataBytes: s?.pull?.dataBytes ?? 0,
    referenceBytes: s?.pull?.referenceBytes ?? 0,
    savedPct: s?.pull?.savedPct ?? 0,
    resync: s?.resync ?? null,
    changedTracks: (p?.changedTracks ?? 0) + (s?.changedTracks ?? 0),
    ...rpoOf(p, s),
  };
}

export function pairShowText(data: ReturnType<typeof pairShowData>, p: PairDetail | null, s: PairDetail | null): string {
  const lines = [
    `pair ${data.pvol} -> ${data.svol}  (${data.mode}, group ${data.group})`,
    `  primary:   ${p ? `${p.state} since ${iso(p.stateSince)}${p.reason ? ` (${p.reason})` : ''}; journal ${p.journal} ${p.journalUsedPct}% used, ${p.journalEntries} entries, last seq ${p.lastSeq}; bitmap ${p.changedTracks} tracks` : 'not reachable'}`,
    `  secondary: ${s ? `${s.state} since ${iso(s.stateSince)}${s.reason ? ` (${s.reason})` : ''}; restored seq ${s.restoredSeq}; bitmap ${s.changedTracks} tracks${s.state === 'COPY' ? `; copy ${s.copyPct}% (${s.copyDone}/${s.copyTotal} tracks)` : ''}${s.writable ? '; writable' : ''}` : 'not reachable'}`,
  ];
  lines.push(
    `  RPO:       ${data.rpoSeconds === null ? 'unknown' : `${data.rpoSeconds.toFixed(1)}s`}; consistent at ${data.consistencyTime ?? 'unknown'}; behind ${data.entriesBehind ?? '?'} entries (${formatBytes(data.bytesBehind ?? 0)})${data.catchUpSeconds ? `, about ${formatDuration(data.catchUpSeconds * 1000)} to catch up` : ''}`,
  );
  if (s?.imageTime) lines.push(`  consistent image of ${iso(s.imageTime)} kept${s.imageTracks ? ` (${s.imageTracks} tracks saved)` : ''}`);
  if (s?.pull) lines.push(`  transfer: logical ${formatBytes(s.pull.logicalBytes)}, data ${formatBytes(s.pull.dataBytes)}, references ${formatBytes(s.pull.referenceBytes)}`);
  if (s?.resync) {
    const r = s.resync;
    if (r.kind === 'resync' && r.references) {
      lines.push(
        `  last resync: logical ${formatBytes(r.logicalBytes)}, data ${formatBytes(r.dataBytes)}, references ${formatBytes(r.referenceBytes)}, equal (skipped) ${formatBytes(r.equalBytes)}; tracks: ${r.equalTracks} equal, ${r.referenceTracks} by reference, ${r.zeroTracks} zero, ${r.dataTracks} data${r.staleReferences ? `, ${r.staleReferences} stale references fetched as data` : ''}`,
      );
    } else lines.push(`  last ${r.kind === 'resync' ? 'resync (references off)' : 'initial copy'}: logical ${formatBytes(r.logicalBytes)}, data ${formatBytes(r.dataBytes)}`);
    const took = r.finishedAt ? ` of ${formatDuration(r.finishedAt - r.startedAt)}` : '';
    if (r.imageTracks)
      lines.push(`  its consistent image: ${r.imageTracks} tracks saved, durable ${r.imageMs === null || r.imageMs === undefined ? '(not yet)' : `after ${formatDuration(r.imageMs)}${took}`}`);
  }
  lines.push(`  next: ${(s ?? p)!.hint}`);
  return lines.join('\n');
}
