/**
 * `rcopy stats report --chart x.html`: a self-contained page (no script, nothing fetched) with the
 * report's chart (chart.ts) and its summary as a table, the figures `stats report` prints.
 */
import type { Report } from '../../engine/stats/report/result.js';
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import { chartSvg } from './chart.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z');

/** The page of a report; `link` is the chosen link's rate (bytes/s), drawn on the chart. */
export function reportHtml(rep: Report, title: string, opts: { link?: number; resyncTimeMs?: number } = {}): string {
  const s = rep.summary;
  const rows: Array<[string, string]> = [
    ['span', `${s.windows} windows of ${formatDuration(rep.windowMs)} from ${iso(rep.from)} to ${iso(rep.to)}`],
    ['peak', s.peak ? `${formatRate(s.peak.bandwidth)} (${s.peak.changedTracks} tracks, ${formatBytes(s.peak.changedBytes)} in the window from ${iso(s.peak.start)})` : 'none'],
    ['95th percentile / mean', `${formatRate(s.p95Bandwidth)} / ${formatRate(s.meanBandwidth)}`],
    ['naive (every byte written): peak / 95th pct / mean', `${formatRate(s.naivePeakBandwidth)} / ${formatRate(s.naiveP95Bandwidth)} / ${formatRate(s.naiveMeanBandwidth)}`],
    ['distinct', `${s.distinctTracks} tracks (${formatBytes(s.distinctBytes)}) changed by ${s.writes} writes (${formatBytes(s.writeBytes)})`],
  ];
  if (s.requiredBandwidth !== undefined)
    rows.push([
      'required',
      `${formatRate(s.requiredBandwidth)}${opts.resyncTimeMs !== undefined ? ` to resynchronise the peak window's changes in ${formatDuration(opts.resyncTimeMs)}` : ' (the peak bandwidth)'}`,
    ]);
  if (s.paths !== undefined) rows.push(['paths', `${s.paths} parallel path${s.paths === 1 ? '' : 's'}`]);
  if (s.resyncSeconds !== undefined) rows.push(['resync', `${formatDuration(s.resyncSeconds * 1000)} for the peak window's changes at the given bandwidth`]);
  const table = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n');
  const css =
    'body{font:14px sans-serif;margin:24px;color:#111;max-width:1000px}table{border-collapse:collapse;margin:16px 0}th,td{border:1px solid #d1d5db;padding:4px 10px;text-align:left}th{background:#f3f4f6;font-weight:600}';
  const note =
    'Distinct tracks per window: what a resync or a periodic copy moves. A journal-based async pair ships every byte written (the naive figure, plus record overhead): size it with rcopy stats simulate.';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${css}</style></head><body>\n<h1>${esc(title)}</h1>\n${chartSvg(rep, { title, link: opts.link })}<table>\n${table}\n</table>\n<p>${esc(note)}</p>\n</body></html>\n`;
}
