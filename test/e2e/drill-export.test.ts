/**
 * A drill's view as an NBD export: qemu-io writes through NBD into the view (its overlay), never
 * the S-VOL or the P-VOL; replication goes on (S == P once drained); the export survives a
 * controller restart; drill stop ends the export first; an export whose view went while the
 * controller was down is dropped when it starts.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, homeTest, waitFor } from '../helpers.js';
import { exportUri, needs, tool, toolOk } from './nbd-helpers.js';
import { armFault, assertEqual, twoSites } from './sites.js';

const SIZE = 4 * 1024 * 1024;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

homeTest('a drill view exported over NBD: writes go to the view only; drill stop ends the export', { ...needs('qemu-io', 'nbdinfo'), timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '4M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x11', '--length', '4M');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await h.ok('drill', 'start', 'B:v', '--name', 'd1');

  // not a running drill's view: refused, nothing exported
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'export', 'start', 'B:v@nope');
  assert.deepEqual(await h.ok('export', 'list', 'B', '--json'), []);

  const sock = `${h.tempDir()}/view.sock`;
  const uri = await exportUri(h, 'B:v@d1', '--socket', sock);
  const info = JSON.parse(await toolOk(['nbdinfo', '--json', uri]));
  assert.equal(info.exports[0]['export-size'], SIZE);
  assert.equal(info.exports[0]['is_read_only'], false, 'a view is writable');

  const expect = Buffer.alloc(SIZE, 0x11);
  const out = await toolOk(['qemu-io', '-f', 'raw', '-c', 'write -P 0xab 12345 70001', '-c', 'flush', '-c', 'read -P 0xab 12345 70001', '-c', 'read -P 0x11 0 12345', uri]);
  assert.doesNotMatch(out, /Pattern verification failed|error|failed/i, out);
  expect.fill(0xab, 12345, 12345 + 70001);
  assert.equal((await h.ok('io', 'checksum', 'B:v@d1', '--json')).sha256, sha(expect), 'the view has the NBD write');
  const plain = sha(Buffer.alloc(SIZE, 0x11));
  assert.equal((await h.ok('io', 'checksum', 'B:v', '--json')).sha256, plain, 'the S-VOL has not');
  assert.equal((await h.ok('io', 'checksum', 'A:v', '--json')).sha256, plain, 'the P-VOL has not');
  assert.equal((await h.ok('drill', 'show', 'B:d1', '--json')).bytesWritten, 70001);

  // replication goes on under the export; the view keeps its point in time and its write
  await h.ok('io', 'write', 'A:v', '--offset', '1M', '--pattern', '0x22', '--length', '1M');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:v', 'B:v');
  const viaNbd = await toolOk(['qemu-io', '-f', 'raw', '-c', 'read -P 0x11 1048576 1048576', '-c', 'read -P 0xab 12345 70001', uri]);
  assert.doesNotMatch(viaNbd, /Pattern verification failed|error|failed/i, viaNbd);

  // a restarted controller serves the view's export again
  await h.ok('array', 'stop', 'B');
  await h.ok('array', 'start', 'B');
  await waitFor(async () => (await h.ok('export', 'list', 'B', '--json'))[0]?.serving === true, 60_000);
  assert.match(await toolOk(['qemu-io', '-f', 'raw', '-c', 'read -P 0xab 12345 70001', uri]), /read 70001\/70001 bytes/);

  // drill stop ends the export first: no export, no socket, no client gets in
  await h.ok('drill', 'stop', 'B:d1', '--result', 'pass');
  assert.deepEqual(await h.ok('export', 'list', 'B', '--json'), []);
  assert.equal(fs.existsSync(sock), false, 'the socket is gone');
  assert.notEqual((await tool(['nbdinfo', '--json', uri])).code, 0, 'the export is not served');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'export', 'start', 'B:v@d1');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('a drill that reaches --max-size through its NBD export ends, and so does the export', { ...needs('qemu-io'), timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '4M', durability: 'none' });
  await h.ok('drill', 'start', 'B:v', '--name', 'd2', '--max-size', '256k');
  // the default name is the view's (v@d2), in the URI as v%40d2
  const uri = await exportUri(h, 'B:v@d2');
  assert.match(uri, /\/v%40d2\?socket=/);
  assert.match(await toolOk(['qemu-io', '-f', 'raw', '-c', 'write -P 0x5a 0 64k', uri]), /wrote 65536\/65536 bytes/);
  // past --max-size: the write fails, the drill is stopped (limit) and its export with it, never the replication
  const r = await tool(['qemu-io', '-f', 'raw', '-c', 'write -P 0x5b 1M 1M', uri]);
  assert.doesNotMatch(r.stdout, /wrote 1048576\/1048576/, r.stdout);
  await waitFor(async () => (await h.ok('export', 'list', 'B', '--json')).length === 0, 60_000);
  const d = await h.ok('drill', 'show', 'B:d2', '--json');
  assert.equal(d.state, 'stopped');
  assert.equal(d.stopReason, 'limit');
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR');
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x33', '--length', '1M');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('an export whose drill ended as the controller was killed is dropped at the next start, and the log says why', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '4M', durability: 'none' });
  await h.ok('drill', 'start', 'B:v', '--name', 'd3', '--max-size', '256k');
  await exportUri(h, 'B:v@d3');
  assert.equal((await h.ok('export', 'list', 'B', '--json'))[0]?.volume, 'v@d3');
  // a restore past --max-size ends the drill; killed once its record says stopped, before its export ends
  await armFault(h, 'B', 'drill-stop-recorded', () => h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x44', '--length', '1M'));
  await h.ok('array', 'start', 'B');
  assert.deepEqual(await h.ok('export', 'list', 'B', '--json'), [], 'the export of the gone view is dropped');
  const log = fs.readFileSync(path.join(arrayDirOf(h, 'B'), 'controller.log'), 'utf8');
  assert.match(log, /NBD export 'v@d3' dropped: its drill view v@d3 no longer exists/);
  const d = await h.ok('drill', 'show', 'B:d3', '--json');
  assert.deepEqual([d.state, d.stopReason], ['stopped', 'limit']);
  assert.deepEqual(fs.readdirSync(path.join(arrayDirOf(h, 'B'), 'drills')), [], 'its files are gone too');
  // replication went on through it all; a new export of the name is refused (no such view)
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:v', 'B:v');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'export', 'start', 'B:v@d3');
  // and the drop is kept: another restart does not log it again
  await h.ok('array', 'stop', 'B');
  await h.ok('array', 'start', 'B');
  assert.deepEqual(await h.ok('export', 'list', 'B', '--json'), []);
  assert.equal(fs.readFileSync(path.join(arrayDirOf(h, 'B'), 'controller.log'), 'utf8').match(/NBD export 'v@d3' dropped/g)?.length, 1);
});
