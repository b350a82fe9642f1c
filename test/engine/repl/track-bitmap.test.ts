import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TrackBitmap, BITS_PER_PAGE, popcount32, trackRange } from '../../../src/engine/repl/track-bitmap.js';
import { RcopyError } from '../../../src/errors.js';
import { rng, withDir } from '../../helpers.js';

const PAGE = 4096;

function modelRuns(m: boolean[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < m.length; i++) {
    if (!m[i]) continue;
    let e = i;
    while (e + 1 < m.length && m[e + 1]) e++;
    out.push([i, e]);
    i = e;
  }
  return out;
}

test('set, get, clear, setRange, count, nextSet, runs agree with a plain array', () => {
  const r = rng(3);
  for (const n of [1, 31, 32, 33, 1000, 70_001]) {
    const b = new TrackBitmap(n);
    const m: boolean[] = new Array(n).fill(false);
    for (let k = 0; k < 300; k++) {
      const op = r();
      const t = Math.floor(r() * n);
      if (op < 0.4) {
        assert.equal(b.set(t), !m[t]);
        m[t] = true;
      } else if (op < 0.6) {
        assert.equal(b.clear(t), m[t]);
        m[t] = false;
      } else {
        const last = Math.min(n - 1, t + Math.floor(r() * 200));
        const on = op < 0.85;
        if (on) b.setRange(t, last);
        else b.clearRange(t, last);
        for (let i = t; i <= last; i++) m[i] = on;
      }
    }
    assert.equal(b.count(), m.filter(Boolean).length, `count, n=${n}`);
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 500))) assert.equal(b.get(i), m[i]);
    assert.deepEqual([...b.runs()], modelRuns(m));
    const from = Math.floor(n / 3);
    const want = m.indexOf(true, from);
    assert.equal(b.nextSet(from), want);
    assert.equal(b.nextClear(from), m.indexOf(false, from));
  }
});

test('edges: last bit, empty map, full map, out of range', () => {
  const b = new TrackBitmap(100);
  assert.equal(b.nextSet(0), -1);
  assert.deepEqual([...b.runs()], []);
  b.set(99);
  assert.equal(b.nextSet(0), 99);
  assert.equal(b.nextSet(100), -1);
  assert.deepEqual([...b.runs()], [[99, 99]]);
  b.setAll();
  assert.equal(b.count(), 100);
  assert.equal(b.nextClear(0), -1);
  assert.deepEqual([...b.runs()], [[0, 99]]);
  b.clearAll();
  assert.equal(b.count(), 0);
  assert.throws(
    () => b.set(100),
    (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_OUT_OF_RANGE',
  );
  assert.throws(() => b.get(-1), RcopyError);
  assert.equal(popcount32(0xffffffff), 32);
  assert.equal(popcount32(0x80000001), 2);
  assert.deepEqual(trackRange(65536 * 3 - 1, 2, 65536), [2, 3]);
  assert.equal(trackRange(0, 0, 65536), null);
});

test('or, toBuffer and fromBuffer', () => {
  const a = new TrackBitmap(1000);
  const b = new TrackBitmap(1000);
  a.setRange(10, 20);
  b.setRange(15, 40);
  b.set(999);
  a.or(b);
  assert.equal(a.count(), 31 + 1);
  assert.deepEqual(
    [...a.runs()],
    [
      [10, 40],
      [999, 999],
    ],
  );
  const c = TrackBitmap.fromBuffer(a.toBuffer(), 1000);
  assert.deepEqual([...c.runs()], [...a.runs()]);
  assert.equal(c.count(), a.count());
  assert.equal(a.toBuffer().length, 125);
  // bits past nbits in the buffer are ignored
  const d = TrackBitmap.fromBuffer(Buffer.alloc(2, 0xff), 12);
  assert.equal(d.count(), 12);
  assert.throws(() => a.or(new TrackBitmap(10)));
});

test('a persistent map survives reopen, and flush writes only dirty pages', async () => {
  await withDir('rcopy-bitmap-', async (dir) => {
    const file = path.join(dir, 'v.bits');
    const n = BITS_PER_PAGE * 6 + 123;
    const b = await TrackBitmap.openFile(file, n);
    assert.equal(b.recoveredAllSet, false);
    assert.equal(fs.statSync(file).size, PAGE * 8);
    b.set(5);
    b.setRange(BITS_PER_PAGE - 3, BITS_PER_PAGE + 3); // spans pages 0 and 1
    b.set(n - 1);
    await b.flush();
    // damage page 4 on disk (never dirty): a flush that only writes dirty pages leaves it alone
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, PAGE * 5 + 100);
    fs.closeSync(fd);
    b.set(7);
    await b.flush();
    const img = fs.readFileSync(file);
    assert.equal(img[PAGE * 5 + 100], 0x5a);
    await b.close();
    // reopening finds the damaged page and takes every bit as set
    const c = await TrackBitmap.openFile(file, n);
    assert.equal(c.recoveredAllSet, true);
    assert.match(c.recovery.reason ?? '', /page 4/);
    assert.equal(c.count(), n);
    c.clearAll();
    c.setRange(100, 200);
    await c.close();
    const d = await TrackBitmap.openFile(file, n);
    assert.equal(d.recoveredAllSet, false);
    assert.deepEqual([...d.runs()], [[100, 200]]);
    await d.close();
  });
});

test('setAndPersist makes bits durable before it returns; concurrent callers all get there', async () => {
  await withDir('rcopy-bitmap-', async (dir) => {
    const file = path.join(dir, 'v.bits');
    const n = BITS_PER_PAGE * 3;
    const b = await TrackBitmap.openFile(file, n);
    await b.setAndPersist([1, 2, 3]);
    // read the file independently of the open map
    const look = async () => {
      fs.copyFileSync(file, file + '.copy');
      const x = await TrackBitmap.openFile(file + '.copy', n);
      const runs = [...x.runs()];
      await x.close();
      fs.rmSync(file + '.copy');
      return runs;
    };
    assert.deepEqual(await look(), [[1, 3]]);
    const tracks = Array.from({ length: 200 }, (_, i) => (i * 977) % n);
    await Promise.all(tracks.map((t) => b.setAndPersist(t)));
    const want = new TrackBitmap(n);
    for (const t of [1, 2, 3, ...tracks]) want.set(t);
    assert.deepEqual(await look(), [...want.runs()]);
    await b.setAndPersist([1, 2]); // already durable: nothing to do
    await b.close();
    await assert.rejects(new TrackBitmap(10).setAndPersist(1));
  });
});

test('a short file or a bad header is recovered as all-set; a size mismatch is an error', async () => {
  await withDir('rcopy-bitmap-', async (dir) => {
    const file = path.join(dir, 'v.bits');
    const b = await TrackBitmap.openFile(file, 50_000);
    b.set(1);
    await b.close();
    fs.truncateSync(file, PAGE + 100);
    const c = await TrackBitmap.openFile(file, 50_000);
    assert.equal(c.recoveredAllSet, true);
    assert.equal(c.count(), 50_000);
    await c.close();
    assert.equal(fs.statSync(file).size, PAGE * 3); // rewritten whole
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('garbage'), 0, 7, 4);
    fs.closeSync(fd);
    const d = await TrackBitmap.openFile(file, 50_000);
    assert.equal(d.recoveredAllSet, true);
    await d.close();
    await assert.rejects(TrackBitmap.openFile(file, 60_000), (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_INTEGRITY');
  });
});
