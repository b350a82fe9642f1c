/** End-to-end: backups with management information, through the real binary and controllers. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TestHome, arrayDirOf, sleep, waitFor, homeTest } from '../helpers.js';

const K = 1024;
const M = 1024 * 1024;

async function sum(h: TestHome, ref: string): Promise<string> {
  return (await h.ok('io', 'checksum', ref, '--json')).sha256;
}

homeTest('generations: incrementals copy only changed tracks, older generations restore exactly, rotation, delete, verify', async (h) => {
  await h.ok('array', 'create', 'a', '--track-size', '64k');
  await h.ok('volume', 'create', 'a:src', '--size', '32M');
  await h.ok('volume', 'create', 'a:bk', '--size', '32M');
  await h.ok('volume', 'create', 'a:r', '--size', '48M');
  await h.ok('io', 'write', 'a:src', '--pattern', 'random', '--seed', '1', '--length', '4M');
  const c1 = await sum(h, 'a:src');
  const g1 = await h.ok('backup', 'create', 'a:src', '--to', 'a:bk', '--label', 'first', '--info', 'app=db', '--info', 'consistency=quiesced', '--json');
  assert.equal(g1.id, 'a:bk-000001');
  assert.equal(g1.generation, 1);
  assert.equal(g1.kind, 'full');
  assert.equal(g1.state, 'good');
  assert.equal(g1.bytesCopied, 4 * M, 'a sparse source costs what its data costs');
  assert.equal(g1.tracksCopied, 64);
  assert.deepEqual(g1.info, { app: 'db', consistency: 'quiesced' });
  assert.ok(typeof g1.seconds === 'number' && g1.checksum.length === 64);

  // writes between generations: 5 tracks change
  await h.ok('io', 'write', 'a:src', '--offset', '8M', '--pattern', 'random', '--seed', '2', '--length', '256k');
  await h.ok('io', 'write', 'a:src', '--offset', '1M', '--pattern', '0x5a', '--length', '64k');
  const c2 = await sum(h, 'a:src');
  const g2 = await h.ok('backup', 'create', 'a:src', '--to', 'a:bk', '--incremental', '--label', 'second', '--json');
  assert.equal(g2.generation, 2);
  assert.equal(g2.kind, 'incremental');
  assert.equal(g2.tracksCopied, 5);
  assert.equal(g2.bytesCopied, 5 * 64 * K);
  assert.notEqual(g2.checksum, g1.checksum);

  // restore generation 1 after generation 2 was taken: exactly generation 1
  const r1 = await h.ok('backup', 'restore', 'a:bk-000001', '--to', 'a:r', '--yes', '--json');
  assert.equal(r1.checksum, g1.checksum);
  assert.equal(r1.matches, true);
  assert.equal((await h.ok('io', 'checksum', 'a:r', '--range', '0-32M', '--json')).sha256, c1);
  const r2 = await h.ok('backup', 'restore', 'bk-2', '--to', 'a:r', '--yes', '--json');
  assert.equal(r2.checksum, g2.checksum);
  assert.equal((await h.ok('io', 'checksum', 'a:r', '--range', '0-32M', '--json')).sha256, c2);

  // list, show (bare id is found on its array), verify
  const list = await h.ok('backup', 'list', 'a', '--json');
  assert.deepEqual(
    list.map((b: any) => [b.generation, b.label]),
    [
      [1, 'first'],
      [2, 'second'],
    ],
  );
  const table = await h.ok('backup', 'list', 'a', '--source', 'src');
  assert.match(table, /a:bk-000001.*first/);
  const shown = await h.ok('backup', 'show', 'bk-000001', '--json');
  assert.equal(shown.source, 'src');
  assert.equal(shown.target, 'bk');
  assert.equal(shown.checksum, g1.checksum);
  assert.ok(shown.started > 0 && shown.finished >= shown.pointInTime);
  for (const id of ['a:bk-000001', 'a:bk-000002']) assert.equal((await h.ok('backup', 'verify', id, '--json')).ok, true);

  // a full backup (gen 3) rotating to 2 generations: gen 1 goes, gen 2 still restores exactly
  await h.ok('io', 'write', 'a:src', '--offset', '2M', '--pattern', 'random', '--seed', '3', '--length', '1M');
  const c3 = await sum(h, 'a:src');
  const g3 = await h.ok('backup', 'create', 'a:src', '--to', 'a:bk', '--keep', '2', '--json');
  assert.equal(g3.kind, 'full');
  assert.equal(g3.generation, 3);
  let gens = (await h.ok('backup', 'list', 'a', '--json')).map((b: any) => b.generation);
  assert.deepEqual(gens, [2, 3]);
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'backup', 'show', 'a:bk-000001');
  await h.ok('backup', 'restore', 'a:bk-000002', '--to', 'a:r', '--yes');
  assert.equal((await h.ok('io', 'checksum', 'a:r', '--range', '0-32M', '--json')).sha256, c2);

  // gen 4, then delete the middle one (gen 3): gen 2 and gen 4 stay exact
  await h.ok('io', 'write', 'a:src', '--offset', '2M', '--pattern', '0x11', '--length', '128k');
  const c4 = await sum(h, 'a:src');
  const g4 = await h.ok('backup', 'create', 'a:src', '--to', 'a:bk', '--incremental', '--json');
  assert.equal(g4.tracksCopied, 2);
  await h.fails(2, 'ERR_RCOPY_USAGE', 'backup', 'delete', 'a:bk-000003'); // needs --yes
  await h.ok('backup', 'delete', 'a:bk-000003', '--yes');
  gens = (await h.ok('backup', 'list', 'a', '--json')).map((b: any) => b.generation);
  assert.deepEqual(gens, [2, 4]);
  await h.ok('backup', 'restore', 'a:bk-000002', '--to', 'a:r', '--yes');
  assert.equal((await h.ok('io', 'checksum', 'a:r', '--range', '0-32M', '--json')).sha256, c2);
  for (const id of ['a:bk-000002', 'a:bk-000004']) assert.equal((await h.ok('backup', 'verify', id, '--json')).ok, true);

  // restore into the source itself (the default destination)
  await h.ok('io', 'write', 'a:src', '--offset', '0', '--pattern', 'zero', '--length', '4M');
  await h.ok('backup', 'restore', 'a:bk-000004', '--yes');
  assert.equal(await sum(h, 'a:src'), c4);
  assert.ok(c3 !== c4);

  // a byte flipped straight into the backup image file is caught (exit 3), naming the track
  const img = (await h.ok('volume', 'show', 'a:bk', '--json')).path as string;
  await h.ok('array', 'stop', 'a');
  const fd = fs.openSync(img, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 8 * M + 100);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 8 * M + 100);
  fs.closeSync(fd);
  const bad = await h.run(['backup', 'verify', 'a:bk-000004', '--json']);
  assert.equal(bad.code, 3, bad.stderr);
  assert.equal(bad.json().ok, false);
  assert.deepEqual(bad.json().badOffsets, [8 * M]);
  const badText = await h.run(['backup', 'verify', 'a:bk-000004']);
  assert.equal(badText.code, 3);
  assert.match(badText.stdout, /MISMATCH/);
});

homeTest('bad inputs get clear errors and change nothing', async (h) => {
  await h.ok('array', 'create', 'a');
  await h.ok('array', 'create', 'b');
  await h.ok('volume', 'create', 'a:src', '--size', '8M');
  await h.ok('volume', 'create', 'a:other', '--size', '8M');
  await h.ok('volume', 'create', 'a:bk', '--size', '8M');
  await h.ok('volume', 'create', 'a:small', '--size', '4M');
  await h.ok('volume', 'create', 'b:bk', '--size', '8M');
  await h.ok('io', 'write', 'a:src', '--pattern', 'random', '--seed', '5', '--length', '1M');
  await h.ok('io', 'write', 'a:other', '--pattern', 'random', '--seed', '6', '--length', '1M');
  await h.fails(2, 'ERR_RCOPY_BACKUP_TARGET_TOO_SMALL', 'backup', 'create', 'a:src', '--to', 'a:small');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'backup', 'create', 'a:src', '--to', 'a:src');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'backup', 'create', 'a:src', '--to', 'b:bk');
  await h.fails(2, 'ERR_RCOPY_NO_VOLUME', 'backup', 'create', 'a:src', '--to', 'a:nosuch');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'backup', 'create', 'a:src', '--to', 'a:bk', '--info', 'novalue');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'backup', 'create', 'a:src', '--to', 'a:bk', '--keep', '0');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'backup', 'create', 'a:src');
  assert.deepEqual(await h.ok('backup', 'list', 'a', '--json'), []);
  assert.equal((await h.ok('volume', 'show', 'a:small', '--json')).allocatedTracks, 0);
  assert.equal((await h.ok('volume', 'show', 'a:bk', '--json')).allocatedTracks, 0);

  await h.ok('backup', 'create', 'a:src', '--to', 'a:bk');
  const before = await h.ok('backup', 'list', 'a', '--json');
  const bkSum = await sum(h, 'a:bk');
  // a backup volume of another source
  const r = await h.fails(1, 'ERR_RCOPY_STATE', 'backup', 'create', 'a:other', '--to', 'a:bk');
  assert.match(r.stderr, /holds the backups of a:src/);
  // hosts cannot write into a backup volume, and it cannot be deleted while it holds backups
  await h.fails(1, 'ERR_RCOPY_STATE', 'io', 'write', 'a:bk', '--pattern', 'zero', '--length', '4k');
  await h.fails(1, 'ERR_RCOPY_STATE', 'volume', 'delete', 'a:bk', '--yes');
  // restore into the backup volume itself, or a too small one
  await h.fails(1, 'ERR_RCOPY_VOLUME_IN_USE', 'backup', 'restore', 'a:bk-000001', '--to', 'a:bk', '--yes');
  await h.fails(2, 'ERR_RCOPY_RESTORE_TARGET_TOO_SMALL', 'backup', 'restore', 'a:bk-000001', '--to', 'a:small', '--yes');
  // unknown and malformed ids
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'backup', 'show', 'a:bk-000099');
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'backup', 'verify', 'bk-000099');
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'backup', 'delete', 'b:bk-000001', '--yes');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'backup', 'show', 'a:bk-x');
  await h.fails(2, 'ERR_RCOPY_NO_ARRAY', 'backup', 'show', 'zz:bk-000001');
  // restore asks for confirmation; without a terminal and --yes it is refused
  await h.fails(2, 'ERR_RCOPY_USAGE', 'backup', 'restore', 'a:bk-000001', '--to', 'a:other');
  const j = await h.run(['backup', 'show', 'a:bk-000042', '--json']);
  assert.equal(j.code, 2);
  assert.equal(j.json().error.code, 'ERR_RCOPY_NOT_FOUND');
  assert.deepEqual(await h.ok('backup', 'list', 'a', '--json'), before);
  assert.equal(await sum(h, 'a:bk'), bkSum);
  // deleting the last backup frees the backup volume
  await h.ok('backup', 'delete', 'a:bk-000001', '--yes');
  await h.ok('volume', 'delete', 'a:bk', '--yes');
});

homeTest('point in time, kill -9 during a backup, and moving the array to another home', async (h) => {
  const h2 = new TestHome();
  h.onCleanup(() => h2.cleanup());
  await h.ok('array', 'create', 'p');
  await h.ok('volume', 'create', 'p:src', '--size', '32M');
  await h.ok('volume', 'create', 'p:bk', '--size', '32M');
  await h.ok('volume', 'create', 'p:r', '--size', '32M');
  await h.ok('io', 'write', 'p:src', '--pattern', 'random', '--seed', '7', '--length', '32M');
  const c0 = await sum(h, 'p:src');
  // a slow backup (8 MiB/s: about 4 s); writes arrive while it runs
  const running = h.run(['backup', 'create', 'p:src', '--to', 'p:bk', '--rate', '8m', '--json']);
  await waitFor(async () => (await h.ok('backup', 'list', 'p', '--json')).some((b: any) => b.state === 'running'), 20_000, 50);
  await h.ok('io', 'write', 'p:src', '--offset', '30M', '--pattern', '0xee', '--length', '128k');
  await h.ok('io', 'write', 'p:src', '--offset', '20M', '--pattern', '0xdd', '--length', '64k');
  const res = await running;
  assert.equal(res.code, 0, res.stderr);
  const g1 = res.json();
  assert.ok(g1.cowTracks >= 2, `tracks copied before host writes: ${g1.cowTracks}`);
  const c1 = await sum(h, 'p:src');
  assert.notEqual(c1, c0);
  const r = await h.ok('backup', 'restore', 'p:bk-000001', '--to', 'p:r', '--yes', '--json');
  assert.equal(r.matches, true);
  assert.equal(await sum(h, 'p:r'), c0, 'the backup is the source as of acceptance');
  // the writes made during the backup are in the next incremental
  const g2 = await h.ok('backup', 'create', 'p:src', '--to', 'p:bk', '--incremental', '--json');
  assert.equal(g2.tracksCopied, 3);

  // kill -9 the controller in the middle of a full backup
  await h.ok('io', 'write', 'p:src', '--offset', '4M', '--pattern', 'random', '--seed', '8', '--length', '1M');
  const killed = h.run(['backup', 'create', 'p:src', '--to', 'p:bk', '--rate', '4m', '--label', 'doomed']);
  await waitFor(async () => (await h.ok('backup', 'list', 'p', '--json')).some((b: any) => b.state === 'running'), 20_000, 50);
  await sleep(1500);
  const [pid] = h.pids();
  assert.ok(pid);
  process.kill(pid!, 'SIGKILL');
  assert.notEqual((await killed).code, 0);
  const after = await h.ok('backup', 'list', 'p', '--json');
  assert.deepEqual(
    after.map((b: any) => [b.number, b.state, b.generation]),
    [
      [1, 'good', 1],
      [2, 'good', 2],
      [3, 'failed', null],
    ],
  );
  assert.match(after[2].error, /interrupted/);
  await h.fails(1, 'ERR_RCOPY_STATE', 'backup', 'restore', 'p:bk-000003', '--to', 'p:r', '--yes');
  for (const id of ['p:bk-000001', 'p:bk-000002']) assert.equal((await h.ok('backup', 'verify', id, '--json')).ok, true, id);
  const c3 = await sum(h, 'p:src');
  const g4 = await h.ok('backup', 'create', 'p:src', '--to', 'p:bk', '--incremental', '--json');
  assert.equal(g4.generation, 3);
  // the 16 changed tracks are looked at; those the interrupted backup had already written are not rewritten
  assert.equal(g4.tracksCopied + g4.tracksUnchanged, 16);
  await h.ok('backup', 'restore', 'p:bk-000004', '--to', 'p:r', '--yes');
  assert.equal(await sum(h, 'p:r'), c3);

  // move the array directory to another home: everything is still there and works
  const beforeMove = await h.ok('backup', 'list', 'p', '--json');
  await h.ok('array', 'stop', 'p');
  fs.mkdirSync(path.join(h2.dir, 'arrays'), { recursive: true });
  fs.renameSync(arrayDirOf(h, 'p'), arrayDirOf(h2, 'p'));
  const moved = await h2.ok('backup', 'list', 'p', '--json');
  assert.deepEqual(moved, beforeMove);
  assert.equal((await h2.ok('backup', 'verify', 'bk-000001', '--json')).ok, true);
  await h2.ok('backup', 'restore', 'p:bk-000001', '--to', 'p:r', '--yes');
  assert.equal(await sum(h2, 'p:r'), c0);
  assert.equal((await h2.ok('backup', 'show', 'p:bk-000004', '--json')).label, null);
});

homeTest('the S-VOL of a pair is backed up on the secondary; pair volumes are refused as backup volumes and restore targets', async (h) => {
  await h.ok('array', 'create', 'siteA');
  await h.ok('array', 'create', 'siteB');
  await h.ok('volume', 'create', 'siteA:db', '--size', '8M');
  await h.ok('volume', 'create', 'siteB:db', '--size', '8M');
  await h.ok('volume', 'create', 'siteB:db-bk', '--size', '8M');
  await h.ok('volume', 'create', 'siteB:scratch', '--size', '8M');
  await h.ok('journal', 'create', 'siteA:j1', '--size', '16M');
  await h.ok('journal', 'create', 'siteB:j1', '--size', '16M');
  await h.ok('link', 'add', 'siteA', 'siteB');
  await h.ok('io', 'write', 'siteA:db', '--pattern', 'random', '--seed', '1', '--length', '2M');
  await h.ok('pair', 'create', 'siteA:db', 'siteB:db', '--journal', 'siteA:j1,siteB:j1', '--group', 'db');
  await h.ok('pull', 'start', 'siteB:j1');
  await h.ok('pair', 'wait', 'siteB:db', '--state', 'PAIR', '--drained', '--timeout', '2m');
  const pSum = await sum(h, 'siteA:db');
  const b = await h.ok('backup', 'create', 'siteB:db', '--to', 'siteB:db-bk', '--label', 'nightly', '--info', 'consistency=replica', '--json');
  assert.equal(b.replica.role, 'S-VOL');
  assert.ok(b.replica.pair, 'the pair is named');
  assert.equal(typeof b.replica.restoredSeq, 'number');
  const shown = await h.ok('backup', 'show', 'siteB:bk-000001', '--json');
  assert.deepEqual(shown.replica, b.replica);
  // the image is the replica, which equals the P-VOL
  await h.ok('backup', 'restore', 'siteB:bk-000001', '--to', 'siteB:scratch', '--yes');
  assert.equal(await sum(h, 'siteB:scratch'), pSum);
  // a pair volume cannot be a backup volume, nor be restored into: the error names the pair
  const r1 = await h.fails(1, 'ERR_RCOPY_VOLUME_IN_USE', 'backup', 'create', 'siteB:scratch', '--to', 'siteB:db');
  assert.ok(r1.stderr.includes(b.replica.pair), r1.stderr);
  const r2 = await h.fails(1, 'ERR_RCOPY_VOLUME_IN_USE', 'backup', 'restore', 'siteB:bk-000001', '--yes');
  assert.ok(r2.stderr.includes(b.replica.pair), r2.stderr);
  assert.match(r2.stderr, /S-VOL/);
  assert.equal((await h.ok('backup', 'list', 'siteB', '--json')).length, 1);
});
