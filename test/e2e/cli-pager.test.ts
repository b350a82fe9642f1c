/**
 * Long output on a terminal goes through the pager (git style: $RCOPY_PAGER / $PAGER / less -FRX),
 * never into a pipe, never with --no-pager; `stats report --summary` gives the few lines that matter.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { TRACES, homeTest, type TestHome } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';
import { have } from './nbd-helpers.js';

async function imported(h: TestHome): Promise<void> {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('stats', 'import', 'A:t', '--trace', path.join(TRACES, 'wdev_1.csv'), '--format', 'msr', '--interval', '1m');
}

const REPORT = ['stats', 'report', 'A:t', '--window', '1h'];

homeTest('stats report --summary: a few lines with the figures; a pipe gets the whole report, never a pager', async (h) => {
  await imported(h);
  const full = await h.run(REPORT, { env: { RCOPY_PAGER: 'wc -l' } });
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /window start/, 'the table is there');
  assert.ok(full.stdout.trim().split('\n').length > 40, 'a long report');
  const sum = await h.run([...REPORT, '--summary', '--resync-time', '5m']);
  assert.equal(sum.code, 0, sum.stderr);
  const lines = sum.stdout.trim().split('\n');
  assert.ok(lines.length <= 8, `--summary is short:\n${sum.stdout}`);
  assert.match(lines[0]!, /^A:t: \d+ windows of 1h from \S+Z to \S+Z$/);
  assert.match(sum.stdout, /^ {2}peak {7}\S+/m);
  assert.match(sum.stdout, /^ {2}95th pct /m);
  assert.match(sum.stdout, /^ {2}required {3}[\d.]+ \S+ to resynchronise the peak window's changes in 5m/m);
  assert.doesNotMatch(sum.stdout, /window start|│|┤/, 'no table, no chart');
  // the data of --json is the same with and without --summary
  const a = (await h.ok(...REPORT, '--json')).summary;
  const b = (await h.ok(...REPORT, '--summary', '--json')).summary;
  assert.deepEqual(a, b);
});

homeTest('on a terminal a long report goes through $RCOPY_PAGER, a short output and --no-pager do not', { skip: skipNoTmux, timeout: 180_000 }, async (h) => {
  await imported(h);
  // the pager `wc -l` prints how many lines it was given: exactly the report
  await inTerminal(
    h,
    REPORT,
    async (t) => {
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
      const n = /^(\d+)$/m.exec(screen);
      assert.ok(n && Number(n[1]) > 40, `the pager got the whole report:\n${screen}`);
      assert.doesNotMatch(screen, /window start/);
    },
    undefined,
    "RCOPY_PAGER='wc -l'",
  );
  await inTerminal(
    h,
    [...REPORT, '--no-pager'],
    async (t) => {
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
      assert.doesNotMatch(screen, /^\d+$/m);
      assert.match(screen, /####/, 'the report itself (its chart) is on the screen');
    },
    undefined,
    "RCOPY_PAGER='wc -l'",
  );
  await inTerminal(
    h,
    ['array', 'list'],
    async (t) => {
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
      assert.match(screen, /\bA\b/);
      assert.doesNotMatch(screen, /^\d+$/m, 'a short output is printed, not paged');
    },
    undefined,
    "RCOPY_PAGER='wc -l'",
  );
  // the default pager is less -FRX: it waits on a long report, q ends it with status 0
  if (have('less'))
    await inTerminal(
      h,
      REPORT,
      async (t) => {
        await t.waitFor(/window start/);
        await t.waitFor(/^:\s*$/m);
        t.keys('q');
        const { code } = await t.exit();
        assert.equal(code, 0);
      },
      { cols: 120, rows: 30 },
      'RCOPY_PAGER=less LESS=FRX',
    );
});
