/**
 * References instead of data, in process: the primary's content index and encoding
 * (references/content-index.ts) against the secondary's reconstruction (references/wire.ts), with a simulated S-VOL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { JournalEntry } from '../../../src/engine/journal/journal-file.js';
import { ContentIndex } from '../../../src/engine/repl/references/content-index.js';
import { TrackIndex, ZERO_HASH, trackHash } from '../../../src/engine/repl/references/track-hashes.js';
import { BLOCK, emptyCounts, reconstruct, type TransferCounts } from '../../../src/engine/repl/references/wire.js';

const VOL = 64 * BLOCK;

/** A primary (P-VOL + master journal entries) and a secondary (S-VOL) in memory. */
class Sim {
  p = Buffer.alloc(VOL);
  s = Buffer.alloc(VOL);
  journal: JournalEntry[] = [];
  seq = 0;
  idx = new ContentIndex(1000);
  names = new Map([[1, 'v']]);
  pulled = 0;
  counts: TransferCounts = emptyCounts();

  write(off: number, data: Buffer): void {
    data.copy(this.p, off);
    this.journal.push({ seq: ++this.seq, timestamp: 0, volumeId: 1, offset: off, data: Buffer.from(data) });
  }

  /** One pull of up to n entries: encode, rebuild from the S-VOL, restore. */
  async pull(n: number): Promise<void> {
    const entries = this.journal.filter((e) => e.seq > this.pulled).slice(0, n);
    this.idx.resume(this.pulled, 'k');
    const enc = this.idx.encode(entries, this.names);
    const wire = JSON.parse(JSON.stringify(enc.entries)) as typeof enc.entries;
    const datas = await reconstruct(
      wire,
      Buffer.concat(enc.payload),
      {
        readVol: async (vol, off, len) => (vol === 'v' ? Buffer.from(this.s.subarray(off, off + len)) : null),
        fetch: async (seq, off, len) => Buffer.from(this.journal.find((e) => e.seq === seq)!.data.subarray(off, off + len)),
      },
      this.counts,
    );
    entries.forEach((e, i) => {
      assert.ok(datas[i]!.equals(e.data), `entry ${e.seq} rebuilt`);
      datas[i]!.copy(this.s, e.offset);
    });
    if (entries.length) this.pulled = entries[entries.length - 1]!.seq;
    await new Promise((r) => setImmediate(r));
  }
}

test('duplicates and zero blocks travel as references and rebuild exactly', async () => {
  const sim = new Sim();
  const file = crypto.randomBytes(8 * BLOCK);
  sim.write(0, file);
  await sim.pull(10);
  for (let i = 1; i < 6; i++) sim.write(i * 8 * BLOCK, file);
  sim.write(50 * BLOCK, Buffer.alloc(4 * BLOCK));
  await sim.pull(10);
  assert.ok(sim.p.equals(sim.s));
  assert.equal(sim.counts.logicalBytes, 6 * 8 * BLOCK + 4 * BLOCK);
  assert.equal(sim.counts.dataBytes, 8 * BLOCK);
  assert.equal(sim.counts.zeroBytes, 4 * BLOCK);
  assert.equal(sim.counts.staleReferences, 0);
});

test('references inside one reply (earlier entries, earlier blocks of the same entry)', async () => {
  const sim = new Sim();
  const a = crypto.randomBytes(BLOCK);
  const b = crypto.randomBytes(BLOCK);
  sim.write(0, Buffer.concat([a, b, a, b, a]));
  sim.write(10 * BLOCK, Buffer.concat([b, a]));
  await sim.pull(10);
  assert.ok(sim.p.equals(sim.s));
  assert.equal(sim.counts.dataBytes, 2 * BLOCK);
  assert.equal(sim.counts.referenceBytes, 5 * BLOCK);
});

test('random overwrites with few distinct blocks: S == P after every pull and no reference is ever stale', async () => {
  const rnd = (n: number): number => crypto.randomInt(n);
  const pool = Array.from({ length: 6 }, () => crypto.randomBytes(BLOCK));
  pool.push(Buffer.alloc(BLOCK));
  for (let round = 0; round < 5; round++) {
    const sim = new Sim();
    for (let k = 0; k < 60; k++) {
      const writes = 1 + rnd(6);
      for (let w = 0; w < writes; w++) {
        const blocks = 1 + rnd(4);
        let data = Buffer.concat(Array.from({ length: blocks }, () => pool[rnd(pool.length)]!));
        if (rnd(4) === 0) data = data.subarray(rnd(100), data.length - rnd(100)); // unaligned, partial blocks
        const off = rnd(4) === 0 ? rnd(VOL - data.length) : rnd(VOL / BLOCK - blocks) * BLOCK;
        sim.write(off, data);
      }
      await sim.pull(1 + rnd(8));
      await sim.pull(1000);
      assert.ok(sim.p.equals(sim.s), `round ${round} step ${k}`);
    }
    assert.equal(sim.counts.staleReferences, 0);
    assert.ok(sim.counts.referenceBytes > sim.counts.dataBytes, 'most blocks travel as references');
  }
});

test('a block changed under a reference is detected by its hash and fetched', async () => {
  const sim = new Sim();
  const file = crypto.randomBytes(4 * BLOCK);
  sim.write(0, file);
  await sim.pull(10);
  sim.s.fill(0xee, BLOCK, 2 * BLOCK); // the S-VOL changes behind the primary's back
  sim.write(20 * BLOCK, file);
  await sim.pull(10);
  assert.ok(sim.p.subarray(20 * BLOCK, 24 * BLOCK).equals(sim.s.subarray(20 * BLOCK, 24 * BLOCK)));
  assert.equal(sim.counts.staleReferences, 1);
  assert.equal(sim.counts.dataBytes, 5 * BLOCK);
  assert.equal(sim.counts.referenceBytes, 3 * BLOCK);
});

test('a pull that does not continue the previous one drops the index', async () => {
  const sim = new Sim();
  sim.write(0, crypto.randomBytes(2 * BLOCK));
  await sim.pull(10);
  assert.ok(sim.idx.size > 0);
  sim.idx.resume(0, 'k'); // a rewind (lost reply)
  assert.equal(sim.idx.size, 0);
  sim.write(8 * BLOCK, crypto.randomBytes(2 * BLOCK));
  await sim.pull(10);
  sim.idx.resume(sim.pulled, 'other'); // a state change of the group
  assert.equal(sim.idx.size, 0);
});

test('the index keeps at most maxPlaces places', async () => {
  const sim = new Sim();
  sim.idx = new ContentIndex(16);
  sim.write(0, crypto.randomBytes(40 * BLOCK));
  await sim.pull(10);
  sim.idx.feedPending();
  assert.equal(sim.idx.size, 16);
  sim.write(0, Buffer.from(sim.p.subarray(0, 40 * BLOCK)));
  await sim.pull(10);
  assert.ok(sim.p.equals(sim.s));
  assert.equal(sim.counts.staleReferences, 0);
});

test('a long run of rewrites: the index stays within maxPlaces, drops the oldest and never names a stale place', async () => {
  const sim = new Sim();
  sim.idx = new ContentIndex(24);
  const pool = Array.from({ length: 8 }, () => crypto.randomBytes(BLOCK));
  let n = 0;
  for (let k = 0; k < 700; k++) {
    for (let w = 0; w < 3; w++) sim.write(crypto.randomInt(VOL / BLOCK - 2) * BLOCK, Buffer.concat([pool[n++ % 8]!, pool[crypto.randomInt(8)]!]));
    await sim.pull(100);
    sim.idx.feedPending();
    assert.ok(sim.idx.size <= 24);
  }
  assert.ok(sim.p.equals(sim.s));
  assert.equal(sim.counts.staleReferences, 0);
  assert.ok(sim.counts.referenceBytes > sim.counts.dataBytes * 10, 'the pool travels as references');
});

test('a reply that claims more than its payload is refused', async () => {
  await assert.rejects(reconstruct([{ seq: 1, len: 10 }], Buffer.alloc(4), { readVol: async () => null, fetch: async () => Buffer.alloc(0) }, emptyCounts()), /ERR_RCOPY_PEER|payload/);
  await assert.rejects(
    reconstruct(
      [
        {
          seq: 1,
          len: 8,
          segs: [
            [0, 4],
            [1, 8],
          ],
        },
      ],
      Buffer.alloc(4),
      { readVol: async () => null, fetch: async () => Buffer.alloc(0) },
      emptyCounts(),
    ),
    /overrun/,
  );
});

test('resync track index: find another track with the content, forget overwritten ones', () => {
  const x = crypto.randomBytes(65536);
  const hx = trackHash(x);
  assert.equal(trackHash(Buffer.alloc(65536)), ZERO_HASH);
  const idx = new TrackIndex();
  idx.set(5, hx);
  idx.set(6, ZERO_HASH);
  assert.equal(idx.find(hx, 9), 5);
  assert.equal(idx.find(hx, 5), undefined, 'not the track itself');
  assert.equal(idx.find(ZERO_HASH, 9), undefined, 'zero tracks are written as zeros, not copied');
  idx.set(5, trackHash(crypto.randomBytes(65536)));
  assert.equal(idx.find(hx, 9), undefined);
  assert.equal(idx.hashOf(6), ZERO_HASH);
});
