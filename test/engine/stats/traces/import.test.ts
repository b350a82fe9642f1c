import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTrace } from '../../../../src/engine/stats/traces/import.js';
import { buildReport } from '../../../../src/engine/stats/report/build.js';
import { sharedTraces, testdir } from '../helpers.js';

test('wdev_1 known answer: 1,055 writes, 5,537,792 bytes, 27 distinct tracks, peak 6 per 10 minutes', async () => {
  const r = await importTrace(join(sharedTraces(), 'wdev_1.csv'), { format: 'msr', intervalMs: 600_000, trackSize: 65536 });
  assert.equal(r.counters.writes, 1055);
  assert.equal(r.counters.malformed, 0);
  assert.deepEqual(
    r.devices.map((d) => d.name),
    ['wdev_1'],
  );
  const rep = buildReport(r.entries, { windowMs: 600_000 });
  assert.equal(rep.summary.writes, 1055);
  assert.equal(rep.summary.writeBytes, 5_537_792);
  assert.equal(rep.summary.distinctTracks, 27);
  assert.equal(rep.summary.peak!.changedTracks, 6);
  assert.equal(rep.windows[0]!.start, r.counters.firstTime);
  // a one-minute collection reported over 10-minute windows gives the same answer
  const fine = await importTrace(join(sharedTraces(), 'wdev_1.csv'), { format: 'msr', intervalMs: 60_000 });
  const rep2 = buildReport(fine.entries, { windowMs: 600_000 });
  assert.equal(rep2.summary.peak!.changedTracks, 6);
  assert.equal(rep2.summary.distinctTracks, 27);
  assert.equal(rep2.windows.length, rep.windows.length);
});

test('hm_0 sample imports', async () => {
  const r = await importTrace(join(sharedTraces(), 'hm_0_first1000writes.csv'), { format: 'msr', intervalMs: 60_000 });
  assert.equal(r.counters.writes, 1000);
  assert.equal(r.counters.malformed, 0);
  assert.deepEqual(
    r.devices.map((d) => d.name),
    ['hm_0'],
  );
  const rep = buildReport(r.entries, { windowMs: 600_000, by: 'volume' });
  assert.equal(rep.summary.writes, 1000);
  assert.ok(rep.summary.distinctTracks > 0 && rep.summary.distinctTracks <= 1000);
  assert.equal(rep.groups[0]!.summary.distinctTracks, rep.summary.distinctTracks);
});

test('entries per device per interval from the first record; device size from the highest track', async () => {
  const t = testdir();
  try {
    const path = join(t.dir, 'x.spc');
    // ASU 0 writes track 0 at 10 s and 30 s (interval 0 from t0 = 10 s), ASU 1 only reads (track 16),
    // ASU 0 writes track 2 at 160 s (interval 2)
    writeFileSync(path, '0,0,4096,w,10.0\n0,0,512,w,30.0\n1,2048,512,r,40.0\n0,256,65536,w,160.0\n');
    const r = await importTrace(path, { format: 'spc', intervalMs: 60_000, trackSize: 65536 });
    assert.deepEqual(r.devices, [
      { name: 'asu0', tracks: 3, trackSize: 65536 },
      { name: 'asu1', tracks: 17, trackSize: 65536 },
    ]);
    assert.deepEqual(
      r.entries.map((e) => [e.volume, e.start, e.end, e.count, e.writes, e.writeBytes, e.tracks]),
      [
        ['asu0', 10_000, 70_000, 1, 2, 4608, 3],
        ['asu0', 130_000, 190_000, 1, 1, 65536, 3],
      ],
    );
    const rep = buildReport(r.entries, { windowMs: 60_000 });
    assert.deepEqual(
      rep.windows.map((w) => w.changedTracks),
      [1, 0, 1],
    );
    const sized = await importTrace(path, { format: 'spc', intervalMs: 60_000, deviceSizes: { asu0: 1 << 30 } });
    assert.equal(sized.devices[0]!.tracks, 16384);
  } finally {
    t.cleanup();
  }
});
