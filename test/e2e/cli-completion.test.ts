/**
 * Shell completion asks rcopy for names at completion time (`rcopy __complete`): the bash script is
 * sourced in a real bash and its completion function called as bash would, with COMP_LINE set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, homeTest, type TestHome } from '../helpers.js';

/** What bash completes for each line (the words of COMPREPLY, sorted). */
function completeBash(h: TestHome, lines: string[]): string[][] {
  const bin = h.tempDir();
  fs.writeFileSync(path.join(bin, 'rcopy'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o700 });
  const script = [
    'source <(rcopy completion bash) || exit 9',
    'comp() { COMP_LINE="$1"; COMP_POINT=${#1}; COMPREPLY=(); _rcopy; printf "%s\\n" "${COMPREPLY[@]}" | sort; echo "@@"; }',
    ...lines.map((l) => `comp ${JSON.stringify(l)}`),
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { env: { ...h.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('@@\n')
    .slice(0, lines.length)
    .map((b) => b.split('\n').filter((w) => w !== ''));
}

homeTest('bash completion completes arrays, volumes, journals, groups, backups, drills and states by asking rcopy', async (h) => {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a);
    await h.ok('journal', 'create', `${a}:j1`, '--size', '8M');
  }
  await h.ok('volume', 'create', 'A:data', '--size', '4M');
  await h.ok('volume', 'create', 'A:db', '--size', '4M');
  await h.ok('volume', 'create', 'A:bk', '--size', '4M');
  await h.ok('volume', 'create', 'B:db', '--size', '4M');
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:db', 'B:db', '--journal', 'A:j1,B:j1', '--group', 'payroll', '--wait');
  await h.ok('backup', 'create', 'A:data', '--to', 'A:bk');
  await h.ok('drill', 'start', 'B:db', '--name', 'dr1');
  await h.ok('drill', 'stop', 'B:dr1', '--result', 'pass');
  await h.ok('array', 'stop', '--all');

  const [vols, volsA, journals, groups, states, backups, arrays, sub, volsB, drills] = completeBash(h, [
    'rcopy volume show ',
    'rcopy volume show A:d',
    'rcopy journal delete B:',
    'rcopy pair split --group ',
    'rcopy pair wait B:db --state PS',
    'rcopy backup show A:',
    'rcopy link down ',
    'rcopy pair ta',
    'rcopy volume show B:',
    'rcopy drill show B:',
  ]);
  // bash: the array first (ARRAY:), then the names on it
  assert.deepEqual(vols, ['A:', 'B:']);
  assert.deepEqual(volsB, ['db']);
  // bash splits words at ':': the replies are what follows the colon
  assert.deepEqual(volsA, ['data', 'db']);
  assert.deepEqual(journals, ['j1']);
  assert.deepEqual(groups, ['payroll']);
  assert.deepEqual(states, ['PSUE', 'PSUS']);
  assert.deepEqual(backups, ['bk-000001']);
  assert.deepEqual(arrays, ['A', 'B']);
  assert.deepEqual(sub, ['takeover']);
  assert.deepEqual(drills, ['dr1'], 'drill names, running or past');
  // completion started no controller
  assert.deepEqual(h.pids(), []);
  assert.equal(await h.ok('__complete', 'volumes', 'B:'), 'B:db\n');
});

const HAVE_FISH = spawnSync('fish', ['--version']).status === 0;

homeTest('fish completion: subcommands from the tree, volume and journal names and states from rcopy', { skip: HAVE_FISH ? false : 'fish is not installed (apt-get install fish)' }, async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:data', '--size', '4M');
  await h.ok('journal', 'create', 'A:j1', '--size', '8M');
  await h.ok('array', 'stop', '--all');
  const bin = h.tempDir();
  fs.writeFileSync(path.join(bin, 'rcopy'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o700 });
  const lines = ['rcopy pair ta', 'rcopy volume show ', 'rcopy journal show A:', 'rcopy pair wait --state PS'];
  const script = ['rcopy completion fish | source', ...lines.map((l) => `complete -C ${JSON.stringify(l)}; echo @@`)].join('\n');
  const r = spawnSync('fish', ['--no-config', '-c', script], { env: { ...h.env, PATH: `${bin}:${process.env.PATH}`, HOME: bin }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const [sub, vols, journals, states] = r.stdout.split('@@\n').map((b) =>
    b
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]),
  );
  assert.deepEqual(sub, ['takeover']);
  assert.deepEqual(vols, ['A:data']);
  assert.deepEqual(journals, ['A:j1']);
  assert.deepEqual(states!.sort(), ['PSUE', 'PSUS']);
  assert.deepEqual(h.pids(), []);
});
