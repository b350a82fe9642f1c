import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DIRECT_ALIGN, DirectFile, IO_CHUNK, IO_SLACK, alignedBuffer, cut, pwriteAll } from '../../../src/engine/util/file-io.js';
import { mapAhead } from '../../../src/engine/util/parallel.js';
import { rng, withDir } from '../../helpers.js';

test('pwriteAll writes one buffer or a list of buffers exactly, at any position and size', async () => {
  await withDir('rcopy-fileio-', async (dir) => {
    const file = path.join(dir, 'f.bin');
    const fh = await fsp.open(file, 'w+');
    const r = rng(5);
    const model = Buffer.alloc(8 * IO_CHUNK + 12_345);
    try {
      for (let round = 0; round < 40; round++) {
        const total = Math.floor(r() * 5 * IO_CHUNK) + 1;
        const pos = Math.floor(r() * (model.length - total));
        const bufs: Buffer[] = [];
        for (let left = total; left > 0;) {
          const n = Math.min(left, Math.floor(r() * IO_CHUNK * 1.5));
          bufs.push(Buffer.alloc(n, (round * 7 + bufs.length) % 256));
          left -= n;
        }
        const one = r() < 0.3;
        const data = one ? Buffer.concat(bufs) : bufs;
        await pwriteAll(fh, data, pos);
        Buffer.concat(bufs).copy(model, pos);
        const size = Math.max(fs.statSync(file).size, 0);
        const got = fs.readFileSync(file);
        assert.ok(got.equals(model.subarray(0, size)), `round ${round}`);
      }
    } finally {
      await fh.close();
    }
  });
});

test('DirectFile: aligned writes land exactly (around the page cache where the file system allows), unaligned ones are left to the caller', async () => {
  await withDir('rcopy-fileio-', async (dir) => {
    const file = path.join(dir, 'd.bin');
    const fh = await fsp.open(file, 'w+');
    const size = 32 * 1024 * 1024;
    await fh.truncate(size);
    const model = Buffer.alloc(size);
    const direct = new DirectFile(file);
    const r = rng(9);
    let wentDirect = 0;
    const put = async (data: Buffer | Buffer[], pos: number): Promise<void> => {
      if (await direct.write(data, pos)) wentDirect++;
      else await pwriteAll(fh, data, pos);
    };
    try {
      // direct and buffered writes over the same bytes, one after the other: the last one wins
      for (let i = 0; i < 40; i++) {
        const len = DIRECT_ALIGN * (1 + Math.floor(r() * 4000));
        const pos = DIRECT_ALIGN * Math.floor(r() * ((size - len) / DIRECT_ALIGN));
        const data = Buffer.alloc(len, i + 1);
        if (i % 3 === 0) await pwriteAll(fh, data, pos);
        else await put([data.subarray(0, 512), data.subarray(512)], pos);
        data.copy(model, pos);
      }
      assert.ok(fs.readFileSync(file).equals(model), 'the file holds every write in order');
      // wide writes side by side: more pieces in flight than there are staging slabs
      await Promise.all(
        Array.from({ length: 8 }, (_, k) => {
          const data = Buffer.alloc(3 * 1024 * 1024 + 512, 0x80 + k);
          data.copy(model, k * 4 * 1024 * 1024);
          return put(data, k * 4 * 1024 * 1024);
        }),
      );
      assert.ok(fs.readFileSync(file).equals(model), 'side-by-side wide writes');
      // unaligned position or length: nothing written, the caller writes through the page cache
      assert.equal(await direct.write(Buffer.alloc(512, 0xee), 100), false);
      assert.equal(await direct.write(Buffer.alloc(1000, 0xee), 0), false);
      assert.ok(fs.readFileSync(file).equals(model), 'an unaligned direct write changed nothing');
      const supported = await fsp.open(file, fs.constants.O_RDONLY | (fs.constants.O_DIRECT ?? 0)).then(
        async (h) => (await h.close(), true),
        () => false,
      );
      if (supported && process.env.RCOPY_DIRECT_IO !== 'off') assert.equal(wentDirect, 26 + 8, 'every aligned write went direct');
    } finally {
      await direct.close();
      await fh.close();
    }
  });
});

test('DirectFile: data in page-aligned memory (alignedBuffer) lands exactly, alone, in views, and mixed with ordinary buffers', async () => {
  await withDir('rcopy-fileio-', async (dir) => {
    const file = path.join(dir, 'a.bin');
    const fh = await fsp.open(file, 'w+');
    const size = 16 * 1024 * 1024;
    await fh.truncate(size);
    const model = Buffer.alloc(size);
    const direct = new DirectFile(file);
    const r = rng(13);
    const wave = alignedBuffer(6 * 1024 * 1024 + 3 * DIRECT_ALIGN);
    assert.equal(wave.length, 6 * 1024 * 1024 + 3 * DIRECT_ALIGN);
    assert.ok(
      wave.every((b) => b === 0),
      'made zeroed',
    );
    try {
      for (let i = 0; i < 30; i++) {
        const from = DIRECT_ALIGN * Math.floor(r() * 64);
        const len = DIRECT_ALIGN * (1 + Math.floor(r() * ((wave.length - from) / DIRECT_ALIGN - 1)));
        const pos = DIRECT_ALIGN * Math.floor(r() * ((size - len - DIRECT_ALIGN) / DIRECT_ALIGN));
        for (let k = from; k < from + len; k += 4096) wave.writeUInt32LE((i * 0x9e3779b1 + k) >>> 0, k);
        const view = wave.subarray(from, from + len);
        // every third write adds an ordinary buffer behind the aligned view (it goes through the slabs)
        const data = i % 3 === 2 ? [view, Buffer.alloc(DIRECT_ALIGN, i)] : view;
        if (!(await direct.write(data, pos))) await pwriteAll(fh, data, pos);
        (Array.isArray(data) ? Buffer.concat(data) : data).copy(model, pos);
      }
      assert.ok(fs.readFileSync(file).equals(model), 'the file holds every write in order');
    } finally {
      await direct.close();
      await fh.close();
    }
  });
});

test('DirectFile.read: aligned reads into aligned memory give the bytes written by any path (dirty cached pages included), zeros past the end; other reads are left to the caller', async () => {
  await withDir('rcopy-fileio-', async (dir) => {
    const file = path.join(dir, 'r.bin');
    const fh = await fsp.open(file, 'w+');
    const size = 4 * 1024 * 1024;
    const model = Buffer.alloc(size);
    const r = rng(17);
    for (let i = 0; i < size; i += 4) model.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
    // written through the page cache and not synced: the direct read must still see them
    await pwriteAll(fh, model, 0);
    const direct = new DirectFile(file);
    const into = alignedBuffer(1024 * 1024);
    const supported = await fsp.open(file, fs.constants.O_RDONLY | (fs.constants.O_DIRECT ?? 0)).then(
      async (h) => (await h.close(), true),
      () => false,
    );
    try {
      let wentDirect = 0;
      for (let i = 0; i < 20; i++) {
        const len = DIRECT_ALIGN * (1 + Math.floor(r() * 2047));
        const pos = DIRECT_ALIGN * Math.floor(r() * ((size - len) / DIRECT_ALIGN));
        const view = into.subarray(0, len);
        view.fill(0xaa);
        if (await direct.read(view, pos)) {
          wentDirect++;
          assert.ok(view.equals(model.subarray(pos, pos + len)), `read ${i} at ${pos}+${len}`);
        }
      }
      if (supported && process.env.RCOPY_DIRECT_IO !== 'off') assert.equal(wentDirect, 20, 'every aligned read went direct');
      // a read that runs past the end of the file: the rest is zeros (as a sparse image reads)
      const tail = into.subarray(0, 2 * DIRECT_ALIGN).fill(0xaa);
      if (await direct.read(tail, size - DIRECT_ALIGN)) {
        assert.ok(tail.subarray(0, DIRECT_ALIGN).equals(model.subarray(size - DIRECT_ALIGN)));
        assert.ok(tail.subarray(DIRECT_ALIGN).every((b) => b === 0));
      }
      // an ordinary buffer, an unaligned position or length: false, and nothing read
      const plain = Buffer.alloc(DIRECT_ALIGN, 0x55);
      assert.equal(await direct.read(plain, 0), false);
      assert.ok(plain.every((b) => b === 0x55));
      assert.equal(await direct.read(into.subarray(0, DIRECT_ALIGN), 100), false);
      assert.equal(await direct.read(into.subarray(0, 1000), 0), false);
      assert.equal(await direct.read(into.subarray(100, 100 + DIRECT_ALIGN), 0), false);
    } finally {
      await direct.close();
      await fh.close();
    }
  });
});

test('mapAhead: starts the calls in order, never more than depth at once, and a failure surfaces where it is awaited', async () => {
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const ps = mapAhead(10, 3, async (i) => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 2 + ((i * 7) % 5)));
    running--;
    if (i === 4) throw new Error('four failed');
    return i * i;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2], 'the first three start at once');
  await new Promise((r) => setTimeout(r, 60)); // the failure of 4 is not an unhandled rejection
  for (let i = 0; i < 10; i++) {
    if (i === 4) await assert.rejects(ps[i]!, /four failed/);
    else assert.equal(await ps[i]!, i * i);
  }
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(most, 3);
});

test('cut: pieces of the chunk size at their positions, a short last rest joined to the piece before it', () => {
  const sizes = (bufs: Buffer[], chunk: number, slack: number): Array<[number, number]> => cut(bufs, 1000, chunk, slack).map((p) => [p.pos, p.bufs.reduce((n, b) => n + b.length, 0)]);
  const rec = Buffer.alloc(256 * 1024 + 512);
  // a master journal's batch of two 256 KiB NBD writes: one call, not 512 KiB and 1 KiB
  assert.deepEqual(sizes([rec, rec], IO_CHUNK, IO_SLACK), [[1000, 2 * rec.length]]);
  assert.deepEqual(sizes([rec, rec], IO_CHUNK, 0), [
    [1000, IO_CHUNK],
    [1000 + IO_CHUNK, 2 * rec.length - IO_CHUNK],
  ]);
  // a longer rest stays a piece of its own
  assert.deepEqual(sizes([Buffer.alloc(IO_CHUNK + IO_SLACK + 1)], IO_CHUNK, IO_SLACK), [
    [1000, IO_CHUNK],
    [1000 + IO_CHUNK, IO_SLACK + 1],
  ]);
  assert.deepEqual(sizes([Buffer.alloc(2 * IO_CHUNK + 5)], IO_CHUNK, IO_SLACK), [
    [1000, IO_CHUNK],
    [1000 + IO_CHUNK, IO_CHUNK + 5],
  ]);
  assert.deepEqual(sizes([], IO_CHUNK, IO_SLACK), [[1000, 0]]);
  // the bytes are the same bytes, in order
  const r = rng(3);
  for (let i = 0; i < 50; i++) {
    const bufs = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, k) => Buffer.alloc(Math.floor(r() * IO_CHUNK), (i + k) % 256));
    const pieces = cut(bufs, 0, IO_CHUNK, IO_SLACK);
    assert.ok(Buffer.concat(pieces.flatMap((p) => p.bufs)).equals(Buffer.concat(bufs)));
    let at = 0;
    for (const p of pieces) {
      assert.equal(p.pos, at);
      at += p.bufs.reduce((n, b) => n + b.length, 0);
    }
  }
});
