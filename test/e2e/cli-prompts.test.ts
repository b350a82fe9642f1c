/**
 * Prompts on a real terminal (tmux) for missing arguments: names are chosen from lists, values are
 * checked as typed and asked again on error, the flow goes on after a bad answer; a question
 * about a command that would end a running drill names the drill.
 */
import assert from 'node:assert/strict';
import { homeTest } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';
import { twoSites } from './sites.js';

homeTest('volume create: a size that is not a multiple of the track size is asked again, then the flow goes on', { skip: skipNoTmux }, async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('array', 'create', 'small', '--track-size', '4k');
  await inTerminal(h, ['volume', 'create'], async (t) => {
    await t.waitFor(/On which array\?/);
    t.keys('Enter'); // A
    await t.waitFor(/Volume name:/);
    t.type('data');
    t.keys('Enter');
    await t.waitFor(/Size \(e\.g\. 10G\):/);
    t.type('100k');
    t.keys('Enter');
    const s = await t.waitFor(/not a multiple of the track size \(64\.0 KiB\): 128 KiB would do/);
    assert.doesNotMatch(s, /\[exit/);
    for (let i = 0; i < 4; i++) t.keys('BSpace');
    t.type('128k');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /created A:data \(128 KiB/);
  });
  // on an array of 4 KiB tracks, 100k is a size as it is
  await inTerminal(h, ['volume', 'create', 'small:x'], async (t) => {
    await t.waitFor(/Size/);
    t.type('100k');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /created small:x \(100 KiB/);
  });
});

homeTest('link down with no arguments: both arrays are chosen from lists; journal create asks name and size', { skip: skipNoTmux }, async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('array', 'create', 'B');
  await h.ok('link', 'add', 'A', 'B');
  await inTerminal(h, ['link', 'down'], async (t) => {
    const s = await t.waitFor(/Link from which array\?/);
    assert.match(s, /A/);
    t.keys('Enter');
    const s2 = await t.waitFor(/Link A to which array\?/);
    assert.match(s2, /B/);
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /link A <-> B: DOWN/);
  });
  assert.equal((await h.ok('link', 'show', 'A', 'B', '--json')).up, false);
  await inTerminal(h, ['journal', 'create'], async (t) => {
    await t.waitFor(/Which array\?/);
    t.keys('Down', 'Enter'); // B
    await t.waitFor(/Journal name:/);
    t.type('j1');
    t.keys('Enter');
    await t.waitFor(/Journal size/);
    t.type('lots');
    t.keys('Enter');
    await t.waitFor(/invalid size 'lots'/);
    for (let i = 0; i < 4; i++) t.keys('BSpace');
    t.type('8M');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /created journal B:j1 \(8(\.00)? MiB\)/);
  });
});

/** A terminal wide enough that a question stays on one line. */
const WIDE = { cols: 400, rows: 40 };

homeTest('pair takeover, delete and split at a terminal name the running drill they would end; no keeps it, yes ends it', { skip: skipNoTmux, timeout: 180_000 }, async (h) => {
  await twoSites(h, { size: '4M', durability: 'none' });
  await h.ok('drill', 'start', 'B:v', '--name', 'g');
  for (const args of [
    ['pair', 'takeover', 'B:v'],
    ['pair', 'delete', 'A:v'],
  ]) {
    await inTerminal(
      h,
      args,
      async (t) => {
        await t.waitFor(/Journal group g1 has a running drill \(B:g\): pair (takeover|delete) ends it \(its views and their space go, its record stays\)\. \(y\/N\)/);
        t.type('n');
        t.keys('Enter');
        const { code, screen } = await t.exit();
        assert.equal(code, 2, screen);
        assert.match(screen, /cancelled/);
      },
      WIDE,
    );
  }
  assert.equal((await h.ok('drill', 'show', 'B:g', '--json')).state, 'running', 'no: the drill runs on');
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR');
  await inTerminal(
    h,
    ['pair', 'split', 'B:v'],
    async (t) => {
      await t.waitFor(/Journal group g1 has a running drill \(B:g\): pair split ends it \(its views and their space go, its record stays\)\. Go on\? \(y\/N\)/);
      t.type('y');
      t.keys('Enter');
      const { code, screen } = await t.exit();
      assert.equal(code, 0, screen);
    },
    WIDE,
  );
  const d = await h.ok('drill', 'show', 'B:g', '--json');
  assert.deepEqual([d.state, d.note], ['stopped', 'ended by pair split']);
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'SSUS');
});
