/** The progress rate and ETA come from a moving window, not from work done before it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindow, bar } from '../../src/cli/render/progress-rate.js';

test('a wait that joins a copy half done: the ETA is from the rate now, not from the work before', () => {
  const w = new RateWindow(5000);
  // joined at 50% of 1000 units: the first sample already counts 500 units done before us
  w.add(0, 500);
  for (let t = 1000; t <= 6000; t += 1000) w.add(t, 500 + (t / 1000) * 10); // 10 units/s from now on
  assert.equal(w.rate(), 10);
  // 440 left at 10/s: 44 s (an average from the start would have said 6 s)
  assert.equal(w.eta(1000), 44_000);
});

test('a copy that slows down: the window forgets the fast start', () => {
  const w = new RateWindow(5000);
  for (let t = 0; t <= 10_000; t += 1000) w.add(t, t <= 3000 ? t * 100 : 300_000 + (t - 3000) * 1); // 100/ms, then 1/ms
  assert.equal(w.rate(), 1000);
  assert.equal(w.eta(400_000), ((400_000 - 307_000) / 1000) * 1000);
});

test('no rate before two samples, ETA infinite; done is ETA 0; the bar', () => {
  const w = new RateWindow();
  assert.equal(w.rate(), 0);
  assert.equal(w.eta(10), Infinity);
  w.add(0, 0);
  assert.equal(w.eta(10), Infinity);
  w.add(1000, 10);
  assert.equal(w.eta(10), 0);
  assert.equal(bar(5, 10, 10), '[#####-----]');
  assert.equal(bar(0, 0, 4), '[####]');
});
