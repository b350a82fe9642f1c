/** Drill records as the CLI shows them: JSON rows, the table, the text of one drill, the HTML report. */
import type { DrillRow } from '../../engine/drill/drill-store.js';
import { formatBytes, formatDuration } from '../../units.js';
import { iso, type Output } from './output.js';

/** One drill as `--json` gives it (and CSV, from these raw values). */
export function drillJson(d: DrillRow) {
  return {
    name: d.name,
    ref: `${d.array}:${d.name}`,
    array: d.array,
    group: d.group,
    journal: `${d.array}:${d.journal}`,
    volumes: d.volumes.map((v) => `${d.array}:${v}@${d.name}`),
    state: d.state,
    seq: d.seq,
    consistencyTime: d.consistencyTime === null ? null : iso(d.consistencyTime),
    rpoSeconds: d.rpoSeconds,
    started: iso(d.started),
    usableMs: d.usableMs,
    stopped: d.stopped === null ? null : iso(d.stopped),
    stopReason: d.stopReason,
    result: d.result,
    note: d.note,
    bytesWritten: d.bytesWritten,
    keptBytes: d.keptBytes,
    maxSize: d.maxSize,
  };
}
export type DrillJson = ReturnType<typeof drillJson>;

const rpoText = (s: number | null): string => (s === null ? '?' : `${s.toFixed(1)}s`);

export function drillTable(rows: DrillJson[]): Output['table'] {
  return {
    head: ['drill', 'group', 'state', 'seq', 'consistency time', 'RPO', 'usable in', 'started', 'ran', 'written', 'space', 'result', 'note'],
    rows: rows.map((d) => [
      d.ref,
      d.group,
      d.state === 'running' ? 'running' : `stopped (${d.stopReason})`,
      d.seq,
      d.consistencyTime ?? '?',
      rpoText(d.rpoSeconds),
      formatDuration(d.usableMs),
      d.started,
      formatDuration((d.stopped ? Date.parse(d.stopped) : Date.now()) - Date.parse(d.started)),
      formatBytes(d.bytesWritten),
      formatBytes(d.keptBytes),
      d.result ?? '',
      d.note ?? '',
    ]),
    drop: ['note', 'started', 'space', 'written', 'usable in'],
  };
}

export function drillText(d: DrillJson): string {
  return [
    `drill ${d.ref}: ${d.state}${d.stopReason ? ` (${d.stopReason})` : ''}${d.result ? `, result ${d.result}` : ''}`,
    `  group       ${d.group} (journal ${d.journal}), seq ${d.seq}`,
    `  views       ${d.volumes.join(', ')}`,
    `  consistency ${d.consistencyTime ?? 'not known'}, RPO ${rpoText(d.rpoSeconds)}`,
    `  started     ${d.started}, usable in ${formatDuration(d.usableMs)}${d.stopped ? `, stopped ${d.stopped}` : ''}`,
    `  written     ${formatBytes(d.bytesWritten)} into the views; space ${formatBytes(d.keptBytes)}${d.maxSize ? ` of ${formatBytes(d.maxSize)} (--max-size)` : ''}`,
    ...(d.note ? [`  note        ${d.note}`] : []),
  ].join('\n');
}

export interface DrillSummary {
  drills: number;
  passed: number;
  failed: number;
  noResult: number;
  running: number;
  meanUsableMs: number | null;
  worstRpoSeconds: number | null;
}

export function summarize(rows: DrillJson[]): DrillSummary {
  const rpos = rows.map((r) => r.rpoSeconds).filter((x): x is number => x !== null);
  return {
    drills: rows.length,
    passed: rows.filter((r) => r.result === 'pass').length,
    failed: rows.filter((r) => r.result === 'fail').length,
    noResult: rows.filter((r) => r.state === 'stopped' && !r.result).length,
    running: rows.filter((r) => r.state === 'running').length,
    meanUsableMs: rows.length ? Math.round(rows.reduce((n, r) => n + r.usableMs, 0) / rows.length) : null,
    worstRpoSeconds: rpos.length ? Math.max(...rpos) : null,
  };
}

export function summaryText(s: DrillSummary, since: string): string {
  return `${s.drills} drills ${since}: ${s.passed} passed, ${s.failed} failed, ${s.noResult} without a result, ${s.running} running; views usable in ${s.meanUsableMs === null ? '?' : formatDuration(s.meanUsableMs)} on average; worst RPO ${rpoText(s.worstRpoSeconds)}`;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained page (no script, nothing fetched): the summary and every drill. */
export function drillReportHtml(rows: DrillJson[], s: DrillSummary, since: string): string {
  const t = drillTable(rows)!;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rcopy DR drills</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}.fail{background:#fdd}.pass{background:#dfd}</style>
</head><body>
<h1>DR drills</h1>
<p>${esc(summaryText(s, since))}</p>
<table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${t.rows.map((r, i) => `<tr class="${esc(rows[i]!.result ?? '')}">${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>
<p>Generated ${esc(new Date().toISOString())} by rcopy drill report.</p>
</body></html>
`;
}
