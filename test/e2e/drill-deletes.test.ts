/**
 * A journal, volume or array delete --force deletes the pairs that use it first: a running drill of
 * a secondary's group ends with its pair, so the delete names the drill and needs --yes (in a
 * script; at a terminal, its question names it), on either side of the pair, and the drill is
 * ended and recorded, never left running on a group that is gone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, homeTest } from '../helpers.js';
import { twoSites } from './sites.js';

homeTest('journal, volume and array delete --force name a running drill of the group and end it only with --yes, from either side', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('drill', 'start', 'B:v', '--name', 'd1');

  // in a script, without --yes: refused, naming the drill, from the secondary's side and the primary's
  await h.fails(2, /ERR_RCOPY_USAGE.*Journal group g1 has a running drill \(B:d1\): journal delete ends it.*refusing without confirmation.*--yes/s, 'journal', 'delete', 'B:j2', '--force');
  await h.fails(2, /ERR_RCOPY_USAGE.*Journal group g1 has a running drill \(B:d1\): volume delete ends it.*refusing without confirmation/s, 'volume', 'delete', 'A:v', '--force');
  assert.equal((await h.ok('drill', 'show', 'B:d1', '--json')).state, 'running', 'nothing changed');
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR');

  // from the primary's side with --yes: the pair goes on both sides and the secondary's drill ends with it
  const out = await h.ok('journal', 'delete', 'A:j1', '--force', '--yes');
  assert.match(out, /deleted pair .* on both sides/);
  assert.match(out, /ended drill B:d1 \(journal group g1/);
  const d1 = await h.ok('drill', 'show', 'B:d1', '--json');
  assert.deepEqual([d1.state, d1.stopReason, d1.note], ['stopped', 'group', 'ended by pair delete'], 'ended and recorded, not left running on a group that is gone');
  assert.deepEqual(fs.readdirSync(path.join(arrayDirOf(h, 'B'), 'drills')), [], 'its views and their space are gone');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'io', 'read', 'B:v@d1', '--length', '4k');

  // the array of the secondary, in a group with a drill again
  await h.ok('journal', 'create', 'A:j3', '--size', '64M');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j3,B:j2', '--group', 'g2', '--wait');
  await h.ok('drill', 'start', 'B:v', '--name', 'd2');
  await h.fails(2, /ERR_RCOPY_USAGE.*Journal group g2 has a running drill \(B:d2\): array delete ends it.*refusing without confirmation/s, 'array', 'delete', 'B', '--force');
  assert.equal((await h.ok('drill', 'show', 'B:d2', '--json')).state, 'running');
  const gone = await h.ok('array', 'delete', 'B', '--force', '--yes');
  assert.match(gone, /ended drill B:d2 \(journal group g2/);
  assert.match(gone, /deleted array B/);
});
