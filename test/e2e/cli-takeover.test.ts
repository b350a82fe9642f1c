/** pair takeover --swap: takeover and reversal in one step (like horctakeover). */
import assert from 'node:assert/strict';
import { homeTest } from '../helpers.js';

homeTest('pair takeover --swap: the roles are swapped and the data equal', async (h) => {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:v`, '--size', '32M');
    await h.ok('journal', 'create', `${a}:j`, '--size', '64M');
  }
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '4', '--length', '8M');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained');

  const out = await h.ok('pair', 'takeover', 'B:v', '--swap', '--yes');
  assert.match(out, /took over on B and reversed the direction: resync \(swap\) complete: .* B:v -> A:v PAIR/);
  const show = await h.ok('pair', 'show', 'A:v', '--json');
  assert.deepEqual([show.pvol, show.svol, show.primary.state, show.secondary.state], ['B:v', 'A:v', 'PAIR', 'PAIR']);

  // B is the primary now: its writes reach A
  await h.ok('io', 'write', 'B:v', '--pattern', 'random', '--seed', '5', '--offset', '4M', '--length', '8M');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--drained');
  const sum = async (v: string): Promise<string> => (await h.ok('io', 'checksum', v, '--json')).sha256;
  assert.equal(await sum('A:v'), await sum('B:v'));
  // and back again the same way
  await h.ok('pair', 'takeover', 'A:v', '--swap', '--yes');
  assert.equal((await h.ok('pair', 'show', 'A:v', '--json')).pvol, 'A:v');
  assert.equal(await sum('A:v'), await sum('B:v'));
});
