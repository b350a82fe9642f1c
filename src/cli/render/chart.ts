/**
 * Charts of a bandwidth report: plain-text bar rows for a terminal (no colour codes; the CLI may
 * colour them) and a standalone SVG document. Both show the bandwidth per window (changed tracks)
 * and the naive write rate (every byte written), and mark the peak window.
 * With more windows than rows/bars, consecutive windows are merged into one bar showing their maximum.
 */
import { formatRate } from '../../units.js';
import { niceStep } from './sim-chart.js';
import type { Report, ReportWindow } from '../../engine/stats/report/result.js';

interface Bar {
  start: number;
  end: number;
  bandwidth: number;
  naive: number;
  peak: boolean;
}

function bars(report: Pick<Report, 'windows' | 'summary'>, max: number): Bar[] {
  const ws = report.windows;
  const peak = report.summary.peak;
  const per = Math.max(1, Math.ceil(ws.length / Math.max(1, max)));
  const out: Bar[] = [];
  for (let i = 0; i < ws.length; i += per) {
    const group = ws.slice(i, i + per);
    out.push({
      start: group[0]!.start,
      end: group[group.length - 1]!.end,
      bandwidth: Math.max(...group.map((w) => w.bandwidth)),
      naive: Math.max(...group.map((w) => w.naiveBandwidth)),
      peak: peak !== null && group.some((w: ReportWindow) => w.start === peak.start),
    });
  }
  return out;
}

const label = (ms: number) => new Date(Math.round(ms)).toISOString().slice(0, 16).replace('T', ' ');

/** One row per window (or group of windows): time, bar, bandwidth, naive rate; the peak is marked. */
export function chartText(report: Pick<Report, 'windows' | 'summary'>, width = 80, opts: { maxRows?: number } = {}): string {
  const rows = bars(report, opts.maxRows ?? 48);
  if (rows.length === 0) return '(no windows)\n';
  const top = Math.max(...rows.map((r) => r.bandwidth), 1e-9);
  const barWidth = Math.max(10, width - 16 - 2 - 11 - 20);
  const lines = [`${'window start'.padEnd(16)}  ${'bandwidth per window'.padEnd(barWidth + 8)} ${'rate'.padStart(10)}  naive write rate`];
  for (const r of rows) {
    const n = Math.round((r.bandwidth / top) * barWidth);
    const bar = ('#'.repeat(n) + (r.peak ? ' <- peak' : '')).padEnd(barWidth + 8);
    lines.push(`${label(r.start)}  ${bar} ${formatRate(r.bandwidth).padStart(10)}  ${formatRate(r.naive)}`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

/** A standalone SVG: bandwidth bars per window, the naive write rate as a line, the peak marked. */
/** A rate axis: a decimal unit (as formatRate shows), then round steps (1, 2, 5 x 10^k) in it. */
function rateAxis(top: number): { unit: string; scale: number; step: number; max: number } {
  const units: Array<[string, number]> = [
    ['GB/s', 1e9],
    ['MB/s', 1e6],
    ['kB/s', 1e3],
    ['B/s', 1],
  ];
  const [unit, scale] = units.find(([, k]) => top >= k) ?? units[3]!;
  const step = niceStep(Math.max(top / scale, 1e-9), 5);
  return { unit, scale, step, max: Math.ceil(top / scale / step) * step };
}

/**
 * The SVG chart of a report: bars per window, the naive rate, the peak marked, round ticks with grid
 * lines, and dashed lines for the p95, the required bandwidth (with --resync-time) and the chosen link.
 */
// long: one drawing, top to bottom: frame, ticks and grid, bars, naive line, reference lines, peak, legend
export function chartSvg(report: Pick<Report, 'windows' | 'summary'> & Partial<Pick<Report, 'windowMs'>>, opts: { title?: string; width?: number; height?: number; link?: number } = {}): string {
  const W = opts.width ?? 960,
    H = opts.height ?? 420;
  const m = { l: 80, r: 20, t: 40, b: 60 };
  const pw = W - m.l - m.r,
    ph = H - m.t - m.b;
  const rows = bars(report, Math.floor(pw));
  const refs = [
    { value: report.summary.p95Bandwidth, label: `p95 ${formatRate(report.summary.p95Bandwidth)}`, color: '#6b7280' },
    ...(report.summary.requiredBandwidth ? [{ value: report.summary.requiredBandwidth, label: `required ${formatRate(report.summary.requiredBandwidth)}`, color: '#b91c1c' }] : []),
    ...(opts.link ? [{ value: opts.link, label: `link ${formatRate(opts.link)}`, color: '#15803d' }] : []),
  ].filter((r) => r.value > 0);
  const data = Math.max(1e-9, ...rows.map((r) => Math.max(r.bandwidth, r.naive)));
  // the reference lines in sight when they are within 2.5x of the data
  const ax = rateAxis(Math.max(data, ...refs.map((r) => r.value).filter((v) => v <= 2.5 * data)));
  const top = ax.max * ax.scale;
  const x = (i: number) => m.l + (i / Math.max(1, rows.length)) * pw;
  const y = (v: number) => m.t + ph - (v / top) * ph;
  const bw = pw / Math.max(1, rows.length);
  const title = opts.title ?? `Replication bandwidth per ${report.windowMs ? `${Math.round(report.windowMs / 60000)}-minute ` : ''}window`;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16">${esc(title)}</text>`);
  // axes and y ticks
  out.push(`<g id="axes" stroke="#333333">`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}"/>`);
  out.push(`</g>`);
  out.push(`<g id="ticks" fill="#333333">`);
  for (let t = 0; t <= ax.max + 1e-9; t += ax.step) {
    const v = t * ax.scale;
    out.push(`<line x1="${m.l}" y1="${f1(y(v))}" x2="${m.l + pw}" y2="${f1(y(v))}" stroke="#e5e7eb" class="grid"/>`);
    out.push(`<line x1="${m.l - 4}" y1="${f1(y(v))}" x2="${m.l}" y2="${f1(y(v))}" stroke="#333333"/>`);
    out.push(`<text x="${m.l - 6}" y="${f1(y(v) + 4)}" text-anchor="end" class="ytick">${+t.toFixed(6)} ${ax.unit}</text>`);
  }
  const nx = Math.min(rows.length, 5);
  for (let i = 0; i < nx; i++) {
    const j = Math.floor((i * rows.length) / nx);
    out.push(`<text x="${f1(x(j))}" y="${m.t + ph + 18}" text-anchor="start">${esc(label(rows[j]!.start))}</text>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">window start (UTC)</text>`);
  out.push(`<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">bytes per second</text>`);
  out.push(`</g>`);
  // bandwidth bars
  out.push(`<g id="bandwidth" fill="#4477aa">`);
  rows.forEach((r, i) => {
    if (r.bandwidth <= 0) return;
    out.push(`<rect x="${f1(x(i))}" y="${f1(y(r.bandwidth))}" width="${f1(Math.max(0.5, bw * 0.9))}" height="${f1(m.t + ph - y(r.bandwidth))}"/>`);
  });
  out.push(`</g>`);
  // naive write rate line
  if (rows.length > 0) {
    const pts = rows.map((r, i) => `${f1(x(i) + bw / 2)},${f1(y(r.naive))}`).join(' ');
    out.push(`<polyline id="naive" fill="none" stroke="#cc6677" stroke-width="1.5" points="${pts}"/>`);
  }
  // reference lines, labels at least a line apart
  let lastLabel = Infinity;
  for (const r of refs.filter((q) => q.value <= top).sort((a, b) => a.value - b.value)) {
    const ly = Math.min(y(r.value) - 5, lastLabel - 13);
    lastLabel = ly;
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f1(y(r.value))}" y2="${f1(y(r.value))}" stroke="${r.color}" stroke-width="1.2" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${m.l + pw - 4}" y="${f1(ly)}" text-anchor="end" fill="${r.color}" class="reflabel">${esc(r.label)}</text>`);
  }
  // peak marker
  const pi = rows.findIndex((r) => r.peak);
  if (pi >= 0) {
    const r = rows[pi]!;
    const cx = x(pi) + bw / 2,
      cy = y(r.bandwidth);
    const anchor = cx > m.l + pw * 0.7 ? 'end' : 'start';
    out.push(`<g id="peak"><circle cx="${f1(cx)}" cy="${f1(cy)}" r="5" fill="none" stroke="#000000" stroke-width="2"/>`);
    out.push(
      `<text x="${f1(cx + (anchor === 'end' ? -8 : 8))}" y="${f1(Math.max(m.t + 12, cy - 8))}" text-anchor="${anchor}">peak ${esc(formatRate(r.bandwidth))} at ${esc(label(r.start))}</text></g>`,
    );
  }
  // legend
  out.push(`<g id="legend"><rect x="${m.l + 10}" y="${m.t}" width="12" height="12" fill="#4477aa"/><text x="${m.l + 26}" y="${m.t + 10}">changed tracks per window</text>`);
  out.push(
    `<line x1="${m.l + 200}" y1="${m.t + 6}" x2="${m.l + 222}" y2="${m.t + 6}" stroke="#cc6677" stroke-width="1.5"/><text x="${m.l + 226}" y="${m.t + 10}">naive write rate (every byte written)</text></g>`,
  );
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
