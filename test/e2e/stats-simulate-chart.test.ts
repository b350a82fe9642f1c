/**
 * The chart of `rcopy stats simulate --chart`: round ticks on both axes of both panels, time labels
 * that do not overlap, the peak marked, the journal / PFUL / RPO / p99 lines, and the HTML page
 * (self-contained: no script, nothing fetched) shown by a real headless browser (Debian chromium):
 * the screenshot is not blank and the browser logs no console error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { homeTest, TRACES } from '../helpers.js';

const HM = join(TRACES, 'hm_0_first1000writes.csv');
const hasChromium = spawnSync('sh', ['-c', 'command -v chromium']).status === 0;

/** The texts of the elements of a class, with their x and y. */
function texts(svg: string, cls: string): Array<{ x: number; y: number; text: string }> {
  return [...svg.matchAll(new RegExp(`<text x="([\\d.-]+)" y="([\\d.-]+)"[^>]*class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => ({ x: Number(m[1]), y: Number(m[2]), text: m[3]! }));
}

/** Decodes an 8-bit RGB(A) PNG: how many pixels are not white. */
function nonWhitePixels(png: Buffer): { total: number; nonWhite: number } {
  let p = 8;
  let width = 0,
    height = 0,
    type = 0;
  const idat: Buffer[] = [];
  while (p < png.length) {
    const len = png.readUInt32BE(p);
    const kind = png.toString('latin1', p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      type = data[9]!;
    } else if (kind === 'IDAT') idat.push(data);
    p += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const cur = Buffer.alloc(stride);
  let prev = Buffer.alloc(stride);
  let nonWhite = 0;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const pa = Math.abs(b - c),
        pb = Math.abs(a - c),
        pc = Math.abs(a + b - 2 * c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      cur[i] = (line[i]! + pred) & 255;
    }
    for (let i = 0; i < stride; i += bpp) if (cur[i]! < 240 || cur[i + 1]! < 240 || cur[i + 2]! < 240) nonWhite++;
    prev = Buffer.from(cur);
  }
  return { total: width * height, nonWhite };
}

homeTest('the simulation chart: round ticks with grid lines, no overlapping labels, the peak and the reference lines', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const dir = h.tempDir();
  const svgFile = join(dir, 'sim.svg');
  const sim = await h.ok('stats', 'simulate', 'S:g', '--trace', HM, '--format', 'msr', '--bandwidth', '400kb/s', '--journal', '1536k', '--rpo', '10s', '--chart', svgFile, '--json');
  assert.equal(sim.chart, svgFile);
  const svg = readFileSync(svgFile, 'utf8');
  assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'));
  // value ticks: 0, s, 2s, ... with s = 1, 2 or 5 x 10^k, in each panel
  const ticks = texts(svg, 'ytick');
  const panels = [ticks.filter((t) => t.y < 230), ticks.filter((t) => t.y >= 230)];
  for (const ts of panels) {
    assert.ok(ts.length >= 3, `${ts.length} ticks`);
    const v = ts.map((t) => Number(t.text.split(' ')[0]));
    const step = v[1]! - v[0]!;
    assert.equal(v[0], 0);
    const mant = step / 10 ** Math.floor(Math.log10(step));
    assert.ok(
      [1, 2, 5].some((m) => Math.abs(mant - m) < 1e-9),
      `round step ${step}`,
    );
    v.forEach((x, i) => assert.ok(Math.abs(x - i * step) < 1e-9, `tick ${x}`));
  }
  // time ticks: whole steps, labels apart by more than their width
  const xt = texts(svg, 'xtick').filter((t) => t.y < 230);
  assert.ok(xt.length >= 3);
  for (let i = 1; i < xt.length; i++) assert.ok(xt[i]!.x - xt[i - 1]!.x >= 90, `labels ${xt[i - 1]!.text} and ${xt[i]!.text} overlap`);
  assert.equal(new Set(xt.map((t) => t.text)).size, xt.length, 'no label repeated');
  // grid lines, the peak marked with its value, and the lines a manager looks for
  assert.ok((svg.match(/class="grid"/g) ?? []).length >= 10);
  assert.match(svg, /<circle [^>]*class="peak"/);
  const peak = texts(svg, 'peaklabel');
  assert.equal(peak.length, 1);
  assert.match(peak[0]!.text, new RegExp(`^peak [\\d.]+ (KiB|MiB) \\(${(sim.result.peak.share * 100).toFixed(1)}%\\)$`));
  for (const label of ['journal 1.50 MiB', 'PFUL 80%', 'RPO 10.0s', 'p99 ']) assert.ok(svg.includes(label), label);
  // reference labels at least a line apart
  const refs = texts(svg, 'reflabel').sort((a, b) => a.y - b.y);
  for (let i = 1; i < refs.length; i++) if (Math.abs(refs[i]!.x - refs[i - 1]!.x) < 1) assert.ok(refs[i]!.y - refs[i - 1]!.y >= 12 || Math.abs(refs[i]!.y - refs[i - 1]!.y) > 100);
});

homeTest(
  'the HTML pages (simulation and report) are self-contained and a real browser renders them without console errors',
  { skip: hasChromium ? false : 'chromium is not installed (.ci/run installs it)', timeout: 180_000 },
  async (h) => {
    await h.ok('array', 'create', 'S', '--durability', 'none');
    const dir = h.tempDir();
    const page = join(dir, 'sim.html');
    await h.ok('stats', 'simulate', 'S:g', '--trace', HM, '--format', 'msr', '--bandwidth', '400kb/s', '--journal', '2M', '--rpo', '10s', '--solve', '--chart', page);
    const html = readFileSync(page, 'utf8');
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(!/<script|src=|href=|url\(/i.test(html), 'nothing fetched, no script');
    for (const k of ['peak journal usage', 'overflow (PFUS)', 'lag p50 / p90 / p99 / max', 'least bandwidth', 'Assumptions']) assert.ok(html.includes(k), k);
    // the report's page (stats report --chart x.html) too
    await h.ok('stats', 'import', 'S:hm', '--trace', HM, '--format', 'msr', '--interval', '1m', '--track-size', '64k');
    const report = join(dir, 'report.html');
    await h.ok('stats', 'report', 'S:hm', '--window', '1m', '--resync-time', '5m', '--path-speed', '1Gb/s', '--chart', report);
    const rhtml = readFileSync(report, 'utf8');
    assert.ok(rhtml.startsWith('<!doctype html>') && rhtml.includes('<svg'));
    assert.ok(!/<script|src=|href=|url\(/i.test(rhtml), 'nothing fetched, no script');
    for (const k of ['peak', '95th percentile', 'distinct', 'required', 'paths']) assert.ok(rhtml.includes(`<th>${k}`), k);
    for (const [i, url] of [page, report].entries()) {
      const shot = join(dir, `shot${i}.png`);
      const r = spawnSync(
        'chromium',
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--hide-scrollbars',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--enable-logging=stderr',
          '--v=0',
          '--window-size=1040,1100',
          `--screenshot=${shot}`,
          `file://${url}`,
        ],
        { encoding: 'utf8', timeout: 150_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const consoleErrors = r.stderr.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/i.test(l));
      assert.deepEqual(consoleErrors, [], url);
      const px = nonWhitePixels(readFileSync(shot));
      assert.ok(px.nonWhite > px.total * 0.02, `the screenshot of ${url} has drawing: ${px.nonWhite} of ${px.total} pixels`);
    }
  },
);
