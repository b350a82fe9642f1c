/**
 * NBD exports served by the array controller, used by real clients: nbdinfo, qemu-img, qemu-io.
 * Every write over NBD is a host write: on a P-VOL it reaches the S-VOL through the journal.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
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
  await h.fails(2, 'ERR_RCOPY_VOLUME_IN_USE', 'volume', 'delete', 'A:v', '--yes');
  assert.deepEqual((await h.ok('export', 'stop', 'A:v', '--json')).stopped, ['v']);
  assert.deepEqual(await h.ok('export', 'list', 'A', '--json'), []);
});

homeTest('qemu-io writes, write-zeroes and discards at odd offsets: byte for byte; nbdinfo --map follows the allocation', needs('qemu-io', 'nbdinfo'), async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  const uri = await exportUri(h, 'A:v');
  const size = 4 * 1024 * 1024;
  const expect = Buffer.alloc(size);
  // before any write: every track is a hole that reads as zeros
  const empty = JSON.parse(await toolOk(['nbdinfo', '--map', '--json', uri]));
  assert.deepEqual(
    empty.map((e: { offset: number; length: number; type: number }) => [e.offset, e.length, e.type]),
    [[0, size, 3]],
  );
  const ops: Array<[string, number, number, number]> = [
    ['write', 12345, 70001, 0xab],
    ['write', 1_000_001, 3, 0x11],
    ['write', 2 * 65536 - 7, 14, 0x5c],
    ['zero', 20_000, 4099, 0],
    ['write', size - 513, 513, 0xee],
  ];
  const cmds: string[] = [];
  for (const [op, off, len, pat] of ops) {
    cmds.push('-c', op === 'zero' ? `write -z ${off} ${len}` : `write -P ${pat} ${off} ${len}`);
    expect.fill(pat, off, off + len);
  }
  // a discard is a hint: the data stays as it was
  cmds.push('-c', 'discard 65536 65536', '-c', 'flush', '-c', 'read -P 0xab 24099 58247', '-c', 'read -P 0 20000 4099');
  const out = await toolOk(['qemu-io', '-f', 'raw', ...cmds, uri]);
  assert.doesNotMatch(out, /Pattern verification failed|error|failed/i, out);
  const file = `${h.tempDir()}/v.raw`;
  await h.ok('io', 'read', 'A:v', '--length', String(size), '--out', file);
  const got = fs.readFileSync(file);
  assert.ok(got.equals(expect), 'the volume holds exactly what qemu-io wrote');
  // tracks of 64 KiB: 0, 1 (write at 12345..82346), 15 (1_000_001), 63 (the end) hold data
  const map = JSON.parse(await toolOk(['nbdinfo', '--map', '--json', uri])) as Array<{ offset: number; length: number; type: number }>;
  const data = map.filter((e) => e.type === 0).map((e) => [e.offset / 65536, (e.offset + e.length) / 65536]);
  assert.deepEqual(data, [
    [0, 3],
    [15, 16],
    [63, 64],
  ]);
  assert.equal(
    map.reduce((n, e) => n + e.length, 0),
    size,
  );
});

homeTest('a sync pair: what qemu-img wrote over NBD is on the S-VOL when it returns', needs('qemu-img'), async (h) => {
  await twoSites(h, { size: '16M', mode: 'sync', durability: 'none' });
  await h.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const uri = await exportUri(h, 'A:v');
  const img = randomImage(h, 16 * 1024 * 1024, 11);
  await toolOk(['qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', img.file, uri]);
  // no wait: each write was acknowledged only once the secondary had restored it
  assert.deepEqual(await sums(h, 'A:v', 'B:v'), [img.sha256, img.sha256]);
  assert.equal((await h.ok('pair', 'show', 'A:v', '--json')).state, 'PAIR');
});
