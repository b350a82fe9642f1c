/**
 * How `rcopy stats report` shows a report: one row per window (a table, or CSV with every group's
 * windows), then the summary with the link it sizes and a text chart; JSON and YAML give the data.
 */
import type { ReportOptions } from '../../engine/stats/report/options.js';
import type { Report } from '../../engine/stats/report/result.js';
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import { iso } from './output.js';
import type { CliContext } from '../context.js';
import type { Cell, Output } from './output.js';
import { colors } from './progress.js';
import { durationText } from './stats-groups.js';

/** The most windows printed as a table (one row each); beyond, the summary and chart only. */
const MAX_TABLE_WINDOWS = 10_000;

type GroupRef = { array: string; group: string };

/** The output of a report in the context's format; `data` is what JSON, YAML and CSV carry. */
export async function reportOutput(ctx: CliContext, r: GroupRef, rep: Report, ropts: ReportOptions, chart: string | null, data: unknown, summary = false): Promise<Output> {
  if (ctx.format === 'csv') return { data, table: csvTable(rep) };
  if (ctx.format !== 'table') return { data };
  // --summary: the few lines an administrator reads (the span, peak, 95th percentile, saving, sizing)
  if (summary) return { data, text: (await summaryText(ctx, r, rep, ropts, chart, true)).trim() };
  if (rep.windows.length > MAX_TABLE_WINDOWS) {
    const note = `(${rep.windows.length.toLocaleString('en')} windows: more than a table shows; --format csv or --json lists each one)`;
    return { data, text: `${note}\n${await summaryText(ctx, r, rep, ropts, chart)}` };
  }
  return { data, table: windowTable(rep), text: await summaryText(ctx, r, rep, ropts, chart) };
}

/** The title of the report's SVG chart. */
export function chartTitle(r: GroupRef, rep: Report): string {
  return `${r.array}:${r.group}: replication bandwidth per ${durationText(rep.windowMs)} window`;
}

const mb = (n: number) => Math.round(n);

function csvTable(rep: Report): Output['table'] {
  const head = ['group', 'start', 'end', 'changedTracks', 'changedBytes', 'writes', 'writeBytes', 'bandwidth', 'naiveBandwidth'];
  const rows: Cell[][] = [];
  const add = (name: string, ws: Report['windows']) => {
    for (const w of ws) rows.push([name, w.startIso, w.endIso, w.changedTracks, w.changedBytes, w.writes, w.writeBytes, mb(w.bandwidth), mb(w.naiveBandwidth)]);
  };
  add(rep.by === 'controller' ? 'all' : `all (${rep.by === 'dataset' ? 'OR of data sets' : 'all volumes'})`, rep.windows);
  for (const g of rep.groups) add(g.name, g.windows);
  return { head, rows };
}

function windowTable(rep: Report): Output['table'] {
  const peak = rep.summary.peak;
  return {
    head: ['window start', 'end', 'changed tracks', 'changed', 'bandwidth', 'writes', 'written', 'naive rate'],
    rows: rep.windows.map((w) => [
      w.startIso.replace('T', ' ').replace(/\.000Z$/, 'Z'),
      w.endIso.replace('T', ' ').replace(/\.000Z$/, 'Z'),
      w.changedTracks,
      formatBytes(w.changedBytes),
      `${formatRate(w.bandwidth)}${peak && w.start === peak.start ? ' (peak)' : ''}`,
      w.writes,
      formatBytes(w.writeBytes),
      formatRate(w.naiveBandwidth),
    ]),
  };
}

async function summaryText(ctx: CliContext, r: GroupRef, rep: Report, ropts: ReportOptions, chart: string | null, brief = false): Promise<string> {
  const c = await colors(ctx);
  const s = rep.summary;
  const lines: string[] = [];
  if (rep.from === null) return `no entries in ${r.array}:${r.group}${s.windows ? '' : ' for this time range'} (collect with rcopy stats start / collect, or import a trace)`;
  lines.push('');
  lines.push(
    c.bold(
      `${r.array}:${r.group}: ${s.windows} windows of ${durationText(rep.windowMs)}${rep.slideMs !== rep.windowMs ? ` every ${durationText(rep.slideMs)}` : ''} from ${iso(rep.from)} to ${iso(rep.to)}${rep.overhead ? `, ${Math.round(rep.overhead * 100)}% overhead` : ''}`,
    ),
  );
  if (s.peak) lines.push(`  peak       ${formatRate(s.peak.bandwidth)} (${s.peak.changedTracks} tracks, ${formatBytes(s.peak.changedBytes)} in the window from ${s.peak.startIso})`);
  lines.push(`  95th pct   ${formatRate(s.p95Bandwidth)}    mean ${formatRate(s.meanBandwidth)}`);
  lines.push(`  naive      peak ${formatRate(s.naivePeakBandwidth)}, 95th pct ${formatRate(s.naiveP95Bandwidth)}, mean ${formatRate(s.naiveMeanBandwidth)} (every byte written)`);
  if (s.naivePeakBandwidth > 0 && s.peak) {
    const pct = Math.round((1 - s.peak.bandwidth / s.naivePeakBandwidth) * 100);
    if (pct >= 0) lines.push(c.ok(`  saving     counting each track once needs ${pct}% less than the naive peak`));
    else lines.push(c.warn(`  no saving  whole tracks ship: ${-pct}% more than the bytes written (writes smaller than a track)`));
  }
  lines.push(`  distinct   ${s.distinctTracks} tracks (${formatBytes(s.distinctBytes)}) changed over the whole span by ${s.writes} writes (${formatBytes(s.writeBytes)})`);
  if (s.requiredBandwidth !== undefined)
    lines.push(
      c.bold(
        `  required   ${formatRate(s.requiredBandwidth)}${ropts.resyncTimeMs !== undefined ? ` to resynchronise the peak window's changes in ${formatDuration(ropts.resyncTimeMs)}` : ' (the peak bandwidth)'}`,
      ),
    );
  if (s.paths !== undefined) lines.push(c.bold(`  paths      ${s.paths} parallel path${s.paths === 1 ? '' : 's'}`));
  if (s.resyncSeconds !== undefined) lines.push(c.bold(`  resync     ${formatDuration(s.resyncSeconds * 1000)} for the peak window's changes at the given bandwidth`));
  if (brief) return lines.join('\n') + (chart ? `\nchart written to ${chart}` : '');
  for (const g of rep.groups) {
    lines.push(
      `  ${g.kind === 'volume' ? 'volume' : 'data set'} ${g.name}: peak ${formatRate(g.summary.peak?.bandwidth ?? 0)}, 95th pct ${formatRate(g.summary.p95Bandwidth)}, ${g.summary.distinctTracks} distinct tracks${g.writesScope === 'volume' ? ' (writes counted for the whole volume)' : ''}`,
    );
  }
  lines.push('');
  const { chartText } = await import('./chart.js');
  lines.push(chartText(rep, Math.min(process.stdout.columns ?? 100, 120)).trimEnd());
  if (chart) lines.push(`\nchart written to ${chart}`);
  return lines.join('\n');
}
