/**
 * Per export, the controller counts the clients connected and the bytes read and written; `export
 * list` (table and JSON) and `pair list --json` (for a pair whose volume is exported) show them.
 * Real clients: qemu-io kept open on its command input, nbdcopy with several connections.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { homeTest, waitFor, type TestHome } from '../helpers.js';
import { exportUri, needs, randomImage, toolOk } from './nbd-helpers.js';
import { twoSites } from './sites.js';

const MiB = 1024 * 1024;

async function exportOf(h: TestHome, array: string): Promise<{ clients: number; bytesRead: number; bytesWritten: number }> {
  return (await h.ok('export', 'list', array, '--json'))[0];
}

async function pairExports(h: TestHome): Promise<Array<{ volume: string; clients: number; bytesRead: number; bytesWritten: number }>> {
  const [row] = await h.ok('pair', 'list', '--json');
  return row.exports;
}

homeTest('export list and pair list --json count the clients connected and the bytes each export read and wrote', needs('qemu-io', 'nbdcopy'), async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  const uri = await exportUri(h, 'A:v');
  assert.deepEqual(await pairExports(h), [{ volume: 'A:v', name: 'v', uri, clients: 0, bytesRead: 0, bytesWritten: 0 }]);

  // qemu-io connects and waits for its commands on stdin: one client while it is open
  const io = spawn('qemu-io', ['-f', 'raw', uri], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  io.stdout.on('data', (d: Buffer) => (out += d.toString()));
  io.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => io.on('close', (code) => r(code)));
  try {
    await waitFor(async () => (await exportOf(h, 'A')).clients === 1, 60_000);
    assert.equal((await pairExports(h))[0]!.clients, 1);
    io.stdin.end('write -P 0x5a 65536 1M\nread -P 0x5a 65536 512k\nflush\nquit\n');
    assert.equal(await exited, 0, out);
  } finally {
    io.kill();
  }
  assert.match(out, /wrote 1048576\/1048576 bytes/);
  assert.match(out, /read 524288\/524288 bytes/);
  await waitFor(async () => (await exportOf(h, 'A')).clients === 0, 30_000);
  assert.deepEqual(await exportOf(h, 'A').then((x) => [x.clients, x.bytesRead, x.bytesWritten]), [0, 512 * 1024, MiB]);

  // nbdcopy opens several connections (the export advertises CAN_MULTI_CONN); the counts add up
  const img = randomImage(h, 8 * MiB, 9);
  await toolOk(['nbdcopy', '--connections=4', img.file, uri]);
  const x = await exportOf(h, 'A');
  assert.equal(x.bytesWritten, MiB + 8 * MiB);
  const [p] = await pairExports(h);
  assert.deepEqual([p!.volume, p!.clients, p!.bytesRead, p!.bytesWritten], ['A:v', 0, 512 * 1024, 9 * MiB]);
  const table = (await h.run(['export', 'list'])).stdout;
  assert.match(table, /clients.*read.*written/);
  assert.match(table, / 0 .*512 KiB.*9(\.0+)? MiB/);
});
