/**
 * The chart of a journal simulation (`rcopy stats simulate --chart x.html|x.svg`), one a person can
 * show a manager: journal usage over time with the journal's size and the 80% mark (PFUL), the peak
 * marked and labelled, the overflow (PFUS) and an outage marked; under it the lag with the RPO and
 * the p99. Axes have round ticks (1, 2 or 5 times a power of ten, in the unit shown; time in whole
 * minutes, hours or days) with grid lines, and never more labels than fit without overlapping.
 * The HTML page is self-contained: the SVG inline, the summary table and the assumptions, no script
 * and nothing fetched.
 */
import type { Simulation } from '../../engine/stats/simulate/run.js';
import { formatBytes, formatDuration } from '../../units.js';
import { rateText } from './stats-simulate.js';

const W = 960;
const PANEL_H = 230;
const M = { left: 86, right: 24, top: 40, bottom: 40 };
/** Width of a time label and of the space between two, px (labels are 'MM-DD HH:MM', 11 chars). */
const TIME_LABEL_PX = 96;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Round steps for a value axis: the least of 1, 2, 5 x 10^k giving at most `n` intervals. */
export function niceStep(max: number, n: number): number {
  const raw = max / Math.max(1, n);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * 1000);

/** A round time step giving at most `n` labels over `span` ms. */
export function timeStep(span: number, n: number): number {
  for (const s of TIME_STEPS) if (span / s <= n) return s;
  return Math.ceil(span / n / 604_800_000) * 604_800_000;
}

const BYTE_UNITS: Array<[string, number]> = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 1024],
  ['B', 1],
];

interface Axis {
  unit: string;
  scale: number;
  step: number;
  max: number;
}

/** A byte axis: a binary unit, then round steps in that unit. */
function byteAxis(max: number): Axis {
  const [unit, scale] = BYTE_UNITS.find(([, s]) => max >= s) ?? BYTE_UNITS[3]!;
  const v = Math.max(max / scale, 1e-9);
  const step = niceStep(v, 5);
  return { unit, scale, step, max: Math.ceil(v / step) * step };
}

/** A duration axis in ms, s, min or h. */
function lagAxis(max: number): Axis {
  const [unit, scale] = max >= 7_200_000 ? ['h', 3_600_000] : max >= 120_000 ? ['min', 60_000] : max >= 2000 ? ['s', 1000] : ['ms', 1];
  const v = Math.max(max / scale, 1e-9);
  const step = niceStep(v, 5);
  return { unit, scale, step, max: Math.ceil(v / step) * step };
}

const tickText = (v: number, step: number): string => (step < 1 ? v.toFixed(Math.ceil(-Math.log10(step))) : String(Math.round(v)));

function timeLabel(ms: number, step: number): string {
  const iso = new Date(ms).toISOString();
  if (step >= 86_400_000) return iso.slice(5, 10);
  return step >= 60_000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(11, 19);
}

interface Panel {
  y0: number;
  title: string;
  values: number[];
  axis: Axis;
  lines: Array<{ value: number; label: string; color: string }>;
}

// long: one drawing: frame, grid and ticks of both axes, the series, the reference lines, the marks
function panelSvg(sim: Simulation, p: Panel, marks: string[]): string {
  const t = sim.result.timeline;
  const x0 = M.left;
  const pw = W - M.left - M.right;
  const ph = PANEL_H - M.top - M.bottom;
  const y = (v: number) => p.y0 + M.top + ph - (Math.min(v / p.axis.scale, p.axis.max) / p.axis.max) * ph;
  const span = t.step * t.usage.length;
  const x = (ms: number) => x0 + ((ms - t.start) / span) * pw;
  const out: string[] = [`<text x="${x0}" y="${p.y0 + 22}" class="title">${esc(p.title)}</text>`];
  for (let v = 0; v <= p.axis.max + 1e-9; v += p.axis.step) {
    out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${y(v * p.axis.scale).toFixed(1)}" y2="${y(v * p.axis.scale).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${x0 - 8}" y="${(y(v * p.axis.scale) + 4).toFixed(1)}" class="ytick">${tickText(v, p.axis.step)} ${p.axis.unit}</text>`);
  }
  const ts = timeStep(span, Math.floor(pw / TIME_LABEL_PX));
  for (let ms = Math.ceil(t.start / ts) * ts; ms <= t.start + span; ms += ts) {
    const xx = x(ms).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${p.y0 + M.top}" y2="${p.y0 + M.top + ph}" class="grid"/>`);
    out.push(`<text x="${xx}" y="${p.y0 + M.top + ph + 18}" class="xtick">${timeLabel(ms, ts)}</text>`);
  }
  const pts = p.values.map((v, i) => `${x(t.start + (i + 0.5) * t.step).toFixed(1)},${y(v).toFixed(1)}`);
  const base = (p.y0 + M.top + ph).toFixed(1);
  out.push(`<polygon points="${x0},${base} ${pts.join(' ')} ${x0 + pw},${base}" class="area"/>`);
  out.push(`<polyline points="${pts.join(' ')}" class="series"/>`);
  let lastLabel = Infinity; // labels from the bottom up, at least 13 px apart
  for (const l of p.lines.filter((q) => q.value / p.axis.scale <= p.axis.max).sort((a, b) => a.value - b.value)) {
    const yy = y(l.value);
    const ly = Math.min(yy - 5, lastLabel - 13);
    lastLabel = ly;
    out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="${l.color}" class="ref"/>`);
    out.push(`<text x="${x0 + pw - 4}" y="${ly.toFixed(1)}" class="reflabel" fill="${l.color}">${esc(l.label)}</text>`);
  }
  out.push(...marks);
  return out.join('\n');
}

/** The SVG document of a simulation. */
export function simulationSvg(sim: Simulation, title: string): string {
  const r = sim.result;
  const t = r.timeline;
  const j = sim.params.journal;
  const top = Math.max(...t.usage, r.peak.bytes, 1);
  const usageAxis = byteAxis(Math.max(top * 1.15, j <= 2.5 * top ? j * 1.02 : 0)); // the journal's line when it is in sight
  const pw = W - M.left - M.right;
  const span = t.step * t.usage.length;
  const x = (ms: number) => M.left + ((ms - t.start) / span) * pw;
  const ph = PANEL_H - M.top - M.bottom;
  const yU = (v: number) => M.top + ph - (Math.min(v / usageAxis.scale, usageAxis.max) / usageAxis.max) * ph;
  const marks: string[] = [];
  const px = x(r.peak.at);
  const anchor = px > W - 260 ? 'end' : 'start';
  marks.push(`<circle cx="${px.toFixed(1)}" cy="${yU(r.peak.bytes).toFixed(1)}" r="5" class="peak"/>`);
  marks.push(
    `<text x="${(px + (anchor === 'end' ? -9 : 9)).toFixed(1)}" y="${Math.max(M.top + 12, yU(r.peak.bytes) - 8).toFixed(1)}" text-anchor="${anchor}" class="peaklabel">peak ${esc(formatBytes(r.peak.bytes))} (${(r.peak.share * 100).toFixed(1)}%)</text>`,
  );
  if (r.overflow) marks.push(`<line x1="${x(r.overflow.at).toFixed(1)}" x2="${x(r.overflow.at).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" class="overflow"/>`);
  const o = sim.params.outage;
  if (o) marks.push(`<rect x="${x(o.start).toFixed(1)}" y="${M.top}" width="${Math.max(1, x(o.start + o.ms) - x(o.start)).toFixed(1)}" height="${ph}" class="outage"/>`);
  const usage = panelSvg(
    sim,
    {
      y0: 0,
      title: `Journal usage (highest in each ${formatDuration(t.step)}), journal ${formatBytes(j)}`,
      values: t.usage,
      axis: usageAxis,
      lines: [
        { value: j, label: `journal ${formatBytes(j)}`, color: '#b91c1c' },
        { value: 0.8 * j, label: 'PFUL 80%', color: '#d97706' },
      ],
    },
    marks,
  );
  const lagTop = Math.max(...t.lag, r.lag.p99, 1);
  const lagAx = lagAxis(Math.max(lagTop * 1.15, sim.params.rpoMs <= lagTop * 2.5 ? sim.params.rpoMs * 1.1 : 0));
  const lag = panelSvg(
    sim,
    {
      y0: PANEL_H,
      title: `Lag (age of the secondary's copy), RPO ${formatDuration(sim.params.rpoMs)}, link ${rateText(sim.params.bandwidth)}`,
      values: t.lag,
      axis: lagAx,
      lines: [
        { value: sim.params.rpoMs, label: `RPO ${formatDuration(sim.params.rpoMs)}`, color: '#b91c1c' },
        { value: r.lag.p99, label: `p99 ${formatDuration(r.lag.p99)}`, color: '#2563eb' },
      ],
    },
    [],
  );
  const style = `<style>.title{font:600 14px sans-serif;fill:#111}.ytick{font:11px sans-serif;fill:#444;text-anchor:end}.xtick{font:11px sans-serif;fill:#444;text-anchor:middle}.grid{stroke:#e5e7eb;stroke-width:1}.area{fill:#93c5fd;fill-opacity:.35}.series{fill:none;stroke:#1d4ed8;stroke-width:1.5}.ref{stroke-width:1.2;stroke-dasharray:6 4}.reflabel{font:600 11px sans-serif;text-anchor:end;paint-order:stroke;stroke:#fff;stroke-width:3px}.peak{fill:#dc2626}.peaklabel{font:600 12px sans-serif;fill:#dc2626}.overflow{stroke:#dc2626;stroke-width:2}.outage{fill:#9ca3af;fill-opacity:.3}</style>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * PANEL_H + 30}" viewBox="0 0 ${W} ${2 * PANEL_H + 30}" role="img" aria-label="${esc(title)}">${style}<rect width="100%" height="100%" fill="#fff"/><text x="${M.left}" y="${2 * PANEL_H + 22}" class="xtick" text-anchor="start" style="text-anchor:start">${esc(title)}</text>${usage}\n${lag}</svg>\n`;
}

/** A self-contained HTML page: the chart, the summary table and the assumptions. */
export function simulationHtml(sim: Simulation, title: string, assumptions: string[]): string {
  const r = sim.result;
  const p = sim.params;
  const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  const rows: Array<[string, string]> = [
    ['link', `${rateText(p.bandwidth)}, latency ${formatDuration(p.latencyMs)}`],
    ['journal', formatBytes(p.journal)],
    ['peak journal usage', `${formatBytes(r.peak.bytes)} (${(r.peak.share * 100).toFixed(1)}%) at ${when(r.peak.at)}`],
    ['over 80% (PFUL)', r.firstOverHighWater === null ? 'never' : `${formatDuration(r.overHighWaterMs)}, first at ${when(r.firstOverHighWater)}`],
    ['overflow (PFUS)', r.overflow ? `at ${when(r.overflow.at)}; resync of ${formatBytes(r.overflow.resyncBytes)} takes ${formatDuration(r.overflow.resyncMs)}` : 'no'],
    ['lag p50 / p90 / p99 / max', [r.lag.p50, r.lag.p90, r.lag.p99, r.lag.max].map(formatDuration).join(' / ')],
    [`within the RPO of ${formatDuration(p.rpoMs)}`, `${(r.lag.withinRpo * 100).toFixed(1)}% of the time`],
  ];
  if (sim.busiestHour && sim.absorbs)
    rows.push(['outage absorbed from the busiest hour', `${sim.absorbs.atLeast ? 'at least ' : ''}${formatDuration(sim.absorbs.ms)} from ${when(sim.busiestHour.start)}`]);
  if (sim.solve) {
    const bw = (x: number | null) => (x === null ? 'none' : rateText(x));
    rows.push(['least bandwidth, RPO 100% / 99% / 90%', `${bw(sim.solve.always)} / ${bw(sim.solve.p99)} / ${bw(sim.solve.p90)}`]);
  }
  const table = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n');
  const css =
    'body{font:14px sans-serif;margin:24px;color:#111;max-width:1000px}table{border-collapse:collapse;margin:16px 0}th,td{border:1px solid #d1d5db;padding:4px 10px;text-align:left}th{background:#f3f4f6;font-weight:600}li{margin:2px 0}';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${css}</style></head><body>\n<h1>${esc(title)}</h1>\n${simulationSvg(sim, title)}<table>\n${table}\n</table>\n<h2>Assumptions</h2><ul>${assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>\n</body></html>\n`;
}
