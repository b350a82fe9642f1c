/**
 * Sizing that holds (issue 6, point 5): collect PB bits during a workload, size the link from the
 * report, then replicate the same workload over a link of that bandwidth and check it keeps up.
 *
 * Journal replication ships every write, so a link sized from distinct tracks keeps up when the
 * workload rarely rewrites a track within a window (here: small sequential writes, where whole tracks
 * cost more than the bytes written and the report's figure is the larger one). For workloads that
 * rewrite hot tracks the report's naive figure (every byte written) is the journal's need, and the
 * distinct-track figure is what a bitmap resync of the same window costs (tested in stats.test.ts).
 */
import assert from 'node:assert/strict';
import { sleep, homeTest } from '../helpers.js';
import { assertEqual } from './sites.js';

homeTest('a link set to the reported bandwidth keeps up with the same workload', async (h) => {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a, '--durability', 'none');
    await h.ok('volume', 'create', `${a}:v`, '--size', '64M');
  }
  await h.ok('stats', 'define', 'A:g', '--volumes', 'v', '--interval', '1s');
  await h.ok('stats', 'start', 'A:g', '--interval', '1s');
  const workload = ['workload', 'run', 'A:v', '--pattern', 'seq', '--bs', '16k', '--rate', '3MB/s', '--bytes', '18M', '--depth', '1', '--seed', '5'];
  await h.ok(...workload);
  await h.ok('stats', 'stop', 'A:g');
  const rep = await h.ok('stats', 'report', 'A:g', '--window', '2s', '--json');
  const peak = rep.summary.peak.bandwidth as number;
  const naivePeak = rep.summary.naivePeakBandwidth as number;
  assert.ok(peak >= naivePeak, `whole tracks cost at least the bytes written here (${peak} vs ${naivePeak})`);
  // the link gets exactly the reported peak (plus nothing): the journal must not run away
  await h.ok('journal', 'create', 'A:j1', '--size', '64M');
  await h.ok('journal', 'create', 'B:j2', '--size', '64M');
  await h.ok('link', 'add', 'A', 'B', '--bandwidth', `${Math.ceil(peak)}`);
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--nocopy');
  const run = h.run(workload);
  let maxBehind = 0;
  let maxLag = 0;
  for (let i = 0; i < 10; i++) {
    await sleep(500);
    const [row] = await h.ok('pair', 'list', '--json');
    maxBehind = Math.max(maxBehind, row.bytesBehind ?? 0);
    maxLag = Math.max(maxLag, row.lagSeconds ?? 0);
  }
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  // keeping up: never more than one window (2 s) of writes behind, and drained within a window after
  const windowBytes = peak * 2;
  assert.ok(maxBehind <= windowBytes * 1.5, `at most ~a window behind (${maxBehind} bytes, window ${windowBytes})`);
  assert.ok(maxLag < 4, `lag stays under two windows (${maxLag.toFixed(2)} s)`);
  const t0 = Date.now();
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '10s');
  const drainSeconds = (Date.now() - t0) / 1000;
  console.log(
    `# sizing: reported peak ${(peak / 1e6).toFixed(2)} MB/s (naive ${(naivePeak / 1e6).toFixed(2)}); max behind ${maxBehind} B, max lag ${maxLag.toFixed(2)} s, drained ${drainSeconds.toFixed(2)} s after`,
  );
  assert.ok(drainSeconds < 4, 'drained within two windows after the workload');
  await assertEqual(h, 'A:v', 'B:v');
});
