import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSvg, chartText } from '../../../src/cli/render/chart.js';
import { buildReport } from '../../../src/engine/stats/report/build.js';
import { entry } from '../../engine/stats/helpers.js';

const M = 60_000;
const report = () => buildReport([entry('a', 0, M, [1, 2]), entry('a', M, 2 * M, [1, 2, 3, 4, 5]), entry('a', 3 * M, 4 * M, [7])], { windowMs: M });

/** Checks that tags nest properly (a small XML well-formedness check). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]!);
  }
  return stack.length === 0;
}

test('text chart: one row per window, peak marked, no colour codes', () => {
  const t = chartText(report(), 80);
  const rows = t.trimEnd().split('\n');
  assert.equal(rows.length, 5);
  assert.match(rows[2]!, /#+ <- peak/);
  // eslint-disable-next-line no-control-regex -- the escape character is what the check looks for
  assert.doesNotMatch(t, /\x1b\[/);
  assert.equal(chartText(buildReport([], { windowMs: M }), 80), '(no windows)\n');
  const many = chartText(
    buildReport(
      Array.from({ length: 500 }, (_, i) => entry('a', i * M, (i + 1) * M, [i % 50])),
      { windowMs: M },
    ),
    80,
    { maxRows: 20 },
  );
  assert.ok(many.trimEnd().split('\n').length <= 21);
});

test('SVG chart is well-formed and marks the peak', () => {
  const svg = chartSvg(report(), { title: 'a <test> & title' });
  assert.ok(svg.startsWith('<svg '));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(balanced(svg), 'tags balanced');
  assert.match(svg, /id="peak"/);
  assert.match(svg, /id="naive"/);
  assert.match(svg, /a &lt;test&gt; &amp; title/);
  assert.match(svg, /bytes per second/);
  assert.ok(balanced(chartSvg(buildReport([], { windowMs: M }))));
});

test('SVG chart of a report: round ticks with grid lines, and lines for the p95, the required bandwidth and the chosen link', () => {
  const rep = buildReport(
    Array.from({ length: 30 }, (_, i) =>
      entry(
        'a',
        i * M,
        (i + 1) * M,
        Array.from({ length: 1 + (i % 7) * 3 }, (_, k) => k),
      ),
    ),
    { windowMs: M, resyncTimeMs: 60_000 },
  );
  const link = rep.summary.peak!.bandwidth * 1.5;
  const svg = chartSvg(rep, { link });
  const ticks = [...svg.matchAll(/class="ytick">([\d.]+) ([kMG]?B\/s)</g)].map((m) => Number(m[1]));
  assert.ok(ticks.length >= 3);
  const step = ticks[1]! - ticks[0]!;
  const mant = step / 10 ** Math.floor(Math.log10(step));
  assert.ok(
    [1, 2, 5].some((x) => Math.abs(mant - x) < 1e-9),
    `round step ${step}`,
  );
  ticks.forEach((v, i) => assert.ok(Math.abs(v - i * step) < 1e-9));
  assert.equal((svg.match(/class="grid"/g) ?? []).length, ticks.length);
  for (const label of ['p95 ', 'required ', 'link ']) assert.ok(svg.includes(`class="reflabel">${label}`), label);
  const ys = [...svg.matchAll(/y="([\d.]+)"[^>]*class="reflabel"/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! - ys[i - 1]! >= 12, 'reference labels do not overlap');
  assert.ok(balanced(svg));
});
