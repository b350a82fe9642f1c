/** TrackLog: the drill's keep store (first record wins) and overlay (last wins, compacted), torn and corrupted tails. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { COMPACT_FLOOR, TrackLog } from '../../../src/engine/drill/track-log.js';
import { withDir } from '../../helpers.js';

const track = (byte: number, len = 4096): Buffer => Buffer.alloc(len, byte);

test('a keep store keeps the first content of a track, an overlay the last, across a reopen', async () => {
  await withDir('rcopy-tracklog-', async (dir) => {
    for (const wins of ['first', 'last'] as const) {
      const file = path.join(dir, `${wins}.log`);
      const log = await TrackLog.open(file, wins);
      await log.append([
        { track: 3, data: track(1) },
        { track: 7, data: track(2, 1000) },
      ]);
      await log.append([{ track: 3, data: track(9) }]);
      const want = wins === 'first' ? 1 : 9;
      assert.deepEqual(await log.read(3), track(want));
      assert.deepEqual(await log.read(7), track(2, 1000), 'a short last track keeps its length');
      assert.equal(await log.read(4), null);
      await log.close();
      const again = await TrackLog.open(file, wins);
      assert.equal(again.tracks, 2);
      assert.deepEqual(await again.read(3), track(want), `${wins}: the same after a reopen`);
      assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
      await again.destroy();
      assert.equal(fs.existsSync(file), false);
    }
  });
});

test('a torn or corrupted tail is cut at the last whole record, and appends go on from there', async () => {
  await withDir('rcopy-tracklog-', async (dir) => {
    const file = path.join(dir, 'keep.log');
    const log = await TrackLog.open(file, 'first');
    await log.append([{ track: 1, data: track(1) }]);
    const whole = log.bytes;
    await log.append([{ track: 2, data: track(2) }]);
    await log.close();
    // torn: half of the second record
    fs.truncateSync(file, whole + 600);
    let again = await TrackLog.open(file, 'first');
    assert.equal(again.tracks, 1);
    assert.equal(again.has(2), false, 'a torn record is not a kept track: its restore write never started');
    assert.equal(fs.statSync(file).size, whole);
    await again.append([{ track: 2, data: track(5) }]);
    await again.close();
    // corrupted: a flipped byte in the data of the second record
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, whole + 512 + 100);
    fs.closeSync(fd);
    again = await TrackLog.open(file, 'first');
    assert.deepEqual([again.has(1), again.has(2)], [true, false]);
    assert.deepEqual(await again.read(1), track(1));
    await again.close();
  });
});

test('an overlay written again and again stays bounded by its distinct tracks (compaction), reads going on meanwhile', async () => {
  await withDir('rcopy-tracklog-', async (dir) => {
    const file = path.join(dir, 'v.overlay');
    const TS = 64 * 1024;
    const TRACKS = 16;
    const live = TRACKS * (512 + TS);
    fs.writeFileSync(`${file}.compact`, 'left by a crash');
    const log = await TrackLog.open(file, 'last');
    assert.equal(fs.existsSync(`${file}.compact`), false, 'a compaction a crash cut short is removed at open');
    let most = 0;
    for (let round = 0; round < 20; round++) {
      for (let t = 0; t < TRACKS; t++) {
        // a read of another track runs beside each append: it sees a whole version of it
        const other = (t + 5) % TRACKS;
        const [, seen] = await Promise.all([log.append([{ track: t, data: track(round * TRACKS + t + 1, TS) }]), log.read(other)]);
        if (seen) assert.ok(seen.equals(track(seen[0]!, TS)), 'a read during a compaction gets one whole version');
        most = Math.max(most, log.bytes, fs.statSync(file).size);
      }
    }
    // 320 appends of 64.5 KiB would be 20 MiB without compaction
    assert.ok(most <= 2 * live + COMPACT_FLOOR + 512 + TS, `the overlay grew to ${most} bytes for ${live} live bytes`);
    assert.equal(log.tracks, TRACKS);
    const last = (t: number): Buffer => track(19 * TRACKS + t + 1, TS);
    for (let t = 0; t < TRACKS; t++) assert.deepEqual(await log.read(t), last(t));
    await log.close();
    const again = await TrackLog.open(file, 'last');
    for (let t = 0; t < TRACKS; t++) assert.deepEqual(await again.read(t), last(t), 'the same after a reopen');
    assert.deepEqual(fs.readdirSync(dir), ['v.overlay']);
    await again.destroy();
  });
});

test('a keep store takes runs of consecutive tracks as one record each: every track readable, across a reopen, a torn run cut whole', async () => {
  await withDir('rcopy-tracklog-', async (dir) => {
    const file = path.join(dir, 'v.keep');
    const TS = 4096;
    const log = await TrackLog.open(file, 'first');
    await log.append([{ track: 9, data: track(0x99, TS) }]);
    // tracks 4..7, and 8..10 of which 10 is a volume's short last track (1000 bytes); 9 is held already
    const run1 = Buffer.concat([4, 5, 6, 7].map((t) => track(t, TS)));
    const run2 = Buffer.concat([track(8, TS), track(0x98, TS), track(10, 1000)]);
    await log.appendRuns([
      { first: 4, trackSize: TS, read: async () => run1 },
      { first: 8, trackSize: TS, read: async () => run2 },
    ]);
    const whole = log.bytes;
    assert.equal(whole, 512 + TS + (512 + 4 * TS) + (512 + 2 * TS + 1024), 'one header per run, padded to 512');
    const want = new Map<number, Buffer>([
      [4, track(4, TS)],
      [5, track(5, TS)],
      [6, track(6, TS)],
      [7, track(7, TS)],
      [8, track(8, TS)],
      [9, track(0x99, TS)],
      [10, track(10, 1000)],
    ]);
    const check = async (l: TrackLog, what: string): Promise<void> => {
      assert.equal(l.tracks, want.size, what);
      for (const [t, b] of want) assert.deepEqual(await l.read(t), b, `${what}: track ${t}`);
    };
    await check(log, 'as written');
    await log.appendRuns([{ first: 11, trackSize: TS, read: async () => Buffer.concat([track(11, TS), track(12, TS)]) }]);
    await log.close();
    fs.truncateSync(file, whole + 512 + TS); // torn: half of the last run
    const again = await TrackLog.open(file, 'first');
    assert.deepEqual([again.has(11), again.has(12)], [false, false], 'a torn run is cut whole: none of its tracks is kept');
    await check(again, 'after a reopen');
    await again.close();
  });
});
