/**
 * NBD exports are part of the array's state: served again after a controller restart (a stop, or
 * kill -9 that leaves a stale socket behind), with what a client flushed still there. TCP exports
 * on the loopback (--listen 127.0.0.1:PORT).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { arrayDirOf, homeTest, waitFor } from '../helpers.js';
import { livePid } from '../../src/engine/array/controller-process.js';
import { exportUri, needs, randomImage, toolOk } from './nbd-helpers.js';
import { sums } from './sites.js';

homeTest('exports survive a stop and a kill -9 of the controller; what qemu-img flushed is there', needs('nbdinfo', 'qemu-img'), async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '8M');
  await h.ok('volume', 'create', 'A:w', '--size', '8M');
  const uri = await exportUri(h, 'A:v');
  const tcp = await exportUri(h, 'A:w', '--listen', '127.0.0.1:0', '--name', 'wide');
  assert.match(tcp, /^nbd:\/\/127\.0\.0\.1:\d+\/wide$/);
  assert.doesNotMatch(tcp, /:0\//, 'the port chosen is the one kept');
  const sock = new URL(uri).searchParams.get('socket')!;
  assert.equal(fs.statSync(sock).mode & 0o777, 0o600, "the socket is private like the controller's");

  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'start', 'A');
  const list = await h.ok('export', 'list', 'A', '--json');
  assert.deepEqual(
    list.map((e: { uri: string; serving: boolean }) => [e.uri, e.serving]),
    [
      [uri, true],
      [tcp, true],
    ],
  );
  assert.match(await toolOk(['nbdinfo', uri]), /export-size: 8388608/);
  assert.match(await toolOk(['nbdinfo', tcp]), /export-size: 8388608/);

  // qemu-img flushes before it exits: after kill -9 the data is there, and the stale socket is replaced
  const img = randomImage(h, 8 * 1024 * 1024, 3);
  await toolOk(['qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', img.file, tcp]);
  const pid = livePid(arrayDirOf(h, 'A'))!;
  process.kill(pid, 'SIGKILL');
  await waitFor(() => livePid(arrayDirOf(h, 'A')) === null);
  assert.ok(fs.existsSync(sock), 'kill -9 leaves the socket file');
  await h.ok('array', 'start', 'A');
  assert.deepEqual(await sums(h, 'A:w'), [img.sha256]);
  assert.match(await toolOk(['nbdinfo', uri]), /export-size: 8388608/);
  assert.deepEqual((await h.ok('export', 'stop', '--all', '--json')).stopped, ['A:v', 'A:wide']);
  assert.equal(fs.existsSync(sock), false, 'a stopped export removes its socket');
  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'start', 'A');
  assert.deepEqual(await h.ok('export', 'list', '--json'), []);
});
