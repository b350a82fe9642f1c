/**
 * --verify's measured figures (replay.ts), from samples written by hand: the peak journal usage
 * is counted from the journals' seqs (each write's records from when it was made until the
 * restored seq covers it), not from the sampled space in use; the real rounds' waits are taken
 * from the arrivals of batches in a row; the agreement is judged against the predicted ranges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreement, heldPeak, measuredFigures, roundWaits, type Figures, type ReplaySamples } from '../../../../src/engine/stats/simulate/replay.js';

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

test('agreement: the peak within 10% of the predicted range, lag p99 within 20% of its range', () => {
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
  const pred = fig(2000, 5000, [2000, 2300], [5000, 6000]);
  assert.equal(agreement(pred, fig(2530, 7200), 0).all, true);
  assert.equal(agreement(pred, fig(2531, 5000), 0).peak, false);
  assert.equal(agreement(pred, fig(1799, 5000), 0).peak, false);
  assert.equal(agreement(pred, fig(2000, 7201), 0).lagP99, false);
  assert.equal(agreement(pred, fig(2000, 7210), 10).lagP99, true, 'the sampling resolution besides');
  assert.equal(agreement(pred, fig(2000, 3999), 0).lagP99, false);
});
