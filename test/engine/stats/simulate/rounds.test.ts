/**
 * The journal simulation with the secondary pulling in rounds at a fixed interval (rounds.ts),
 * against cases computed by hand. The link carries 1,000 B/s (1 ms a byte); a write of 920 bytes
 * is 1,000 bytes on the link and a journal record of 80 + 920 = 1,000 bytes padded to 1,024.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteLog } from '../../../../src/engine/stats/simulate/writes.js';
import { simulate, type SimParams } from '../../../../src/engine/stats/simulate/queue.js';

const base: SimParams = { bandwidth: 1000, journal: 1 << 20, latencyMs: 0, outages: [], trackSize: 65536, rpoMs: 300_000, samples: 0 };

function log(writes: Array<[time: number, length: number]>): WriteLog {
  const l = new WriteLog();
  for (const [t, len] of writes) l.add(t, 0, 0, len);
  return l;
}

test('a write made during a round waits for the next one, an interval after the round ends', () => {
  // round at 0 takes A (1,000 wire bytes: ends at 1,000); B (made at 50, 500 wire bytes) waits for
  // the round at 1,000 + 100 and arrives at 1,600; A's space is freed by that round's request
  const r = simulate(
    log([
      [0, 920],
      [50, 420],
    ]),
    { ...base, pull: { intervalMs: 100, batchBytes: 1 << 24 } },
  );
  assert.equal(r.lag.max, 1550);
  assert.equal(r.peak.bytes, 1024 + 512);
  assert.equal(r.end, 1600 + 100);
  // without rounds, B is sent as soon as the link is free: it arrives at 1,500
  assert.equal(
    simulate(
      log([
        [0, 920],
        [50, 420],
      ]),
      base,
    ).lag.max,
    1450,
  );
});

test('idle rounds last one latency plus the interval; the first round after a pause takes the write', () => {
  // rounds at 0 (A, ends at 1,000), 1,100, then every 110 ms: 1,100 + 36 x 110 = 5,060 takes B
  const r = simulate(
    log([
      [0, 920],
      [5000, 420],
    ]),
    { ...base, latencyMs: 10, pull: { intervalMs: 100, batchBytes: 1 << 24 } },
  );
  assert.equal(r.lag.max, 1000);
  const b = simulate(log([[5000, 420]]), { ...base, latencyMs: 10, pull: { intervalMs: 100, batchBytes: 1 << 24 } });
  assert.equal(b.lag.max, 500, 'a lone write: taken by the round at its time, 500 ms on the wire (the latency runs alongside, as in the shaper)');
  const r2 = simulate(
    log([
      [0, 920],
      [5000, 420],
    ]),
    { ...base, latencyMs: 10, pull: { intervalMs: 100, batchBytes: 1 << 24 } },
  );
  assert.equal(r2.end, 5560 + 100);
});

test('a round takes at most the batch size of data (at least one write)', () => {
  // three writes of 600 bytes (680 on the link) at 0, one a round; a full batch means more is
  // waiting, so the secondary asks again at once (no interval): the link never idles, 3 x 680
  const r = simulate(
    log([
      [0, 600],
      [0, 600],
      [0, 600],
    ]),
    { ...base, pull: { intervalMs: 100, batchBytes: 1000 } },
  );
  assert.equal(r.lag.max, 2040);
  // the first batch is freed by the first request after it arrived: the third's, at 680 + 100
  assert.equal(r.end, 2040 + 100);
  const one = simulate(
    log([
      [0, 600],
      [0, 600],
      [0, 600],
    ]),
    { ...base, pull: { intervalMs: 100, batchBytes: 100 } },
  );
  assert.equal(one.lag.max, 2040, 'a write larger than the batch still goes, alone');
  const all = simulate(
    log([
      [0, 600],
      [0, 600],
      [0, 600],
    ]),
    { ...base, pull: { intervalMs: 100, batchBytes: 1 << 24 } },
  );
  assert.equal(all.lag.max, 3 * 680);
});

test('a write made just after a round starts makes the secondary ask ahead: the batch is freed a round later', () => {
  // A at 0 (ends 1,000); B at 5 is made while the primary answers (aheadMs 10): the next request
  // goes at 10, takes B (500 wire bytes after A: ends at 1,500) and cannot report A restored;
  // A is freed by the request after B's round, at 1,600, not at 1,100
  const p = { ...base, pull: { intervalMs: 100, batchBytes: 1 << 24, aheadMs: 10 } };
  const r = simulate(
    log([
      [0, 920],
      [5, 420],
      [1200, 1],
    ]),
    p,
  );
  assert.equal(r.lag.max, 1495);
  // at 1,200 A (1,024) and B (512) are still held, and the third write's 512
  assert.equal(r.peak.bytes, 2048);
  const without = simulate(
    log([
      [0, 920],
      [5, 420],
      [1200, 1],
    ]),
    { ...p, pull: { ...p.pull, aheadMs: 0 } },
  );
  assert.equal(without.peak.bytes, 1536, 'without asking ahead, A is freed at 1,100 by the round that takes B');
});

test('a journal too small for what waits for the next round overflows', () => {
  // 3 KiB journal: A (1,024) is on the wire until 1,000; B, C, D (1,024 each) made by 900 do not fit
  const writes: Array<[number, number]> = [
    [0, 920],
    [300, 920],
    [600, 920],
    [900, 920],
  ];
  const r = simulate(log(writes), { ...base, journal: 3072, pull: { intervalMs: 100, batchBytes: 1 << 24 } });
  assert.equal(r.overflow?.at, 900);
  assert.equal(simulate(log(writes), { ...base, journal: 4096, pull: { intervalMs: 100, batchBytes: 1 << 24 } }).overflow, null);
});

test("with dataOnlyWire the link carries the data only, as rcopy's shaper counts it (no 80-byte header)", () => {
  const r = simulate(log([[0, 920]]), { ...base, pull: { intervalMs: 100, batchBytes: 1 << 24, dataOnlyWire: true } });
  assert.equal(r.lag.max, 920);
  assert.equal(simulate(log([[0, 920]]), { ...base, pull: { intervalMs: 100, batchBytes: 1 << 24 } }).lag.max, 1000);
});

test("freeAt 'restore' counts a record until its restore, not until the request after it", () => {
  // A (0) arrives at 1,000 and is restored 30 ms later; B is made at 1,050: freed at its restore,
  // A no longer counts then (peak 1,024); freed by a request, A waits for the round at 1,100
  const writes = log([
    [0, 920],
    [1050, 420],
  ]);
  const pull = { intervalMs: 100, batchBytes: 1 << 24, restoreMs: 30 };
  assert.equal(simulate(writes, { ...base, pull: { ...pull, freeAt: 'restore' } }).peak.bytes, 1024);
  assert.equal(simulate(writes, { ...base, pull }).peak.bytes, 1024 + 512);
  // restored only at 1,060: A still counts when B is made
  assert.equal(simulate(writes, { ...base, pull: { ...pull, restoreMs: 60, freeAt: 'restore' } }).peak.bytes, 1024 + 512);
});

test('jitter lengthens (or shortens) each wait of the interval, idle rounds one at a time', () => {
  // A at 0 arrives at 1,000; rounds then every 100 + 10 ms: 1,110, 1,220, 1,330 takes B (made at
  // 1,300), 500 ms on the wire: B's lag 530 (without jitter: the round at 1,300 takes it, lag 500)
  const writes = log([
    [0, 920],
    [1300, 420],
  ]);
  const pull = { intervalMs: 100, batchBytes: 1 << 24 };
  assert.equal(simulate(writes, { ...base, pull: { ...pull, jitter: () => 10 } }).lag.max, 1000);
  assert.equal(simulate(writes, { ...base, samples: 10_000, pull: { ...pull, jitter: () => 10 } }).end - 1830, 110);
  assert.equal(simulate(writes, { ...base, pull }).end, 1800 + 100);
});

test('restoreDelay: a batch restores after the delay of its own data', () => {
  // A (920 B) arrives at 920 and is restored 92 ms later (1,012): B, made at 950, finds it still
  // there (1,024 + 512); the round at 1,020 takes B (ends at 1,112, restored 9.2 ms later), so C,
  // made at 1,125, finds B gone. With one delay for all batches, that of the small one (9.2 ms), A
  // would be gone at 929.2, before B: the peak would be A's alone
  const writes = log([
    [0, 920],
    [950, 92],
    [1125, 92],
  ]);
  const pull = { intervalMs: 100, batchBytes: 1 << 24, dataOnlyWire: true, freeAt: 'restore' as const };
  assert.equal(simulate(writes, { ...base, pull: { ...pull, restoreDelay: (b: number) => b / 10 } }).peak.bytes, 1024 + 512);
  assert.equal(simulate(writes, { ...base, pull: { ...pull, restoreMs: 9.2 } }).peak.bytes, 1024);
});

test('restoreDelay: a small batch restored sooner than the large one before it is released with it, in order', () => {
  // B (made at 0.5) is taken by a request asked ahead at 1 (aheadMs), arrives at 920 + 92 = 1,012
  // and its own delay is 0, but A (restored 920 + 200 = 1,120) is released first: C, made at
  // 1,100, finds A and B still there
  const writes = log([
    [0, 920],
    [0.5, 92],
    [1100, 92],
  ]);
  const pull = { intervalMs: 100, batchBytes: 1 << 24, dataOnlyWire: true, freeAt: 'restore' as const, aheadMs: 1, restoreDelay: (b: number) => (b > 500 ? 200 : 0) };
  const r = simulate(writes, { ...base, samples: 1000, pull });
  assert.equal(r.peak.bytes, 1024 + 512 + 512);
  assert.equal(r.lag.max, 1011.5, 'B arrives at 1,012');
  // A restored at once too: B and A are gone when C is made
  assert.equal(simulate(writes, { ...base, pull: { ...pull, restoreDelay: () => 0 } }).peak.bytes, 1024 + 512);
  // freed by requests instead: the round at 1,112 (after B's) reports both restored only after 1,120
  assert.equal(simulate(writes, { ...base, pull: { ...pull, freeAt: 'request' } }).peak.bytes, 1024 + 512 + 512);
});
