import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32Many, offloadable } from '../../../src/engine/util/crc-offload.js';
import { crc32 } from '../../../src/engine/util/crc32.js';

test('crc32Many gives crc32 of each buffer, shared memory on the worker, the rest here, and keeps no process alive', async () => {
  const shared = Buffer.from(new SharedArrayBuffer(1024 * 1024));
  for (let i = 0; i < shared.length; i++) shared[i] = (i * 131 + (i >>> 9)) & 0xff;
  const bufs = [shared.subarray(0, 64 * 1024), shared.subarray(5, 300_005), shared.subarray(100, 200), Buffer.alloc(100_000, 7), shared.subarray(700_000)];
  assert.deepEqual(
    bufs.map((b) => offloadable(b)),
    [true, true, false, false, true],
  );
  assert.deepEqual(
    await crc32Many(bufs),
    bufs.map((b) => crc32(b)),
  );
  // several at once: each gets its own answer
  const many = await Promise.all(Array.from({ length: 8 }, (_, i) => crc32Many([shared.subarray(i * 1000, i * 1000 + 50_000)])));
  many.forEach(([c], i) => assert.equal(c, crc32(shared.subarray(i * 1000, i * 1000 + 50_000))));
});
