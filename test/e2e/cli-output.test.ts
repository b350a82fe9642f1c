/**
 * Output that fits: a table fits an 80-column terminal (columns dropped, said in a footer; --wide
 * shows them all), and CSV carries raw values, not display text.
 */
import assert from 'node:assert/strict';
import { homeTest, type TestHome } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';

async function paired(h: TestHome): Promise<void> {
  for (const a of ['siteA', 'siteB']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:database`, '--size', '4M');
    await h.ok('journal', 'create', `${a}:j`, '--size', '8M');
  }
  await h.ok('link', 'add', 'siteA', 'siteB', '--bandwidth', '100MB/s');
  await h.ok('pair', 'create', 'siteA:database', 'siteB:database', '--journal', 'siteA:j,siteB:j', '--wait');
}

homeTest('pair list fits an 80-column terminal; --wide shows every column', { skip: skipNoTmux }, async (h) => {
  await paired(h);
  await inTerminal(
    h,
    ['pair', 'list'],
    async (t) => {
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
      const table = screen.split('\n').filter((l) => /^[┌│└]/.test(l));
      assert.ok(table.length >= 3, screen);
      for (const l of table) assert.ok(l.length <= 80, `${l.length} columns: ${l}`);
      assert.match(screen, /siteA:database │ siteB:database/);
      assert.match(screen, /state P\/S/);
      assert.match(screen, /est\. resync/);
      assert.match(screen, /\(.*journal.* hidden to fit 80 columns: --wide shows them\)/);
    },
    { cols: 80, rows: 30 },
  );
  await inTerminal(
    h,
    ['pair', 'list', '--wide'],
    async (t) => {
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
      assert.doesNotMatch(screen, /hidden to fit/);
      assert.match(screen, /journal/);
    },
    { cols: 80, rows: 30 },
  );
});

homeTest('pair list --format csv carries raw values (numbers), not display text', async (h) => {
  await paired(h);
  const csv = (await h.ok('pair', 'list', '--format', 'csv')).trim().split('\n');
  const head = csv[0]!.split(',');
  const row = csv[1]!.split(',');
  const get = (k: string): string => row[head.indexOf(k)]!;
  assert.equal(get('pvol'), 'siteA:database');
  assert.equal(get('copyPct'), '100');
  assert.equal(get('entriesBehind'), '0');
  assert.equal(get('linkBandwidth'), '100000000');
  assert.doesNotMatch(csv[1]!, /%|\(0 B\)/);
  // and a pipe gets every column of the table
  assert.match(await h.ok('pair', 'list'), /journal/);
});

homeTest('a resync on a terminal shows a bar, bytes done / total, MB/s and an ETA, with its phase', { skip: skipNoTmux }, async (h) => {
  await paired(h);
  await h.ok('volume', 'create', 'siteA:big', '--size', '32M');
  await h.ok('volume', 'create', 'siteB:big', '--size', '32M');
  await h.ok('pair', 'create', 'siteA:big', 'siteB:big', '--journal', 'siteA:j,siteB:j', '--wait');
  await h.ok('pair', 'split', 'siteB:big');
  await h.ok('io', 'write', 'siteA:big', '--pattern', 'random', '--length', '16M');
  await h.ok('link', 'set', 'siteA', 'siteB', '--bandwidth', '2MB/s');
  await inTerminal(
    h,
    ['pair', 'resync', 'siteB:big'],
    async (t) => {
      const s = await t.waitFor(/resync: copying\): \[[#-]+\] [\d.]+ (KiB|MiB) \/ 16\.0 MiB \([\d.]+%\) +[\d.]+ (kB|MB)\/s +ETA/, 60_000);
      assert.doesNotMatch(s, /tracks\/s/);
      await h.ok('link', 'set', 'siteA', 'siteB', '--bandwidth', 'unlimited');
      const { code, screen } = await t.exit(120_000);
      assert.equal(code, 0, screen);
      assert.match(screen, /resync complete/);
    },
    { cols: 80, rows: 30 },
  );
});
