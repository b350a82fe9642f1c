/**
 * DR drills end to end: a view of a two-volume group at one seq while a stamped workload and the
 * restores go on; the view against a model of the written bytes; writes to the view; S == P once
 * drained; the record; the space freed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, homeTest, waitFor } from '../helpers.js';
import { modelAt, pImage, prefixOf, readRef, sha256 } from './drill-model.js';
import { armFault, assertEqual, twoSites } from './sites.js';

const WRITES = 3072; // 12 MiB of 4 KiB writes

homeTest('a drill shows the group at one seq, takes writes, and stays put while replication goes on', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { vols: ['x', 'y'], size: '16M', durability: 'none' });
  const base = (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq as number;
  const t0 = Date.now();
  const load = h.run(['workload', 'run', 'A:x', 'A:y', '--pattern', 'seq', '--bs', '4k', '--depth', '1', '--stamp', '--bytes', '12M', '--rate', '1MB/s', '--seed', '3']);
  await waitFor(async () => (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq > base + 200, 60_000);

  const d = await h.ok('drill', 'start', 'B:x', '--name', 'd1', '--json');
  assert.deepEqual(d.volumes, ['B:x@d1', 'B:y@d1']);
  assert.equal(d.state, 'running');
  // the views: one prefix of the group's writes, whatever the restores do meanwhile
  const x0 = await readRef(h, 'B:x@d1', '16M');
  const y0 = await readRef(h, 'B:y@d1', '16M');
  const k = prefixOf(x0, y0);
  assert.equal(d.seq - base, k, `the drill's seq ${d.seq} is write ${k} of the workload (base ${base})`);
  assert.ok(k < WRITES, 'the drill started while the workload was running');

  // writes to the view: a partial first and last track (read-modify-write), into the overlay only
  await h.ok('io', 'write', 'B:x@d1', '--offset', '1000k', '--pattern', '0xab', '--length', '100k');
  const r = await load;
  assert.equal(r.code, 0, r.stderr);
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:x', 'B:x');
  await assertEqual(h, 'A:y', 'B:y');
  assert.equal((await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq, base + WRITES);

  // the model: the P-VOLs after the first k writes; the view is that plus its own write
  const mx = modelAt(pImage(h, 'x'), k);
  const my = modelAt(pImage(h, 'y'), k);
  assert.ok(x0.equals(mx), 'B:x@d1 at the start equals the model of A:x after the first k writes');
  assert.ok(y0.equals(my), 'B:y@d1 at the start equals the model of A:y after the first k writes');
  mx.fill(0xab, 1000 * 1024, 1100 * 1024);
  assert.ok((await readRef(h, 'B:x@d1', '16M')).equals(mx), 'B:x@d1 after the restores: its point in time plus its write');
  assert.ok((await readRef(h, 'B:y@d1', '16M')).equals(my), 'B:y@d1 after the restores: its point in time');
  assert.equal((await h.ok('io', 'checksum', 'B:x@d1', '--json')).sha256, sha256(mx));
  const [sx] = [(await h.ok('io', 'checksum', 'B:x', '--json')).sha256];
  assert.notEqual(sx, sha256(mx), 'the S-VOL moved on, the view did not');

  // the record
  const shown = await h.ok('drill', 'show', 'B:d1', '--json');
  assert.equal(shown.bytesWritten, 100 * 1024);
  assert.ok(shown.keptBytes >= (WRITES - k) * 4096, `kept ${shown.keptBytes} bytes for ${WRITES - k} overwritten blocks`);
  const ct = Date.parse(d.consistencyTime);
  assert.ok(ct >= t0 && ct <= Date.parse(d.started), `consistency time ${d.consistencyTime} is the host time of write ${k}, before the drill (${d.started})`);
  assert.ok(d.rpoSeconds !== null && d.rpoSeconds >= 0 && d.rpoSeconds <= (Date.parse(d.started) + d.usableMs - ct) / 1000 + 1, `RPO ${d.rpoSeconds}`);
  const drills = path.join(arrayDirOf(h, 'B'), 'drills');
  assert.equal(fs.readdirSync(drills).length, 1);

  const stopped = await h.ok('drill', 'stop', 'B:d1', '--result', 'pass', '--note', 'db came up', '--json');
  assert.equal(stopped.state, 'stopped');
  assert.equal(stopped.result, 'pass');
  assert.deepEqual(fs.readdirSync(drills), [], 'the views and their space are gone');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'io', 'checksum', 'B:x@d1');
  const [row] = await h.ok('drill', 'list', 'B', '--json');
  assert.equal(row.seq, d.seq);
  assert.equal(row.consistencyTime, d.consistencyTime);
  assert.equal(row.rpoSeconds, d.rpoSeconds);
  assert.equal(row.note, 'db came up');
  assert.equal(row.bytesWritten, 100 * 1024);
  assert.match(await h.ok('drill', 'list', 'B', '--format', 'csv'), /^name,ref,array,group,/);
});

homeTest('kill -9 of the secondary during a drill: the view and the replication both survive', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { vols: ['x', 'y'], size: '16M', durability: 'none' });
  const base = (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq as number;
  const load = h.run(['workload', 'run', 'A:x', 'A:y', '--pattern', 'seq', '--bs', '4k', '--depth', '1', '--stamp', '--bytes', '12M', '--rate', '1MB/s', '--seed', '5']);
  await waitFor(async () => (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq > base + 100, 60_000);
  const d = await h.ok('drill', 'start', '--group', 'g1', '--name', 'k9', '--json');
  await h.ok('io', 'write', 'B:y@k9', '--offset', '2M', '--pattern', '0xcd', '--length', '70k');
  const k = d.seq - base;

  // killed between keeping a batch's tracks and writing them: the restore redoes the batch
  await h.ok('pull', 'stop', 'B:j2');
  await waitFor(async () => (await h.ok('pair', 'show', 'B:x', '--json')).entriesBehind > 100, 60_000);
  await armFault(h, 'B', 'drill-kept', () => h.ok('pull', 'start', 'B:j2'));
  await h.ok('array', 'start', 'B');
  // and killed at whatever moment the restores are at
  await waitFor(async () => (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq > d.seq + 300, 60_000);
  process.kill((await h.ok('array', 'status', 'B', '--json')).pid, 'SIGKILL');
  await waitFor(async () => !(await h.ok('array', 'status', 'B', '--json')).running, 30_000);
  await h.ok('array', 'start', 'B');

  const r = await load;
  assert.equal(r.code, 0, r.stderr);
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:x', 'B:x');
  await assertEqual(h, 'A:y', 'B:y');
  const [row] = await h.ok('drill', 'list', 'B', '--json');
  assert.equal(row.state, 'running', 'the drill survived the kills');
  assert.equal(row.bytesWritten, 70 * 1024);
  const x = await readRef(h, 'B:x@k9', '16M');
  const y = await readRef(h, 'B:y@k9', '16M');
  // (no stamp prefix check here: the view's own write at 2M may have covered stamped blocks; the
  // comparison with the model below says the same for every byte)
  assert.ok(x.equals(modelAt(pImage(h, 'x'), k)), 'B:x@k9 equals the model at the drill seq');
  const my = modelAt(pImage(h, 'y'), k);
  my.fill(0xcd, 2 * 1024 * 1024, 2 * 1024 * 1024 + 70 * 1024);
  assert.ok(y.equals(my), 'B:y@k9 equals the model at the drill seq plus its own write');
  await h.ok('drill', 'stop', 'B:k9', '--result', 'pass');
});

homeTest('kill -9 right after the drill is recorded: the drill runs after the restart, its view at its seq, replication goes on', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { vols: ['x', 'y'], size: '16M', durability: 'none' });
  const base = (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq as number;
  const load = h.run(['workload', 'run', 'A:x', 'A:y', '--pattern', 'seq', '--bs', '4k', '--depth', '1', '--stamp', '--bytes', '8M', '--rate', '1MB/s', '--seed', '6']);
  await waitFor(async () => (await h.ok('pair', 'show', 'B:x', '--json')).secondary.restoredSeq > base + 100, 60_000);
  // durable at drill-recorded: the row (running, its seq; usable time 0, no RPO yet) and the
  // S-VOLs at exactly that seq; no view files, no event, no reply to the command
  let started: { code: number } = { code: 0 };
  await armFault(h, 'B', 'drill-recorded', async () => (started = await h.run(['drill', 'start', '--group', 'g1', '--name', 'r1'])));
  assert.notEqual(started.code, 0, 'the command got no reply');
  await h.ok('array', 'start', 'B');
  const [d] = await h.ok('drill', 'list', 'B', '--json');
  assert.deepEqual([d.name, d.state, d.usableMs, d.rpoSeconds], ['r1', 'running', 0, null]);
  assert.ok(d.seq > base + 100, `seq ${d.seq}`);
  assert.doesNotMatch((await h.run(['events', 'B', '--json'])).stdout, /drill r1 started/);

  const r = await load;
  assert.equal(r.code, 0, r.stderr);
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:x', 'B:x');
  await assertEqual(h, 'A:y', 'B:y');
  const k = d.seq - base;
  assert.ok(k < 2048, 'the S-VOLs moved on after the drill');
  assert.ok((await readRef(h, 'B:x@r1', '16M')).equals(modelAt(pImage(h, 'x'), k)), 'B:x@r1 equals the model at the drill seq');
  assert.ok((await readRef(h, 'B:y@r1', '16M')).equals(modelAt(pImage(h, 'y'), k)), 'B:y@r1 equals the model at the drill seq');
  await h.ok('drill', 'stop', 'B:r1', '--result', 'pass');
  assert.deepEqual(fs.readdirSync(path.join(arrayDirOf(h, 'B'), 'drills')), []);
});

homeTest('split, resync, takeover and delete name a running drill and end it only with --yes; --max-size ends a drill, never the replication', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('drill', 'start', 'B:v', '--name', 'g');
  // a workload runs against a view like against a volume: into its overlay, the S-VOL untouched
  const sv = (await h.ok('io', 'checksum', 'B:v', '--json')).sha256;
  await h.ok('workload', 'run', 'B:v@g', '--pattern', 'random', '--bs', '64k', '--bytes', '256k', '--seed', '4');
  assert.equal((await h.ok('drill', 'show', 'B:g', '--json')).bytesWritten, 256 * 1024);
  assert.equal((await h.ok('io', 'checksum', 'B:v', '--json')).sha256, sv);
  assert.notEqual((await h.ok('io', 'checksum', 'B:v@g', '--json')).sha256, sv);
  // in a script, each of the four commands that would end it names it and needs --yes
  await h.fails(1, /ERR_RCOPY_STATE.*group g1 has a running drill \(B:g\): pair split ends it.*--yes/s, 'pair', 'split', 'B:v');
  await h.fails(2, /ERR_RCOPY_USAGE.*group g1 has a running drill \(B:g\): pair takeover ends it.*refusing without confirmation.*--yes/s, 'pair', 'takeover', 'B:v');
  await h.fails(2, /ERR_RCOPY_USAGE.*group g1 has a running drill \(B:g\): pair delete ends it.*refusing without confirmation.*--yes/s, 'pair', 'delete', 'A:v');
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR', 'nothing changed');
  await h.ok('pair', 'resync', 'B:v'); // already PAIR: a re-run, the drill stays
  await h.ok('pair', 'split', 'B:v', '--yes');
  const [ended] = await h.ok('drill', 'list', 'B', '--json');
  assert.deepEqual([ended.state, ended.stopReason, ended.note], ['stopped', 'group', 'ended by pair split']);
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND.*S-VOL 'A:v'.*secondary/, 'drill', 'start', 'A:v');

  // --max-size: the restore of 2 MiB more than the limit ends the drill, replication goes on
  await h.ok('drill', 'start', 'B:v', '--name', 'small', '--max-size', '1M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '4M', '--seed', '2');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
  const small = await h.ok('drill', 'show', 'B:small', '--json');
  assert.deepEqual([small.state, small.stopReason], ['stopped', 'limit']);
  assert.match(small.note, /--max-size 1\.00 MiB/);
  assert.ok(small.keptBytes <= 1024 * 1024, `never more than the limit: ${small.keptBytes}`);
  assert.deepEqual(fs.readdirSync(path.join(arrayDirOf(h, 'B'), 'drills')), []);
  assert.match((await h.run(['events', 'B', '--json'])).stdout, /"event":"drill small stopped \(limit\): kept tracks and overlay reached --max-size/, 'an event says so');
  await h.fails(2, /ERR_RCOPY_NOT_FOUND/, 'io', 'write', 'B:v@small', '--pattern', '1', '--length', '4k');
});

homeTest('a drill whose view files are gone after the restores passed its seq ends as lost, never shows the S-VOL of now', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', '0x11', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('drill', 'start', 'B:v', '--name', 'gone');
  // the restores go past the drill's seq, keeping the overwritten track for the view
  await h.ok('io', 'write', 'A:v', '--pattern', '0x22', '--length', '64k');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('array', 'stop', 'B');
  const drills = path.join(arrayDirOf(h, 'B'), 'drills');
  const [id] = fs.readdirSync(drills);
  const dir = path.join(drills, id!);
  for (const f of fs.readdirSync(dir)) if (f.startsWith('v.')) fs.rmSync(path.join(dir, f));
  await h.ok('array', 'start', 'B');
  // (opened empty, B:v@gone would read 0x22 where the drill's point in time holds 0x11)
  await h.fails(2, /ERR_RCOPY_NOT_FOUND: no running drill 'B:gone'/, 'io', 'read', 'B:v@gone', '--length', '4k');
  const [row] = await h.ok('drill', 'list', 'B', '--json');
  assert.equal(row.state, 'stopped');
  assert.equal(row.stopReason, 'error');
  assert.match(row.note, /view lost: the files of v@gone are gone and the S-VOLs were restored past seq/);
  await assertEqual(h, 'A:v', 'B:v');
});
