/**
 * --verify's measured figures (replay.ts), from samples written by hand: the peak journal usage
 * is counted from the journals' seqs (each write's records from when it was made until the
 * restored seq covers it), not from the sampled space in use; the real rounds' waits are taken
 * from the arrivals of batches in a row; the agreement is judged against the predicted ranges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreement, heldPeak, measuredFigures, restoreDelays, restoreModel, roundWaits, usualWaits, type Figures, type ReplaySamples } from '../../../../src/engine/stats/simulate/replay.js';

function samples(over: Partial<ReplaySamples> = {}): ReplaySamples {
  // three writes of 920 bytes (1,024 in the journal each), seqs 11, 12, 13, acknowledged at 0, 10, 20
  return {
    made: Float64Array.from([0, 10, 20]),
    lengths: Uint32Array.from([920, 920, 920]),
    seq0: 10,
    usage: [
      [5, 1024],
      [15, 2048],
      [25, 3072],
      [40, 1024],
    ],
    arrived: [
      [12, 11],
      [30, 13],
    ],
    restored: [
      [12, 10],
      [16, 11],
      [35, 13],
    ],
    overflow: false,
    resolutionMs: 1,
    ...over,
  };
}

test('the peak journal usage counts each write until the restored seq covers it, the space is the sampled peak', () => {
  // write 11 is restored at 16, before write 13 (20): at most two writes held at once
  const m = measuredFigures(samples());
  assert.equal(m.peak, 2048);
  assert.equal(m.space, 3072, 'the space in use still held write 11 at 25 (freed by a later request)');
  // restored only at 35: all three held
  assert.equal(measuredFigures(samples({ restored: [[35, 13]] })).peak, 3072);
});

test('after an overflow the peak is the space in use (the pair no longer restores)', () => {
  const m = measuredFigures(samples({ overflow: true, restored: [], usage: [[25, 4096]] }));
  assert.equal(m.peak, 4096);
  assert.equal(m.overflow, true);
});

test('heldPeak: a write released at the instant of the next acknowledgement no longer counts', () => {
  const made = Float64Array.from([0, 10, 10, 30]);
  const lengths = Uint32Array.from([1, 1, 1, 1]); // 512 bytes each in the journal
  assert.equal(heldPeak(made, lengths, Float64Array.from([10, 30, 40, 50])), 1024);
  assert.equal(heldPeak(made, lengths, Float64Array.from([Infinity, Infinity, Infinity, Infinity])), 2048);
});

test('roundWaits: batches in a row give what each round waited beyond the wire; rounds asked ahead and batches of later writes are left out', () => {
  // 1,000 bytes per ms; writes (seqs 1..6) made at 0, 1, 2, 51, 52, 300
  const s: ReplaySamples = {
    made: Float64Array.from([0, 1, 2, 51, 52, 300]),
    lengths: Uint32Array.from([10_000, 10_000, 10_000, 20_000, 1_000, 5_000]),
    seq0: 0,
    usage: [],
    arrived: [
      [10, 1], // write 1 alone
      [50, 3], // writes 2 and 3 (made before 10): 50 - 10 - 20 ms on the wire = 20
      [95, 4], // write 4 (made at 51, after 50): not in a row
      [99, 5], // write 5 (made before 95), 4 ms later: 4 - 1 = 3 < 10, a request sent ahead
      [320, 6], // made at 300, after 99
    ],
    restored: [],
    overflow: false,
    resolutionMs: 1,
  };
  assert.deepEqual(roundWaits(s, 1_000_000, 0, 20), [20]);
  // with a latency longer than the wire, the round lasts the latency
  assert.deepEqual(roundWaits(s, 1_000_000, 30, 20), [10]);
});

test('agreement: the peak within 10% of the middle of the predicted range, lag p99 within 20% of its middle', () => {
  const fig = (peak: number, lag: number, range: [number, number] = [peak, peak], lagRange: [number, number] = [lag, lag]): Figures => ({
    peak,
    peakRange: range,
    space: peak,
    lagP99: lag,
    lagP99Range: lagRange,
    lagP50: 0,
    lagMax: lag,
    overflow: false,
  });
  // middles 2,150 (10%: 1,935 to 2,365) and 5,500 (20%: 4,400 to 6,600)
  const pred = fig(2000, 5000, [2000, 2300], [5000, 6000]);
  assert.equal(agreement(pred, fig(2000, 5000), 0).all, true, 'both ends of a range 1.15x wide agree');
  assert.equal(agreement(pred, fig(2300, 6000), 0).all, true);
  assert.equal(agreement(pred, fig(2365, 6600), 0).all, true);
  assert.equal(agreement(pred, fig(1935, 4400), 0).all, true);
  assert.equal(agreement(pred, fig(2366, 5000), 0).peak, false);
  assert.equal(agreement(pred, fig(1934, 5000), 0).peak, false);
  assert.equal(agreement(pred, fig(2000, 6601), 0).lagP99, false);
  assert.equal(agreement(pred, fig(2000, 6610), 10).lagP99, true, 'the sampling resolution besides');
  assert.equal(agreement(pred, fig(2000, 4399), 0).lagP99, false);
  // a range wider than 1.1 / 0.9 leaves its ends out
  assert.equal(agreement(fig(2000, 5000, [2000, 2500]), fig(2000, 5000), 0).peak, false);
});

test('restoreDelays: each sampled arrival with its data and the time until the restored seq covers it, by data up', () => {
  // writes 11 and 12 arrive at 12 (1,840 bytes), restored at 20; write 13 arrives at 30, restored at 31
  const s = samples({
    arrived: [
      [12, 12],
      [30, 13],
    ],
    restored: [
      [12, 10],
      [20, 12],
      [31, 13],
    ],
  });
  assert.deepEqual(restoreDelays(s), [
    [920, 1],
    [1840, 8],
  ]);
  // not yet restored when sampling ended: left out
  assert.deepEqual(restoreDelays({ ...s, restored: [[20, 12]] }), [[1840, 8]]);
});

test('restoreModel: a batch restores as those within 1.25x of its data did, else as the nearest in size', () => {
  const measured: Array<[number, number]> = [
    [1000, 1],
    [1100, 3],
    [100_000, 7],
    [1_000_000, 35],
    [1_200_000, 20],
  ];
  const all = (d: number[]): number => d.reduce((a, b) => a * 100 + b, 0); // which delays were offered, in order
  const m = restoreModel(measured, all, 99);
  assert.equal(m(1000), 103, '1,000 and 1,100');
  assert.equal(m(1300), 3, '1,100 only (1,000 is more than 1.25x off)');
  assert.equal(m(1_000_000), 3520);
  assert.equal(m(800_000), 35, 'exactly 1.25x');
  assert.equal(m(700_000), 35, 'none within 1.25x: the nearest by ratio (1.43x against 7x)');
  assert.equal(m(10), 1);
  assert.equal(m(1e9), 20);
  assert.equal(restoreModel([], all, 99)(1000), 99, 'nothing measured: the fallback');
});

test('usualWaits: a wait more than 3x the median is a stall, not drawn', () => {
  assert.deepEqual(usualWaits([20, 22, 24, 25, 75, 80, 500]), [20, 22, 24, 25, 75]);
  assert.deepEqual(usualWaits([15, 17, 20, 24, 41]), [15, 17, 20, 24, 41]);
});
