/** rcopy events: the management store's events, listed and followed as JSON lines. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, homeTest, waitFor } from '../helpers.js';
import { assertSchema } from './ops-schema.js';
import { exportUri, needs, toolOk } from './nbd-helpers.js';
import { twoSites } from './sites.js';

homeTest('events --follow sees a split and a resync in order, as JSON lines', { timeout: 240_000 }, async (h) => {
  await twoSites(h, { size: '8M', durability: 'none' });
  const child = spawn(process.execPath, [BIN, 'events', 'B', '--follow', '--json'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const lines = (): any[] =>
    out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  try {
    // what happened before --follow started is printed first
    await waitFor(() => lines().some((e) => e.event.startsWith('COPY -> PAIR')), 30_000);
    const before = lines().length;
    await h.ok('pair', 'split', 'B:v');
    await h.ok('pair', 'resync', 'B:v');
    await waitFor(() => lines().some((e, i) => i >= before && /^COPY -> PAIR \(resync complete\)/.test(e.event)), 30_000);
    const seen = lines().slice(before);
    assert.deepEqual(
      seen.map((e) => e.event.replace(/ \(.*$/, '')),
      ['PAIR -> SSUS', 'SSUS -> COPY', 'COPY -> PAIR'],
    );
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['suspension', 'state', 'state'],
    );
    for (const e of lines()) {
      assertSchema('events', e);
      assert.equal(e.array, 'B');
      assert.equal(new Date(e.time).toISOString(), e.time, 'times are ISO 8601');
    }
    assert.deepEqual(
      seen.map((e) => e.id),
      [...seen.map((e) => e.id)].sort((a, b) => a - b),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  // the listing has the same events, and the controllers' start; --since bounds it
  const listed = await h.run(['events', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const all = listed.stdout
    .trim()
    .split('\n')
    .map((l: string) => JSON.parse(l));
  assert.ok(all.some((e: any) => e.kind === 'controller' && e.array === 'A' && /^controller started/.test(e.event)));
  assert.ok(all.filter((e: any) => e.array === 'A').some((e: any) => /^PAIR -> PSUS/.test(e.event)));
  await h.ok('array', 'stop', 'A');
  assert.match(await h.ok('events', 'A'), /controller stopped/);
  await h.fails(2, 'ERR_RCOPY_BAD_DURATION', 'events', '--since', 'yesterday');
});

homeTest('events: an NBD client connecting and disconnecting is an event of kind export, with its bytes', needs('qemu-io'), async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  const uri = await exportUri(h, 'A:v');
  await toolOk(['qemu-io', '-f', 'raw', '-c', 'write -P 0xab 0 65536', uri]);
  const exportEvents = async (): Promise<any[]> =>
    (await h.run(['events', 'A', '--json'])).stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l))
      .filter((e: any) => e.kind === 'export');
  let seen: any[] = [];
  await waitFor(async () => (seen = await exportEvents()).length >= 2, 30_000);
  assert.deepEqual(
    seen.map((e) => e.event.replace(/ \(.*$/, '')),
    ["export client connected to 'v'", "export client disconnected from 'v'"],
  );
  assert.match(seen[1].event, /wrote 65536 bytes/);
  for (const e of seen) assertSchema('events', e);
});
