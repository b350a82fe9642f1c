import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WriteQueue } from '../../../src/engine/util/write-queue.js';

const KiB = 1024;

async function withFile(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-wq-'));
  try {
    await fn(path.join(dir, 'f.img'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('adjacent writes that wait go out merged, and every byte lands where its write said', async () => {
  await withFile(async (file) => {
    const fh = await fsp.open(file, 'w+');
    try {
      const q = new WriteQueue(fh);
      const n = 64;
      const size = 64 * KiB;
      // issued out of order, as several NBD connections' writes arrive; plus one write apart
      const order = Array.from({ length: n }, (_, i) => (i * 37) % n);
      const writes = order.map((i) => q.write(i * size, Buffer.alloc(size, (i % 250) + 1)));
      writes.push(q.write(n * size + 4 * KiB, Buffer.alloc(KiB, 0xff)));
      await Promise.all(writes);
      assert.equal(q.stats.writes, n + 1);
      assert.ok(q.stats.calls < n / 2, `${q.stats.calls} calls for ${n + 1} writes: the waiting ones were merged`);
      const got = await fsp.readFile(file);
      assert.equal(got.length, n * size + 5 * KiB);
      for (let i = 0; i < n; i++)
        assert.ok(
          got.subarray(i * size, (i + 1) * size).every((b) => b === (i % 250) + 1),
          `write ${i}`,
        );
      assert.ok(got.subarray(n * size, n * size + 4 * KiB).every((b) => b === 0));
      assert.ok(got.subarray(n * size + 4 * KiB).every((b) => b === 0xff));
    } finally {
      await fh.close();
    }
  });
});

test('when a merged write fails, each of its writes fails with its own error and the queue goes on', async () => {
  await withFile(async (file) => {
    fs.writeFileSync(file, '');
    const ro = await fsp.open(file, 'r');
    try {
      const q = new WriteQueue(ro);
      const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => q.write(i * 4 * KiB, Buffer.alloc(4 * KiB, 1))));
      assert.ok(q.stats.calls < q.stats.writes, 'some writes were merged');
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.equal(((r as PromiseRejectedResult).reason as NodeJS.ErrnoException).code, 'EBADF');
      }
    } finally {
      await ro.close();
    }
    const rw = await fsp.open(file, 'r+');
    try {
      const q = new WriteQueue(rw);
      await q.write(0, Buffer.from('ok'));
      assert.equal(fs.readFileSync(file, 'utf8'), 'ok');
    } finally {
      await rw.close();
    }
  });
});
