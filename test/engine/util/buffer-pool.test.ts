import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../../src/engine/util/buffer-pool.js';

const MiB = 1024 * 1024;

test('a buffer given back is the one the next take of its size class gets, at the asked length', () => {
  const pool = new BufferPool();
  const a = pool.take(3 * MiB);
  assert.equal(a.length, 3 * MiB);
  assert.equal(a.buffer.byteLength, 4 * MiB);
  a[0] = 7;
  pool.give(a);
  assert.equal(pool.kept, 4 * MiB);
  const b = pool.take(4 * MiB);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 4 * MiB);
  assert.equal(pool.kept, 0);
  // another size class is not served from it
  pool.give(b);
  assert.notEqual(pool.take(8 * MiB).buffer, a.buffer);
});

test('a second give of the same buffer, a view that does not start at its first byte, and foreign or small buffers are ignored', () => {
  const pool = new BufferPool();
  const a = pool.take(2 * MiB);
  pool.give(a);
  pool.give(a);
  assert.equal(pool.kept, 2 * MiB);
  const x = pool.take(2 * MiB);
  const y = pool.take(2 * MiB);
  assert.equal(x.buffer, a.buffer);
  assert.notEqual(y.buffer, a.buffer, 'one buffer never has two owners');
  pool.give(x.subarray(1));
  pool.give(Buffer.alloc(2 * MiB));
  pool.give(pool.take(1000));
  assert.equal(pool.kept, 0);
  // a view from the first byte gives back the whole buffer
  pool.give(x.subarray(0, 10));
  assert.equal(pool.kept, 2 * MiB);
});

test('at most `keep` bytes of idle buffers are kept', () => {
  const pool = new BufferPool(5 * MiB);
  const bufs = [pool.take(2 * MiB), pool.take(2 * MiB), pool.take(2 * MiB)];
  for (const b of bufs) pool.give(b);
  assert.equal(pool.kept, 4 * MiB);
});

test('sizes from `min` up are pooled (an NBD connection pools WRITE payloads over 64 KiB)', () => {
  const pool = new BufferPool(MiB, 64 * 1024 + 1);
  const small = pool.take(64 * 1024);
  pool.give(small);
  assert.equal(pool.kept, 0);
  const big = pool.take(100 * 1024);
  assert.equal(big.buffer.byteLength, 128 * 1024);
  pool.give(big);
  assert.equal(pool.take(65 * 1024 + 3).buffer, big.buffer);
});

test("an 'aligned' pool (the replication path's trackBuffers) gives page-aligned memory: its track-sized views go to O_DIRECT as they are", async () => {
  const { DirectFile } = await import('../../../src/engine/util/file-io.js');
  const { trackBuffers } = await import('../../../src/engine/util/buffer-pool.js');
  const { withDir } = await import('../../helpers.js');
  const fs = await import('node:fs');
  const path = await import('node:path');
  await withDir('rcopy-pool-', async (dir) => {
    const file = path.join(dir, 'f.bin');
    const data = Buffer.alloc(4 * MiB);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    fs.writeFileSync(file, data);
    const direct = new DirectFile(file);
    // O_DIRECT where the file system has it (not tmpfs) and it is not switched off
    const supported = process.env.RCOPY_DIRECT_IO !== 'off' && typeof fs.constants.O_DIRECT === 'number' && fs.statfsSync(dir).type !== 0x01021994;
    try {
      for (const pool of [new BufferPool(undefined, undefined, 'aligned'), trackBuffers]) {
        const b = pool.take(3 * MiB);
        // DirectFile.read takes only aligned memory (an ordinary Buffer is refused: false)
        const ok = await direct.read(b.subarray(64 * 1024, 128 * 1024), 64 * 1024);
        if (supported) assert.equal(ok, true, 'a track view of a pooled buffer went direct');
        if (ok) assert.ok(b.subarray(64 * 1024, 128 * 1024).equals(data.subarray(64 * 1024, 128 * 1024)));
        pool.give(b);
        assert.equal(pool.take(4 * MiB).buffer, b.buffer, 'reused like any pooled buffer');
      }
      const plain = new BufferPool().take(2 * MiB);
      assert.equal(await direct.read(plain.subarray(0, 512), 0), false, "a plain pool's memory is not aligned");
    } finally {
      await direct.close();
    }
  });
});
