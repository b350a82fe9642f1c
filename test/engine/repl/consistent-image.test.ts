import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import type { Volume } from '../../../src/engine/array/volume.js';
import { crc32 } from '../../../src/engine/util/crc32.js';
import { ConsistentImage } from '../../../src/engine/repl/consistent-image.js';
import { rng, withDir } from '../../helpers.js';

/**
 * Runs fn with a volume of 32 tracks with random content in the even ones (the odd ones stay
 * unallocated), `before` holding that content, and the path of an image file beside it.
 */
async function withVolume(fn: (x: { v: Volume; ts: number; before: Buffer; file: string }) => Promise<void>): Promise<void> {
  await withDir('rcopy-keeper-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'none' });
    try {
      const ts = a.trackSize;
      await a.createVolume('v', 32 * ts);
      const v = a.volume('v');
      const r = rng(3);
      const before = Buffer.alloc(32 * ts);
      for (let t = 0; t < 32; t += 2) {
        const d = Buffer.alloc(ts);
        for (let i = 0; i < ts; i += 4) d.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
        d.copy(before, t * ts);
        await v.write(t * ts, d);
      }
      await fn({ v, ts, before, file: path.join(dir, 'img') });
    } finally {
      await a.close();
    }
  });
}

test('image keeper: saves that do not sync count once a later save syncs, and a revert then puts every track back', async () => {
  await withVolume(async ({ v, ts, before, file }) => {
    const k = await ConsistentImage.open(file);
    await k.save(v, [0, 1, 2], { sync: false });
    await k.save(v, [2, 3, 4], { sync: false }); // 2 is written already (not synced): only 3 and 4
    assert.equal(k.tracks, 0, 'nothing counts as saved before a sync');
    assert.equal(k.has(1), false);
    assert.equal(fs.statSync(file).size, 5 * (512 + ts));
    await k.save(v, [4, 6]); // syncs: every record written so far counts
    assert.equal(k.tracks, 6);
    for (const t of [0, 1, 2, 3, 4, 6]) assert.ok(k.has(t), `track ${t}`);
    await k.save(v, [0], { sync: false });
    await k.save(v, []); // nothing new, but a sync of nothing pending is harmless
    assert.equal(k.tracks, 6);
    for (const t of [0, 1, 2, 3, 4, 6]) await v.write(t * ts, Buffer.alloc(ts, 0xdd));
    assert.equal(await k.revert((off, d) => v.write(off, d), ts), 6);
    assert.ok((await v.read(0, 32 * ts)).equals(before));
    await k.destroy();
  });
});

test('image keeper: saved tracks are put back exactly by revert, after a reopen, and a track is saved once', async () => {
  await withVolume(async ({ v, ts, before, file }) => {
    const k = await ConsistentImage.open(file);
    const seen = new Map<number, Buffer>();
    let readCalled = 0;
    await k.save(v, [1, 2, 3, 8], { seen: (t, d) => seen.set(t, Buffer.from(d)), read: () => readCalled++ });
    assert.equal(readCalled, 1);
    assert.deepEqual([...seen.keys()], [1, 2, 3, 8]);
    assert.ok(seen.get(2)!.equals(before.subarray(2 * ts, 3 * ts)));
    assert.ok(seen.get(1)!.equals(Buffer.alloc(ts)), 'an unallocated track is saved as zeros');
    // records are whole 512-byte blocks (header block + data), so the save can go around the page cache
    assert.equal(fs.statSync(file).size, 4 * (512 + ts));
    await k.save(v, [2, 9]); // 2 is saved already: only 9 is added
    assert.equal(k.tracks, 5);
    await k.close();
    // the resync overwrites the saved tracks
    for (const t of [1, 2, 3, 8, 9]) await v.write(t * ts, Buffer.alloc(ts, 0xee));
    const again = await ConsistentImage.open(file);
    assert.equal(again.tracks, 5);
    const n = await again.revert((off, d) => v.write(off, d), ts);
    assert.equal(n, 5);
    assert.ok((await v.read(0, 32 * ts)).equals(before));
    await again.destroy();
    assert.equal(fs.existsSync(file), false);
  });
});

test('image keeper: a torn or corrupted last record is dropped at reopen, the records before it kept', async () => {
  await withVolume(async ({ v, ts, before, file }) => {
    const k = await ConsistentImage.open(file);
    await k.save(v, [0, 2]);
    await k.save(v, [4]);
    await k.close();
    const rec = 512 + ts;
    // torn: the last record's data cut short
    fs.truncateSync(file, 2 * rec + 512 + 100);
    let again = await ConsistentImage.open(file);
    assert.equal(again.tracks, 2);
    assert.equal(fs.statSync(file).size, 2 * rec, 'the torn tail is cut off');
    await again.save(v, [4]);
    await again.close();
    // corrupted: a flipped byte in the second record's data
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([before[2 * ts + 7]! ^ 0xff]), 0, 1, rec + 512 + 7);
    fs.closeSync(fd);
    again = await ConsistentImage.open(file);
    assert.equal(again.tracks, 1);
    assert.ok(again.has(0) && !again.has(2) && !again.has(4));
    await again.close();
  });
});

test('image keeper: a file of the first layout (16-byte headers) is read, and grows in place', async () => {
  await withVolume(async ({ v, ts, before, file }) => {
    const recs: Buffer[] = [];
    for (const t of [2, 6]) {
      const data = before.subarray(t * ts, (t + 1) * ts);
      const h = Buffer.alloc(16);
      h.writeUInt32LE(0x5243494b, 0);
      h.writeUInt32LE(t, 4);
      h.writeUInt32LE(data.length, 8);
      h.writeUInt32LE(crc32(data), 12);
      recs.push(h, data);
    }
    fs.writeFileSync(file, Buffer.concat(recs));
    const k = await ConsistentImage.open(file);
    assert.equal(k.tracks, 2);
    await k.save(v, [10]); // appended after the old records (unaligned: through the page cache)
    await k.close();
    for (const t of [2, 6, 10]) await v.write(t * ts, Buffer.alloc(ts, 1));
    const again = await ConsistentImage.open(file);
    assert.equal(again.tracks, 3);
    await again.revert((off, d) => v.write(off, d), ts);
    assert.ok((await v.read(0, 32 * ts)).equals(before));
    await again.close();
  });
});

test('image keeper: a wave is filled while the one before is appended; tracks of a filled wave are not filled twice, a discarded wave saves nothing, and appends in order give back every track', async () => {
  await withVolume(async ({ v, ts, before, file }) => {
    const k = await ConsistentImage.open(file);
    const w1 = await k.fill(v, [0, 1, 2, 3]);
    // the next wave is read before the first is written: a track of the first is left out
    const pending = k.fill(v, [3, 4, 5, 6]);
    await k.append(w1, true);
    const w2 = await pending;
    assert.deepEqual(w2?.tracks, [4, 5, 6]);
    assert.equal(k.tracks, 4, 'the first wave counts once synced; the second is not written yet');
    assert.equal(await k.fill(v, [0, 1, 2, 3]), null, 'nothing new to fill');
    // a wave filled and then given back (the copy stopped): its tracks can be filled again
    const w3 = await k.fill(v, [8, 10]);
    k.discard(w3!);
    assert.equal(k.has(8), false);
    await k.append(w2, false);
    assert.equal(k.tracks, 4, 'an append without a sync does not count yet');
    await k.append(await k.fill(v, [8, 10]), true);
    assert.equal(k.tracks, 9);
    assert.equal(fs.statSync(file).size, 9 * (512 + ts));
    await k.close();
    for (const t of [0, 1, 2, 3, 4, 5, 6, 8, 10]) await v.write(t * ts, Buffer.alloc(ts, 0x33));
    const again = await ConsistentImage.open(file);
    assert.equal(await again.revert((off, d) => v.write(off, d), ts), 9);
    assert.ok((await v.read(0, 32 * ts)).equals(before));
    await again.destroy();
  });
});

test('image keeper: a fill whose read fails ends only after its other reads have ended, so no late read writes into a wave buffer given back', async () => {
  await withDir('rcopy-keeper-', async (dir) => {
    const ts = 64 * 1024;
    let ended = 0;
    // a volume whose track 0 fails at once while the others take a while
    const vol = {
      trackSize: ts,
      size: 8 * ts,
      isAllocated: () => true,
      read: async (off: number, len: number, into: Buffer): Promise<Buffer> => {
        if (off === 0) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
        await new Promise((r) => setTimeout(r, 30));
        into.fill(0xab, 0, len);
        ended++;
        return into;
      },
    } as unknown as Volume;
    const k = await ConsistentImage.open(path.join(dir, 'img'));
    await assert.rejects(k.fill(vol, [0, 1, 2, 3]), { code: 'EIO' });
    assert.equal(ended, 3, 'every other read had ended when the fill failed');
    assert.deepEqual((await k.fill(vol, [1, 2]))?.tracks, [1, 2], 'the failed wave gave its tracks back');
    await k.destroy();
  });
});
