/**
 * Host writes in flight side by side (WritePath.write): the lock covers a write's hooks and the
 * start of its volume write, so a write that does not overlap the ones in flight runs its hooks at
 * once, a write that overlaps waits for them (the volume ends as if written in order), and
 * locked() runs once no write is in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import { allocationMapPath } from '../../../src/engine/array/allocation.js';
import { TrackBitmap } from '../../../src/engine/repl/track-bitmap.js';
import { rng, withDir } from '../../helpers.js';

const KiB = 1024;
const MiB = 1024 * 1024;

async function withArray(fn: (a: StorageArray) => Promise<void>): Promise<void> {
  await withDir('rcopy-flight-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'fsync' });
    try {
      await a.createVolume('v', 16 * MiB);
      await fn(a);
    } finally {
      await a.close();
    }
  });
}

test('a write that overlaps no write in flight runs its hooks before the earlier volume write ends', async () => {
  await withArray(async (a) => {
    const ended = new Set<number>();
    const seenInFlight: number[] = [];
    a.writeHooks.push((_vol, offset, _data, _origin, ctx) => {
      // the writes before this one whose volume write had not ended when its hooks ran
      for (let o = 0; o < offset; o += MiB) if (!ended.has(o)) seenInFlight.push(o);
      // told once this write's volume write has ended
      ctx.settle.push(() => void ended.add(offset));
    });
    await Promise.all([0, 1, 2, 3].map((i) => a.write('v', i * MiB, Buffer.alloc(MiB, i + 1), 'host', { sync: false })));
    assert.ok(seenInFlight.length > 0, 'every write waited for the one before it (one at a time)');
    for (let i = 0; i < 4; i++) assert.ok((await a.read('v', i * MiB, MiB)).equals(Buffer.alloc(MiB, i + 1)), `write ${i}`);
  });
});

test('overlapping writes in flight land in the order they were written; locked() sees all of them on the volume', async () => {
  await withArray(async (a) => {
    const model = Buffer.alloc(2 * MiB);
    const r = rng(11);
    const all: Array<Promise<void>> = [];
    let barrierSaw: Buffer | null = null;
    let barrierWant: Buffer | null = null;
    for (let i = 0; i < 300; i++) {
      const len = 1 + Math.floor(r() * 256 * KiB);
      const offset = Math.floor(r() * (2 * MiB - len));
      const data = Buffer.alloc(len, (i % 250) + 1);
      data.copy(model, offset);
      all.push(a.write('v', offset, data, 'host', { sync: i % 7 === 0 }));
      if (i === 150) {
        barrierWant = Buffer.from(model);
        all.push(a.locked(async () => void (barrierSaw = await a.read('v', 0, 2 * MiB))));
      }
    }
    await Promise.all(all);
    assert.ok(barrierSaw !== null && barrierWant !== null);
    assert.ok((barrierSaw as Buffer).equals(barrierWant as Buffer), 'locked() ran with every earlier write on the volume and no later one');
    assert.ok((await a.read('v', 0, 2 * MiB)).equals(model), 'the volume is the writes applied in order');
    assert.equal(a.volume('v').alloc.count(), (2 * MiB) / a.trackSize);
  });
});

test('the allocation bits of every acknowledged write are in the map file already, without a commit (a killed controller keeps them)', async () => {
  await withDir('rcopy-flight-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'fsync' });
    try {
      // two map pages (32640 tracks each); writes into fresh tracks of both, side by side
      await a.createVolume('big', 3 * 1024 * MiB);
      const ts = a.trackSize;
      const tracks = [0, 1, 5, 32639, 32640, 40000, 3, 40001];
      await Promise.all(tracks.map((t) => a.write('big', t * ts + 100, Buffer.alloc(ts, 1), 'host', { sync: false })));
      const vol = a.volume('big');
      const onFile = await TrackBitmap.openFile(allocationMapPath(vol.imagePath), vol.tracks);
      try {
        assert.equal(onFile.recoveredAllSet, false);
        // each write covers its track and the next (it starts 100 bytes in)
        const want = new Set(tracks.flatMap((t) => [t, t + 1]));
        assert.deepEqual(
          [...want].filter((t) => !onFile.get(t)),
          [],
        );
        assert.equal(onFile.count(), want.size);
      } finally {
        await onFile.close();
      }
    } finally {
      await a.close();
    }
  });
});
