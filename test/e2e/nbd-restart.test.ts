/**
 * NBD exports are part of the array's state: served again after a controller restart (a stop, or
 * kill -9 that leaves a stale socket behind), with what a client flushed still there. TCP exports
 * on the loopback (--listen 127.0.0.1:PORT).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, homeTest, waitFor } from '../helpers.js';
import { livePid } from '../../src/engine/array/controller-process.js';
import { CMD, Closed } from '../../src/server/nbd/wire.js';
import { exportUri, needs, randomImage, request, simpleReply, toolOk, transmitting } from './nbd-helpers.js';
import { sums, twoSites } from './sites.js';

homeTest('exports survive a stop and a kill -9 of the controller; what qemu-img flushed is there', needs('nbdinfo', 'qemu-img'), async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '8M');
  await h.ok('volume', 'create', 'A:w', '--size', '8M');
  const uri = await exportUri(h, 'A:v');
  const tcp = await exportUri(h, 'A:w', '--listen', '127.0.0.1:0', '--name', 'wide');
  // --socket and --listen exclude each other; a name or a volume exported twice is refused
  await h.fails(2, 'ERR_RCOPY_USAGE', 'export', 'start', 'A:w', '--socket', 'x.sock', '--listen', '127.0.0.1:0');
  await h.fails(1, 'ERR_RCOPY_STATE', 'export', 'start', 'A:v', '--name', 'other');
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

// Several WRITEs in flight before each FLUSH (they run side by side in the write path, and on a
// P-VOL share journal appends); a P-VOL's pull is stopped, so after the restart its journal holds
// what it must redo, and once pulled the S-VOL equals it.
for (const kind of ['plain volume', 'P-VOL'] as const) {
  homeTest(`kill -9 of the controller while a client writes (${kind}): every write acknowledged before a FLUSH reply is there after restart`, needs('nbdinfo'), async (h) => {
    if (kind === 'P-VOL') {
      await twoSites(h, { size: '16M', durability: 'fsync' });
      await h.ok('pull', 'stop', 'B:j2');
    } else {
      await h.ok('array', 'create', 'A', '--durability', 'fsync');
      await h.ok('volume', 'create', 'A:v', '--size', '16M');
    }
    const uri = await exportUri(h, 'A:v');
    const t = await transmitting(new URL(uri).searchParams.get('socket')!);
    const BS = 64 * 1024;
    const AT_ONCE = 8;
    const pid = livePid(arrayDirOf(h, 'A'))!;
    let durable = -1;
    let killed = false;
    let cookie = 0;
    try {
      for (let i = 0; i < 256 / AT_ONCE; i++) {
        const first = cookie + 1;
        for (let k = 0; k < AT_ONCE; k++) {
          const b = i * AT_ONCE + k;
          t.sock.write(Buffer.concat([request(CMD.WRITE, b * BS, BS, 0, ++cookie), Buffer.alloc(BS, (b % 251) + 1)]));
        }
        // replies in the order they complete: any order
        const got = new Set<number>();
        for (let k = 0; k < AT_ONCE; k++) {
          const h16 = await t.rd.read(16);
          assert.equal(h16.readUInt32BE(4), 0);
          got.add(Number(h16.readBigUInt64BE(8)));
        }
        assert.deepEqual(
          [...got].sort((x, y) => x - y),
          Array.from({ length: AT_ONCE }, (_, k) => first + k),
        );
        t.sock.write(request(CMD.FLUSH, 0, 0, 0, ++cookie));
        assert.equal(await simpleReply(t.rd, cookie), 0);
        durable = (i + 1) * AT_ONCE - 1;
        if (i === 4) {
          killed = true;
          process.kill(pid, 'SIGKILL'); // the client goes on writing until the connection drops
        }
      }
    } catch (e) {
      if (!(e instanceof Closed)) throw e;
    }
    assert.ok(killed && durable >= 5 * AT_ONCE - 1 && durable < 255, `flushed up to ${durable}`);
    await waitFor(() => livePid(arrayDirOf(h, 'A')) === null);
    await h.ok('array', 'start', 'A');
    const file = path.join(h.tempDir(), 'v.raw');
    await h.ok('io', 'read', 'A:v', '--length', String((durable + 1) * BS), '--out', file);
    const got = fs.readFileSync(file);
    for (let i = 0; i <= durable; i++) assert.ok(got.subarray(i * BS, (i + 1) * BS).equals(Buffer.alloc(BS, (i % 251) + 1)), `block ${i} (flushed) is there`);
    assert.match(await toolOk(['nbdinfo', uri]), /export-size: 16777216/);
    if (kind === 'P-VOL') {
      await h.ok('pull', 'start', 'B:j2', '--interval', '100ms');
      await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '120s');
      const [p, sv] = await sums(h, 'A:v', 'B:v');
      assert.equal(sv, p, 'the S-VOL equals the P-VOL once the journal is drained');
    }
  });
}
