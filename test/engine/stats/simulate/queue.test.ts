/**
 * The journal simulation against cases computed by hand. A write of 4016 bytes is one journal
 * record of 80 + 4016 = 4096 bytes (already a multiple of 512) and 4096 bytes on the link; at
 * 409,600 B/s it takes exactly 10 ms to send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REC_HDR, ALIGN, MAX_RECORD_DATA } from '../../../../src/engine/journal/layout.js';
import { WriteLog, journalBytes, wireBytes } from '../../../../src/engine/stats/simulate/writes.js';
import { sendEnd, simulate, type SimParams } from '../../../../src/engine/stats/simulate/queue.js';
import { busiestHour, longestOutage, solveBandwidth, sizingTable } from '../../../../src/engine/stats/simulate/solve.js';

const LEN = 4016;
const BW = 409_600;
const base: SimParams = { bandwidth: BW, journal: 1 << 20, latencyMs: 0, outages: [], trackSize: 65536, rpoMs: 300_000 };

function log(writes: Array<[time: number, offset?: number, length?: number]>): WriteLog {
  const l = new WriteLog();
  for (const [t, off, len] of writes) l.add(t, 0, off ?? 0, len ?? LEN);
  return l;
}

test("a write's journal cost is rcopy's record layout: 80-byte header, 512-byte alignment, 4 MiB records", () => {
  assert.equal(REC_HDR, 80);
  assert.equal(ALIGN, 512);
  assert.equal(journalBytes(LEN), 4096);
  assert.equal(journalBytes(1), 512);
  assert.equal(journalBytes(4096), 4608);
  assert.equal(journalBytes(MAX_RECORD_DATA + 1), Math.ceil((MAX_RECORD_DATA + 80) / 512) * 512 + 512);
  assert.equal(wireBytes(LEN), 4096);
  assert.equal(wireBytes(MAX_RECORD_DATA + 1), MAX_RECORD_DATA + 1 + 160);
});

test('sendEnd pauses a transfer for an outage', () => {
  const o = [{ start: 150, end: 200 }];
  assert.equal(sendEnd(100, 50, o), 150); // done as the link goes down
  assert.equal(sendEnd(100, 60, o), 210); // 50 ms before, 10 after
  assert.equal(sendEnd(160, 10, o), 210);
  assert.equal(sendEnd(0, 10, o), 10);
  assert.equal(sendEnd(200, 10, o), 210);
});

test('a rate exactly at the bandwidth: one record in the journal at a time, the lag never above one send', () => {
  const writes: Array<[number]> = [];
  for (let i = 0; i < 100; i++) writes.push([i * 10]);
  const r = simulate(log(writes), { ...base, rpoMs: 10 });
  assert.equal(r.peak.bytes, 4096);
  assert.equal(r.peak.at, 0);
  assert.equal(r.overflow, null);
  assert.equal(r.overHighWaterMs, 0);
  assert.equal(r.end, 1000);
  assert.equal(r.lag.max, 10);
  assert.equal(r.lag.withinRpo, 1);
  // the lag is a sawtooth from 0 to 10 ms: its median near 5, its p99 near 9.9
  assert.ok(Math.abs(r.lag.p50 - 5) < 0.1, `p50 ${r.lag.p50}`);
  assert.ok(Math.abs(r.lag.p99 - 9.9) < 0.1, `p99 ${r.lag.p99}`);
  assert.equal(r.journalBytes, 100 * 4096);
  // 1% more writes than the link carries: the queue grows by one record every 100 writes
  const faster = simulate(log(writes.map(([t]) => [t * 0.99])), base);
  assert.ok(faster.peak.bytes === 2 * 4096, `peak ${faster.peak.bytes}`);
});

test('a burst larger than the journal overflows at once; the resync copies the distinct tracks', () => {
  const writes: Array<[number, number]> = [];
  for (let i = 0; i < 20; i++) writes.push([0, i * 65536]);
  writes.push([1000, 0]); // a track already in the bitmap
  const r = simulate(log(writes), { ...base, journal: 10 * 4096, rpoMs: 500 });
  assert.ok(r.overflow);
  assert.equal(r.overflow.at, 0);
  assert.equal(r.peak.bytes, 10 * 4096);
  assert.equal(r.peak.share, 1);
  assert.equal(r.overflow.resyncTracks, 20);
  assert.equal(r.overflow.resyncBytes, 20 * 65536);
  assert.equal(r.overflow.resyncMs, (20 * 65536 * 1000) / BW); // 3.2 s
  // nothing reaches the secondary after the overflow: the lag grows from 0 to 1000 ms
  assert.equal(r.lag.max, 1000);
  assert.ok(Math.abs(r.lag.withinRpo - 0.5) < 0.001, `within ${r.lag.withinRpo}`);
  assert.ok(Math.abs(r.lag.p50 - 500) < 1);
});

test('a link outage: the journal holds what the hosts write meanwhile, then drains', () => {
  const writes: Array<[number]> = [];
  for (let i = 0; i < 10; i++) writes.push([i * 100]);
  const r = simulate(log(writes), { ...base, journal: 30_000, outages: [{ start: 200, end: 700 }] });
  // writes at 200..700 wait; the one at 200 is sent from 700 to 710, then 300 to 720, ... 700 to 760
  assert.equal(r.peak.bytes, 6 * 4096);
  assert.equal(r.peak.at, 700);
  assert.equal(r.overflow, null);
  assert.equal(r.firstOverHighWater, 700); // 24,576 > 80% of 30,000
  assert.equal(r.overHighWaterMs, 10); // until the write of 200 is released at 710
  assert.equal(r.lag.max, 510);
  assert.equal(r.end, 910);
  // the same outage with a journal of 5 records overflows at the write of 700
  const small = simulate(log(writes), { ...base, journal: 5 * 4096, outages: [{ start: 200, end: 700 }] });
  assert.equal(small.overflow?.at, 700);
});

test('latency: a write arrives one latency after it was sent, its space is freed one latency later', () => {
  const r = simulate(log([[0], [1000]]), { ...base, latencyMs: 20 });
  assert.equal(r.lag.max, 30);
  assert.equal(r.end, 1000 + 10 + 40);
  const close = simulate(log([[0], [35]]), { ...base, latencyMs: 20 });
  assert.equal(close.peak.bytes, 2 * 4096); // the first is freed at 50
});

test('busiest hour, longest outage absorbed there, least bandwidth for the RPO', () => {
  const writes: Array<[number]> = [];
  for (let i = 0; i < 100; i++) writes.push([i * 1000]); // one a second
  for (let i = 0; i < 100; i++) writes.push([7_200_000 + i * 100]); // ten a second, two hours later
  const l = log(writes);
  const h = busiestHour(l)!;
  assert.equal(h.start, 0); // both hours hold 100 writes: the first one found wins
  assert.equal(h.journalBytes, 100 * 4096);
  // journal of 50 records, the link idle: at one write a second, 50 s of outage fill it
  const a = longestOutage(l, { ...base, journal: 50 * 4096 }, 7_200_000)!;
  assert.equal(a.atLeast, false);
  // at ten a second 50 records come in 4.9 s (writes at 0, 100, ... 4900): the 51st at 5000 overflows
  assert.ok(a.ms >= 4900 && a.ms < 5000 + 100, `absorbs ${a.ms}`);
  // RPO 1 s always: the burst of ten a second needs 4096 bytes every 100 ms or faster
  const bw = solveBandwidth(l, { ...base, rpoMs: 1000 }, 1)!;
  assert.ok(bw > 0 && bw <= 40_960 * 1.01, `bandwidth ${bw}`);
  const table = sizingTable(l, { ...base, rpoMs: 1000 }, [bw * 1.01, bw / 4], [1 << 20]);
  assert.equal(table[0]![0]!.met, true);
  assert.equal(table[1]![0]!.met, false);
});

test('the longest outage found with its shortcuts (start and stop where the journal is empty) is the one whole runs find', () => {
  // bursts over an hour, the link busy at times: whole runs of the simulation around the answer
  const l = new WriteLog();
  let x = 7;
  let t = 0;
  for (let i = 0; i < 20_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    t += (x & 0x3ff) * ((x >>> 12) % 8 === 0 ? 3 : 0.2);
    l.add(t, 0, ((x >>> 8) % 1000) * 4096, 512 << ((x >>> 20) & 3));
  }
  const p = { ...base, bandwidth: 2_000_000, journal: 4 << 20, latencyMs: 5 };
  const whole = (ms: number, at: number) => simulate(l, { ...p, outages: [{ start: at, end: at + ms }], samples: 0 }).overflow !== null;
  for (const at of [l.times[0]!, l.times[9000]!, l.times[15000]!]) {
    const a = longestOutage(l, p, at)!;
    assert.equal(a.atLeast, false);
    assert.ok(a.ms > 0);
    const eps = Math.max(100, (l.times[l.length - 1]! - at) / 2000);
    assert.equal(whole(a.ms, at), false, `an outage of ${a.ms} ms at ${at} is absorbed`);
    assert.equal(whole(a.ms + eps, at), true, `one of ${a.ms + eps} ms is not`);
  }
});
