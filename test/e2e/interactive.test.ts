/**
 * End-to-end through a real pseudo-terminal: rcopy runs inside a detached tmux session (its own
 * server socket, killed afterwards), keys are sent with `send-keys` and the screen is read with
 * `capture-pane`. CI=true makes rcopy non-interactive, so the child runs without it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BIN, arrayDirOf, homeTest } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';

const skip = skipNoTmux;
/** One rcopy command line in a pseudo-terminal of 120x40 (cli-terminal.ts). */
const session = inTerminal;

homeTest('volume create with no arguments: choose the array, type the name and size', { skip }, async (h) => {
  await h.ok('array', 'create', 'siteA');
  await h.ok('array', 'create', 'siteB');
  await session(h, ['volume', 'create'], async (t) => {
    const s = await t.waitFor(/On which array\?/);
    assert.match(s, /siteA/);
    assert.match(s, /siteB/);
    t.keys('Down');
    await t.waitFor(/❯ siteB|> siteB/);
    t.keys('Enter');
    await t.waitFor(/Volume name:/);
    t.type('data1');
    t.keys('Enter');
    await t.waitFor(/Size \(e\.g\. 10G\):/);
    t.type('4M');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /created siteB:data1 \(4(\.00)? MiB/);
  });
  const v = await h.ok('volume', 'show', 'siteB:data1', '--json');
  assert.equal(v.size, 4 * 1024 * 1024);
  assert.deepEqual(await h.ok('volume', 'list', 'siteA', '--json'), []);
});

homeTest('a bad answer is asked again, not accepted', { skip }, async (h) => {
  await h.ok('array', 'create', 'only');
  await session(h, ['volume', 'create'], async (t) => {
    await t.waitFor(/On which array\?/);
    t.keys('Enter');
    await t.waitFor(/Volume name:/);
    t.type('bad/name');
    t.keys('Enter');
    await t.waitFor(/letters, digits/);
    for (let i = 0; i < 8; i++) t.keys('BSpace');
    t.type('good');
    t.keys('Enter');
    await t.waitFor(/Size/);
    t.keys('Enter'); // the default, 1G
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
  });
  const v = await h.ok('volume', 'show', 'only:good', '--json');
  assert.equal(v.size, 1024 ** 3);
});

homeTest('array delete NAME asks first: n changes nothing, y deletes', { skip }, async (h) => {
  await h.ok('array', 'create', 'doomed');
  await h.ok('volume', 'create', 'doomed:v1', '--size', '1M');
  await h.ok('array', 'stop', '--all');
  await session(h, ['array', 'delete', 'doomed'], async (t) => {
    const s = await t.waitFor(/Delete array doomed/);
    assert.match(s, /1 volume\(s\)\? Their data is lost/);
    t.type('n');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 2, screen);
    assert.match(screen, /cancelled/);
  });
  assert.ok(fs.existsSync(arrayDirOf(h, 'doomed')), 'answering n kept the array');
  assert.equal((await h.ok('volume', 'list', 'doomed', '--json')).length, 1);
  await h.ok('array', 'stop', '--all');
  await session(h, ['array', 'delete', 'doomed'], async (t) => {
    await t.waitFor(/Delete array doomed/);
    t.type('y');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /deleted array doomed/);
  });
  assert.ok(!fs.existsSync(arrayDirOf(h, 'doomed')), 'answering y deleted the array');
});

homeTest('volume delete asks first, showing what is lost; with no argument it offers the volumes', { skip }, async (h) => {
  await h.ok('array', 'create', 'a1');
  await h.ok('volume', 'create', 'a1:keep', '--size', '2M');
  await h.ok('volume', 'create', 'a1:scratch', '--size', '2M');
  await h.ok('io', 'write', 'a1:scratch', '--pattern', 'random', '--length', '128k');
  await session(h, ['volume', 'delete', 'a1:scratch'], async (t) => {
    const s = await t.waitFor(/Delete volume a1:scratch\?/);
    assert.match(s, /128 KiB of written data is lost/);
    t.type('n');
    t.keys('Enter');
    const { code } = await t.exit();
    assert.equal(code, 2);
  });
  assert.equal((await h.ok('volume', 'list', 'a1', '--json')).length, 2, 'n kept the volume');
  await session(h, ['volume', 'delete'], async (t) => {
    const s = await t.waitFor(/Delete which volume\?/);
    assert.match(s, /a1:keep +\(2(\.00)? MiB, 0 tracks written\)/);
    assert.match(s, /a1:scratch +\(2(\.00)? MiB, 2 tracks written\)/);
    t.keys('Down');
    await t.waitFor(/[❯>] a1:scratch/);
    t.keys('Enter');
    await t.waitFor(/Delete volume a1:scratch\?/);
    t.type('y');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /deleted a1:scratch/);
  });
  const left = await h.ok('volume', 'list', 'a1', '--json');
  assert.deepEqual(
    left.map((v: any) => v.name),
    ['keep'],
  );
});

homeTest('without a terminal nothing prompts: missing arguments and confirmations are usage errors', async (h) => {
  await h.ok('array', 'create', 'a1');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'volume', 'create');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'array', 'delete', 'a1');
  assert.ok(fs.existsSync(arrayDirOf(h, 'a1')));
});

const hasPair = spawnSync(process.execPath, [BIN, 'help', 'pair', 'create'], { encoding: 'utf8' }).status === 0;

homeTest('pair create with no arguments walks through volumes and journals; takeover confirms', { skip: skip || (hasPair ? false : 'needs the pair commands'), timeout: 120_000 }, async (h) => {
  for (const a of ['siteA', 'siteB']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:db`, '--size', '4M');
    await h.ok('journal', 'create', `${a}:j1`, '--size', '16M');
  }
  await h.ok('link', 'add', 'siteA', 'siteB');
  await session(h, ['pair', 'create'], async (t) => {
    const s = await t.waitFor(/Primary volume \(P-VOL\)\?/);
    assert.match(s, /siteA:db +\(4(\.00)? MiB, 0 tracks written\)/);
    t.keys('Enter'); // siteA:db, the first
    const s2 = await t.waitFor(/Secondary volume \(S-VOL\)\?/);
    assert.doesNotMatch(s2.split('Secondary volume')[1]!, /siteA:db/, 'the primary array is not offered for the S-VOL');
    t.keys('Enter');
    const s3 = await t.waitFor(/Master journal on siteA\?/);
    assert.match(s3, /siteA:j1 +\(16(\.0)? MiB, 0% used/);
    t.keys('Enter');
    await t.waitFor(/Restore journal on siteB\?/);
    t.keys('Enter');
    const { code, screen } = await t.exit(60_000);
    assert.equal(code, 0, screen);
  });
  const p = await h.ok('pair', 'show', 'siteA:db', '--json');
  assert.equal(p.svol, 'siteB:db');
  await h.ok('pull', 'start', 'siteB:j1');
  await h.ok('pair', 'wait', 'siteA:db', '--state', 'PAIR', '--timeout', '1m');
  await session(h, ['pair', 'takeover', 'siteB:db'], async (t) => {
    const s = await t.waitFor(/Take over .* on siteB\?/);
    assert.match(s, /writes the primary makes from now on are lost/);
    t.type('n');
    t.keys('Enter');
    const { code } = await t.exit();
    assert.equal(code, 2);
  });
  assert.equal((await h.ok('pair', 'show', 'siteB:db', '--json')).secondary.state, 'PAIR', 'n changed nothing');
  await session(h, ['pair', 'takeover', 'siteB:db'], async (t) => {
    await t.waitFor(/Take over .* on siteB\?/);
    t.type('y');
    t.keys('Enter');
    const { code, screen } = await t.exit(60_000);
    assert.equal(code, 0, screen);
  });
  await h.ok('pair', 'wait', 'siteB:db', '--state', 'SSWS', '--timeout', '30s');
});

homeTest('backup create with no arguments walks through the source and the backup volume', { skip }, async (h) => {
  await h.ok('array', 'create', 'b1');
  await h.ok('volume', 'create', 'b1:src', '--size', '2M');
  await h.ok('volume', 'create', 'b1:tgt', '--size', '2M');
  await h.ok('io', 'write', 'b1:src', '--pattern', 'random', '--length', '256k', '--seed', '4');
  await session(h, ['backup', 'create'], async (t) => {
    const s = await t.waitFor(/Back up which volume\?/);
    assert.match(s, /b1:src/);
    assert.match(s, /b1:tgt/);
    await t.waitFor(/[❯>] b1:src/);
    t.keys('Enter');
    await t.waitFor(/Into which backup volume\?/);
    t.keys('Down');
    await t.waitFor(/[❯>] b1:tgt/);
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /backed up b1:bk-/);
  });
  const list = await h.ok('backup', 'list', 'b1', '--json');
  assert.equal(list.length, 1);
  const src = await h.ok('io', 'checksum', 'b1:src', '--json');
  await h.ok('io', 'write', 'b1:src', '--pattern', '0x99', '--length', '64k');
  // restore confirms, showing what is overwritten: n changes nothing, y restores
  await session(h, ['backup', 'restore', list[0].id], async (t) => {
    await t.waitFor(/Overwrite b1:src/);
    t.type('n');
    t.keys('Enter');
    assert.equal((await t.exit()).code, 2);
  });
  assert.notEqual((await h.ok('io', 'checksum', 'b1:src', '--json')).sha256, src.sha256);
  await session(h, ['backup', 'restore', list[0].id], async (t) => {
    await t.waitFor(/Overwrite b1:src/);
    t.type('y');
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
  });
  assert.equal((await h.ok('io', 'checksum', 'b1:src', '--json')).sha256, src.sha256);
});

homeTest('stats report with no arguments asks for the array and the group', { skip }, async (h) => {
  await h.ok('array', 'create', 's1');
  await h.ok('volume', 'create', 's1:v', '--size', '4M');
  await h.ok('stats', 'define', 's1:g', '--volumes', 'v', '--interval', '1s');
  await h.ok('stats', 'start', 's1:g');
  await h.ok('io', 'write', 's1:v', '--pattern', 'random', '--length', '256k');
  await h.ok('stats', 'collect', 's1:g');
  await session(h, ['stats', 'report', '--window', '10s'], async (t) => {
    await t.waitFor(/Which array\?/);
    t.keys('Enter');
    await t.waitFor(/s1:g|group/i);
    t.keys('Enter');
    const { code, screen } = await t.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /peak/);
  });
});
