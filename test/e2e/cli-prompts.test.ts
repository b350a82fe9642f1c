/**
 * Prompts on a real terminal (tmux) for missing arguments: names are chosen from lists, values are
 * checked as typed and asked again on error, the flow goes on after a bad answer.
 */
import assert from 'node:assert/strict';
import { homeTest } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';

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
