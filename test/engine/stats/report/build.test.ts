import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../../../src/engine/stats/report/build.js';
import type { ReportOptions } from '../../../../src/engine/stats/report/options.js';
import type { StatsEntry } from '../../../../src/engine/stats/pb-table.js';
import { entry } from '../helpers.js';

const M = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const K64 = 65536;

// vol a: minute 0 tracks 1,2; minute 1 tracks 2,3; minute 2 nothing; minute 3 track 9
// vol b: minute 1 tracks 1,2 (distinct from a's)
const hand = (): StatsEntry[] => [
  entry('a', T0, T0 + M, [1, 2]),
  entry('a', T0 + M, T0 + 2 * M, [2, 3]),
  entry('b', T0 + M, T0 + 2 * M, [1, 2], { writes: 5, writeBytes: 5 * K64 }),
  entry('a', T0 + 3 * M, T0 + 4 * M, [9]),
];

for (const simd of [true, false]) {
  const k = simd ? 'simd' : 'js';

  test(`[${k}] consecutive windows OR their entries; volumes' tracks are distinct`, () => {
    const r = buildReport(hand(), { windowMs: 2 * M, simd });
    assert.equal(r.windows.length, 2);
    assert.deepEqual(
      r.windows.map((w) => w.changedTracks),
      [5, 1],
    ); // a{1,2,3} + b{1,2}; a{9}
    assert.equal(r.windows[0]!.changedBytes, 5 * K64);
    assert.equal(r.windows[0]!.bandwidth, (5 * K64) / 120);
    assert.equal(r.windows[0]!.writes, 9);
    assert.equal(r.windows[0]!.writeBytes, 4 * 4096 + 5 * K64);
    assert.equal(r.windows[0]!.naiveBandwidth, (4 * 4096 + 5 * K64) / 120);
    assert.equal(r.windows[1]!.start, T0 + 2 * M);
    assert.equal(r.windows[1]!.startIso, '2026-01-01T00:02:00.000Z');
    assert.equal(r.summary.peak!.start, T0);
    assert.equal(r.summary.distinctTracks, 6); // a{1,2,3,9} b{1,2}
    assert.equal(r.summary.writes, 10);
    assert.equal(r.summary.writeBytes, 5 * 4096 + 5 * K64);
    assert.ok(Math.abs(r.summary.meanBandwidth - (6 * K64) / 120 / 2) < 1e-9);
    assert.deepEqual(r.groups, []);
  });

  test(`[${k}] windows are placed by time: gaps give zero windows`, () => {
    const r = buildReport(hand(), { windowMs: M, simd });
    assert.deepEqual(
      r.windows.map((w) => w.changedTracks),
      [2, 4, 0, 1],
    );
    assert.deepEqual(
      r.windows.map((w) => w.start - T0),
      [0, M, 2 * M, 3 * M],
    );
  });

  test(`[${k}] slide finds the peak over every placement`, () => {
    const r = buildReport(hand(), { windowMs: 2 * M, slideMs: M, simd });
    // windows start at 0,1,2 (the one at 2 reaches the end at 4)
    assert.deepEqual(
      r.windows.map((w) => w.start - T0),
      [0, M, 2 * M],
    );
    assert.deepEqual(
      r.windows.map((w) => w.changedTracks),
      [5, 4, 1],
    );
    const r3 = buildReport(hand(), { windowMs: 3 * M, slideMs: M, simd });
    assert.deepEqual(
      r3.windows.map((w) => w.changedTracks),
      [5, 5],
    ); // [0,3): a{1,2,3} b{1,2}; [1,4): a{2,3,9} b{1,2}
    assert.deepEqual(
      r3.windows.map((w) => w.writes),
      [9, 8],
    );
  });

  test(`[${k}] resync time, path speed and bandwidth from the peak window`, () => {
    const r = buildReport(hand(), { windowMs: 2 * M, simd, resyncTimeMs: 10_000, pathSpeed: 10_000, bandwidth: K64, overhead: 0.5 });
    const peakBytes = 5 * K64;
    assert.equal(r.windows[0]!.bandwidth, (peakBytes * 1.5) / 120);
    assert.equal(r.summary.requiredBandwidth, (peakBytes * 1.5) / 10);
    assert.equal(r.summary.paths, Math.ceil((peakBytes * 1.5) / 10 / 10_000));
    assert.equal(r.summary.resyncSeconds, (peakBytes * 1.5) / K64);
    const r2 = buildReport(hand(), { windowMs: 2 * M, simd, pathSpeed: 1000 });
    assert.equal(r2.summary.requiredBandwidth, r2.summary.peak!.bandwidth);
    assert.equal(r2.summary.paths, Math.ceil(r2.summary.peak!.bandwidth / 1000));
    assert.equal(r2.summary.resyncSeconds, undefined);
  });

  test(`[${k}] by volume: one group per volume plus controller totals`, () => {
    const r = buildReport(hand(), { windowMs: 2 * M, by: 'volume', simd });
    assert.deepEqual(
      r.groups.map((g) => g.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      r.groups[0]!.windows.map((w) => w.changedTracks),
      [3, 1],
    );
    assert.deepEqual(
      r.groups[1]!.windows.map((w) => w.changedTracks),
      [2, 0],
    );
    assert.equal(r.groups[0]!.summary.distinctTracks, 4);
    assert.equal(r.groups[1]!.summary.writes, 5);
    assert.deepEqual(
      r.windows.map((w) => w.changedTracks),
      [5, 1],
    );
  });

  test(`[${k}] by data set: each set is its track range; the total ORs the sets`, () => {
    const r = buildReport(hand(), {
      windowMs: 2 * M,
      by: 'dataset',
      simd,
      datasets: [
        { name: 'low', volume: 'a', startByte: 0, endByte: 3 * K64 }, // tracks 0-2
        { name: 'mid', volume: 'a', startByte: 2 * K64 + 100, endByte: 10 * K64 }, // tracks 2-9 (2 partly)
        { name: 'bee', volume: 'b', startByte: 2 * K64, endByte: 3 * K64 }, // track 2
        { name: 'none', volume: 'zz', startByte: 0, endByte: K64 },
      ],
    });
    const by = Object.fromEntries(r.groups.map((g) => [g.name, g]));
    assert.deepEqual(
      by.low!.windows.map((w) => w.changedTracks),
      [2, 0],
    );
    assert.deepEqual(
      by.mid!.windows.map((w) => w.changedTracks),
      [2, 1],
    );
    assert.deepEqual(
      by.bee!.windows.map((w) => w.changedTracks),
      [1, 0],
    );
    assert.deepEqual(
      by.none!.windows.map((w) => w.changedTracks),
      [0, 0],
    );
    assert.equal(by.mid!.tracks, 8);
    assert.equal(by.low!.writesScope, 'volume');
    // union on a: tracks 0-9 -> {1,2,3} then {9}; plus b track 2
    assert.deepEqual(
      r.windows.map((w) => w.changedTracks),
      [4, 1],
    );
    assert.equal(r.summary.distinctTracks, 5);
  });

  test(`[${k}] from/to select entries and anchor windows`, () => {
    const r = buildReport(hand(), { windowMs: M, fromMs: T0 + M, toMs: T0 + 3 * M, simd });
    assert.deepEqual(
      r.windows.map((w) => [w.start - T0, w.changedTracks]),
      [
        [M, 4],
        [2 * M, 0],
      ],
    );
    const empty = buildReport([], { windowMs: M, fromMs: T0, toMs: T0 + 2 * M, simd });
    assert.equal(empty.windows.length, 2);
    assert.equal(empty.summary.peak!.changedTracks, 0);
    assert.equal(buildReport([], { windowMs: M, simd }).summary.peak, null);
  });
}

test('sliding windows match a brute-force OR on random entries (both kernels)', () => {
  let x = 7;
  const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const entries: StatsEntry[] = [];
  const size = 3000;
  for (let i = 0; i < 90; i++) {
    for (const v of ['p', 'q', 'r']) {
      if (rnd(4) === 0) continue; // gaps
      const ts = Array.from({ length: rnd(60) }, () => rnd(size));
      entries.push(entry(v, T0 + i * M, T0 + (i + 1) * M, ts, { size }));
    }
  }
  const brute = (o: ReportOptions) => {
    const S = o.slideMs ?? o.windowMs;
    const end = Math.max(...entries.map((e) => e.end));
    const out: number[] = [];
    for (let s = Math.min(...entries.map((e) => e.start)); ; s += S) {
      const set = new Set<string>();
      for (const e of entries) if (e.start >= s && e.start < s + o.windowMs) for (let t = 0; t < size; t++) if (e.bitmap[t >> 3]! & (1 << (t & 7))) set.add(e.volume + t);
      out.push(set.size);
      if (s + o.windowMs >= end) break;
    }
    return out;
  };
  assert.ok(entries.length > 150);
  for (const o of [{ windowMs: 10 * M }, { windowMs: 10 * M, slideMs: M }, { windowMs: 7 * M, slideMs: 3 * M }, { windowMs: 25 * M, slideMs: 2 * M }]) {
    const want = brute(o);
    for (const simd of [true, false]) {
      const r = buildReport([...entries].reverse(), { ...o, simd });
      assert.deepEqual(
        r.windows.map((w) => w.changedTracks),
        want,
        JSON.stringify(o),
      );
    }
  }
});

test('bad options and out-of-order streams are refused with codes', () => {
  assert.throws(() => buildReport([], { windowMs: 0 }), { code: 'ERR_RCOPY_BAD_INPUT' });
  assert.throws(() => buildReport([], { windowMs: M, slideMs: 2 * M }), { code: 'ERR_RCOPY_BAD_INPUT' });
  assert.throws(() => buildReport([], { windowMs: M, by: 'dataset' }), { code: 'ERR_RCOPY_BAD_INPUT' });
  const es = hand();
  function* gen() {
    yield es[1]!;
    yield es[0]!;
  }
  assert.throws(() => buildReport(gen(), { windowMs: M }), { code: 'ERR_RCOPY_BAD_INPUT' });
  assert.throws(() => buildReport([entry('a', 0, 1, [1]), entry('a', 1, 2, [1], { trackSize: 4096 })], { windowMs: M }), { code: 'ERR_RCOPY_BAD_INPUT' });
});
