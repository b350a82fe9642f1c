/**
 * NBD exports served by the array controller, used by real clients: nbdinfo, qemu-img, qemu-io.
 * Every write over NBD is a host write: on a P-VOL it reaches the S-VOL through the journal.
 */
import assert from 'node:assert/strict';
import { homeTest } from '../helpers.js';
import { exportUri, needs, randomImage, toolOk } from './nbd-helpers.js';
import { sums, twoSites } from './sites.js';

homeTest('nbdinfo sees the export; qemu-img convert -n into a P-VOL export arrives on the S-VOL', needs('nbdinfo', 'qemu-img'), async (h) => {
  await twoSites(h, { size: '32M', durability: 'fsync' });
  await h.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const uri = await exportUri(h, 'A:v');
  assert.match(uri, /^nbd\+unix:\/\/\/v\?socket=\//);
  const info = await toolOk(['nbdinfo', '--json', uri]);
  const exp = JSON.parse(info).exports[0];
  assert.equal(exp['export-size'], 32 * 1024 * 1024);
  assert.equal(exp['can_flush'], true);
  assert.equal(exp['can_multi_conn'], true);
  assert.match(await toolOk(['nbdinfo', '--list', uri]), /export="v"/);
  const img = randomImage(h, 32 * 1024 * 1024, 7);
  await toolOk(['qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', img.file, uri]);
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const [a, b] = await sums(h, 'A:v', 'B:v');
  assert.equal(a, img.sha256);
  assert.equal(b, img.sha256);
  const list = await h.ok('export', 'list', 'A', '--json');
  assert.equal(list.length, 1);
  assert.equal(list[0].clients, 0);
  assert.ok(list[0].bytesWritten >= 32 * 1024 * 1024, `bytes written ${list[0].bytesWritten}`);
  assert.deepEqual((await h.ok('export', 'stop', 'A:v', '--json')).stopped, ['v']);
  assert.deepEqual(await h.ok('export', 'list', 'A', '--json'), []);
});
