import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { crc32Many, offloadable } from '../../../src/engine/util/crc-offload.js';
import { crc32, crc32Backend } from '../../../src/engine/util/crc32.js';

/** Shared memory of a pattern and buffers of it: large shared ones, a short one, one not shared. */
function fixture(): { shared: Buffer; bufs: Buffer[] } {
  const shared = Buffer.from(new SharedArrayBuffer(1024 * 1024));
  for (let i = 0; i < shared.length; i++) shared[i] = (i * 131 + (i >>> 9)) & 0xff;
  return { shared, bufs: [shared.subarray(0, 64 * 1024), shared.subarray(5, 300_005), shared.subarray(100, 200), Buffer.alloc(100_000, 7), shared.subarray(700_000)] };
}

/** The checks of crc32Many, run in this process (where crc32 may be the native one) and in a child with zlib's. */
async function checkMany(): Promise<boolean[]> {
  const { shared, bufs } = fixture();
  assert.deepEqual(
    await crc32Many(bufs),
    bufs.map((b) => crc32(b)),
  );
  // several at once: each gets its own answer
  const many = await Promise.all(Array.from({ length: 8 }, (_, i) => crc32Many([shared.subarray(i * 1000, i * 1000 + 50_000)])));
  many.forEach(([c], i) => assert.equal(c, crc32(shared.subarray(i * 1000, i * 1000 + 50_000))));
  return bufs.map((b) => offloadable(b));
}

test('crc32Many gives crc32 of each buffer, shared memory on the worker only with zlib’s crc32, and keeps no process alive', async () => {
  const offloaded = await checkMany();
  assert.deepEqual(offloaded, crc32Backend === 'native' ? [false, false, false, false, false] : [true, true, false, false, true]);
});

test('with zlib’s crc32 (RCOPY_CRC32=zlib) the large shared buffers go to the worker and come back right', () => {
  const url = (f: string): string => JSON.stringify(new URL(`../../../src/engine/util/${f}`, import.meta.url).href);
  const script = `(async () => {
    const { crc32Many, offloadable } = await import(${url('crc-offload.js')});
    const { crc32, crc32Backend } = await import(${url('crc32.js')});
    const shared = Buffer.from(new SharedArrayBuffer(1024 * 1024));
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 131 + (i >>> 9)) & 0xff;
    const bufs = [shared.subarray(0, 64 * 1024), shared.subarray(5, 300_005), shared.subarray(100, 200), Buffer.alloc(100_000, 7), shared.subarray(700_000)];
    const got = await crc32Many(bufs);
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => crc32Many([shared.subarray(i * 1000, i * 1000 + 50_000)])));
    const right = got.every((c, i) => c === crc32(bufs[i])) && many.every(([c], i) => c === crc32(shared.subarray(i * 1000, i * 1000 + 50_000)));
    console.log(JSON.stringify([crc32Backend, bufs.map((b) => offloadable(b)), right]));
  })()`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, RCOPY_CRC32: 'zlib' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['zlib', [true, true, false, false, true], true]);
});
