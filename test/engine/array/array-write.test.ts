import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import type { VolumeWrite } from '../../../src/engine/array/write-path.js';
import { JournalFile } from '../../../src/engine/journal/journal-file.js';
import { rng, withDir } from '../../helpers.js';

const KiB = 1024;
const MiB = 1024 * 1024;

// restores: any size and place (small ones through the page cache, two at a time); copies and
// resyncs: aligned writes, all around the page cache (O_DIRECT), sixteen at a time
for (const [origin, align] of [
  ['restore', 1],
  ['resync', 4096],
] as const) {
  test(`writeMany (${origin}): overlapping writes side by side end as if written one by one, in order`, async () => {
    await withDir('rcopy-array-', async (dir) => {
      const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'none' });
      try {
        await a.createVolume('v', 4 * MiB);
        await a.createVolume('w', 4 * MiB);
        const v = a.volume('v');
        const w = a.volume('w');
        const model = new Map([
          [v, Buffer.alloc(4 * MiB)],
          [w, Buffer.alloc(4 * MiB)],
        ]);
        const r = rng(7);
        for (let round = 0; round < 5; round++) {
          const writes: VolumeWrite[] = [];
          // many writes into a small region of each volume: most overlap several earlier ones
          for (let i = 0; i < 200; i++) {
            const vol = r() < 0.5 ? v : w;
            const len = align * (1 + Math.floor((r() * 96 * KiB) / align));
            const offset = align * Math.floor((r() * (512 * KiB - len)) / align);
            const data = Buffer.alloc(len, (round * 200 + i) % 251);
            writes.push({ vol, offset, data });
            data.copy(model.get(vol)!, offset);
          }
          await a.writeMany(writes, origin);
          for (const [vol, want] of model) assert.ok((await vol.read(0, 512 * KiB)).equals(want.subarray(0, 512 * KiB)), `round ${round}, volume ${vol.name}`);
        }
        // the allocation map knows every track written
        assert.equal(v.alloc.count(), (512 * KiB) / a.trackSize);
      } finally {
        await a.close();
      }
    });
  });
}

test('writeMany: a write out of range is refused before anything is written', async () => {
  await withDir('rcopy-array-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'none' });
    try {
      await a.createVolume('v', MiB);
      const v = a.volume('v');
      await assert.rejects(
        a.writeMany(
          [
            { vol: v, offset: 0, data: Buffer.alloc(4096, 1) },
            { vol: v, offset: MiB - 10, data: Buffer.alloc(4096, 2) },
          ],
          'restore',
        ),
        /past the end of the volume/,
      );
      assert.equal(v.alloc.count(), 0);
      assert.ok((await v.read(0, 4096)).equals(Buffer.alloc(4096)));
    } finally {
      await a.close();
    }
  });
});

test('a logged write is made durable by the checkpoint a journal runs before it drops entries', async () => {
  await withDir('rcopy-array-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A' });
    const j = await JournalFile.create(path.join(dir, 'j.jnl'), 4 * MiB);
    try {
      await a.createVolume('v', MiB);
      const v = a.volume('v');
      const order: string[] = [];
      // the hook that replication installs: the write goes to the journal, which covers it
      a.writeHooks.push(async (vol, offset, data, _origin, ctx) => {
        await j.append([{ volumeId: vol.id, offset, data }]);
        ctx.logged = true;
        order.push('append');
      });
      const realCheckpoint = v.checkpoint.bind(v);
      v.checkpoint = async () => {
        order.push('checkpoint');
        await realCheckpoint();
      };
      j.beforeDrop = (how) => a.checkpoint({ barrier: how === 'release' });
      await a.write(v, 0, Buffer.alloc(8192, 9));
      assert.equal(j.stats().entries, 1);
      await j.release(j.lastSeq);
      assert.deepEqual(order, ['append', 'checkpoint']);
      assert.equal(j.stats().entries, 0);
      await a.write(v, 8192, Buffer.alloc(8192, 8));
      await j.reset();
      assert.deepEqual(order, ['append', 'checkpoint', 'append', 'checkpoint']);
      assert.ok((await v.read(0, 16384)).equals(Buffer.concat([Buffer.alloc(8192, 9), Buffer.alloc(8192, 8)])));
    } finally {
      await j.close();
      await a.close();
    }
  });
});

test('recordOnFullDisk: a record that meets a full disk frees one more unit of the reserve per retry, and gives up when none is left', async () => {
  await withDir('rcopy-array-', async (dir) => {
    const a = await StorageArray.create(path.join(dir, 'A'), { name: 'A', durability: 'none' });
    try {
      const units = (): number => fs.readdirSync(path.join(dir, 'A')).filter((f) => /^reserve\.\d+$/.test(f)).length;
      const full = (): Error => Object.assign(new Error('no space left on device'), { code: 'ENOSPC', syscall: 'write' });
      assert.equal(units(), 4);
      // caused by a full disk: one unit first; the record fails twice for lack of space, then succeeds
      let tries = 0;
      const r = await a.recordOnFullDisk(full(), async () => {
        if (++tries < 3) throw full();
        return 'recorded';
      });
      assert.equal(r, 'recorded');
      assert.equal(tries, 3);
      assert.equal(units(), 1);
      // another cause frees nothing; another failure of the record is not retried
      const other = Object.assign(new Error('i/o'), { code: 'EIO' });
      await assert.rejects(
        a.recordOnFullDisk(other, async () => {
          throw other;
        }),
        /i\/o/,
      );
      assert.equal(units(), 1);
      // no unit left: the record's own error comes out
      tries = 0;
      await assert.rejects(
        a.recordOnFullDisk(full(), async () => {
          tries++;
          throw full();
        }),
        /no space/,
      );
      assert.equal(units(), 0);
      assert.equal(tries, 1);
    } finally {
      await a.close();
    }
  });
});
