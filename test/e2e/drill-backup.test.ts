/**
 * A drill's view as a backup source: `backup create B:SVOL@DRILL --to B:BK` copies the view (its
 * point in time plus its own writes), not the S-VOL, which replication moves on meanwhile; the
 * backup outlives the drill and restores exactly the view's content.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { homeTest } from '../helpers.js';
import { assertEqual, twoSites } from './sites.js';

const SIZE = 4 * 1024 * 1024;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

homeTest("a backup of a drill's view holds the view, not the S-VOL, and restores it after the drill", { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '4M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x11', '--length', '4M');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await h.ok('drill', 'start', 'B:v', '--name', 'd1');
  await h.ok('volume', 'create', 'B:bk', '--size', '4M');
  await h.ok('volume', 'create', 'B:r', '--size', '4M');

  // the view: its point in time (all 0x11) plus its own write; the S-VOL moves on to 0x22 at 2M
  await h.ok('io', 'write', 'B:v@d1', '--offset', '1000k', '--pattern', '0xab', '--length', '100k');
  await h.ok('io', 'write', 'A:v', '--offset', '2M', '--pattern', '0x22', '--length', '1M');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:v', 'B:v');
  const expect = Buffer.alloc(SIZE, 0x11).fill(0xab, 1000 * 1024, 1100 * 1024);
  assert.equal((await h.ok('io', 'checksum', 'B:v@d1', '--json')).sha256, sha(expect));

  const b = await h.ok('backup', 'create', 'B:v@d1', '--to', 'B:bk', '--label', 'drill d1', '--json');
  assert.equal(b.source, 'v@d1');
  assert.equal(b.state, 'good');
  // bad input changes nothing: a view has no change tracking, so no incremental; no view of a drill not running
  await h.fails(2, /ERR_RCOPY_USAGE/, 'backup', 'create', 'B:v@d1', '--to', 'B:bk', '--incremental');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'backup', 'create', 'B:v@nope', '--to', 'B:bk');
  assert.equal((await h.ok('backup', 'list', 'B', '--json')).length, 1);
  // listed by its source, the view's name, with or without the array; a view never recorded is not found
  for (const src of ['v@d1', 'B:v@d1'])
    assert.deepEqual(
      (await h.ok('backup', 'list', 'B', '--source', src, '--json')).map((x: { id: string }) => x.id),
      [b.id],
    );
  assert.deepEqual(await h.ok('backup', 'list', 'B', '--source', 'v', '--json'), []);
  await h.fails(2, /ERR_RCOPY_NOT_FOUND.*drill 'B:nope'/, 'backup', 'list', 'B', '--source', 'v@nope');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND.*'B:w@d1'/, 'backup', 'list', 'B', '--source', 'w@d1');
  assert.equal((await h.ok('backup', 'verify', b.id, '--json')).ok, true);

  // the drill ends; its backup stays and restores the view's content, not the S-VOL's
  await h.ok('drill', 'stop', 'B:d1', '--result', 'pass');
  assert.equal((await h.ok('backup', 'list', 'B', '--source', 'v@d1', '--json')).length, 1, 'listed by the view after the drill too');
  await h.ok('backup', 'restore', b.id, '--to', 'B:r', '--yes');
  assert.equal((await h.ok('io', 'checksum', 'B:r', '--json')).sha256, sha(expect), 'the restore is the view');
  assert.notEqual((await h.ok('io', 'checksum', 'B:v', '--json')).sha256, sha(expect), 'the S-VOL is not the view');
  await assertEqual(h, 'A:v', 'B:v');
});
