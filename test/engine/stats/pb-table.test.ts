import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PbTable } from '../../../src/engine/stats/pb-table.js';

const K64 = 65536;

test('many writes to one track set its PB bit once per interval', () => {
  const t = new PbTable('v', K64, 100);
  for (let i = 0; i < 50; i++) t.mark(3 * K64 + (i % 16) * 4096, 4096);
  const e = t.snapshot(0, 60_000);
  assert.equal(e.count, 1);
  assert.equal(e.writes, 50);
  assert.equal(e.writeBytes, 50 * 4096);
  assert.equal(e.bitmap[0], 0b1000);
  assert.equal(e.volume, 'v');
  assert.equal(e.tracks, 100);
});

test('a write spanning tracks sets each of them, and snapshot resets', () => {
  const t = new PbTable('v', K64, 1000);
  t.mark(K64 - 512, 2 * K64 + 1024); // bytes 65024..197119: tracks 0, 1, 2 and 3
  const e = t.snapshot(0, 1);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => (e.bitmap[0]! >> i) & 1),
    [1, 1, 1, 1],
  );
  assert.equal(e.count, 4);
  const e2 = t.snapshot(1, 2);
  assert.equal(e2.count, 0);
  assert.equal(e2.writes, 0);
  assert.equal(e2.bitmap.length, 0, 'an empty interval has an empty (all-zero) bitmap');
  t.mark(999 * K64, K64);
  const e3 = t.snapshot(2, 3);
  assert.equal(e3.count, 1);
  assert.equal(e3.bitmap.length, 125);
  assert.equal(e3.bitmap[124], 0x80);
});

test('exact track boundaries: a write ending at a boundary does not touch the next track', () => {
  const t = new PbTable('v', K64, 10);
  t.mark(K64, K64);
  const e = t.snapshot(0, 1);
  assert.equal(e.count, 1);
  assert.equal(e.bitmap[0], 0b10);
});

test('a fixed-size table refuses writes past its end; a growable one grows', () => {
  const t = new PbTable('v', K64, 4);
  assert.throws(() => t.mark(4 * K64, 1), { code: 'ERR_RCOPY_OUT_OF_RANGE' });
  const g = new PbTable('g', K64, 0, { growable: true });
  g.mark(5_000 * K64, 10);
  g.mark(0, 10);
  assert.equal(g.tracks, 5001);
  const e = g.snapshot(0, 1);
  assert.equal(e.count, 2);
  assert.equal(e.bitmap[625], 1);
});

test('mark is cheap (per-write cost printed)', () => {
  const tracks = 1_638_400;
  const t = new PbTable('v', K64, tracks);
  const n = 2_000_000;
  let x = 12345;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    t.mark((x % tracks) * K64 + 512, 8192);
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`# PbTable.mark: ${ns.toFixed(1)} ns per write`);
  assert.ok(ns < 2000);
  assert.equal(t.snapshot(0, 1).writes, n);
});
