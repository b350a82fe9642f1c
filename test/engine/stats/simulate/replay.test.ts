/**
 * --verify's measured figures (replay.ts), from samples written by hand: the peak journal usage
 * is counted from the journals' seqs (each write's records from its acknowledgement until the
 * restored seq covers it), not from the sampled space in use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldPeak, measuredFigures, type ReplaySamples } from '../../../../src/engine/stats/simulate/replay.js';

function samples(over: Partial<ReplaySamples> = {}): ReplaySamples {
  // three writes of 920 bytes (1,024 in the journal each), seqs 11, 12, 13, acknowledged at 0, 10, 20
  return {
    acks: Float64Array.from([0, 10, 20]),
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
  const acks = Float64Array.from([0, 10, 10, 30]);
  const lengths = Uint32Array.from([1, 1, 1, 1]); // 512 bytes each in the journal
  assert.equal(heldPeak(acks, lengths, Float64Array.from([10, 30, 40, 50])), 1024);
  assert.equal(heldPeak(acks, lengths, Float64Array.from([Infinity, Infinity, Infinity, Infinity])), 2048);
});
