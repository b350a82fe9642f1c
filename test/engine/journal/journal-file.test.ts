import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { combineOp, crc32, crc32Combine } from '../../../src/engine/util/crc32.js';
import { JournalFile, recordSize, MAX_RECORD_DATA } from '../../../src/engine/journal/journal-file.js';
import { RcopyError } from '../../../src/errors.js';
import { spawnSync } from 'node:child_process';
import { ROOT, rng, withDir } from '../../helpers.js';

const DATA_START = 8192;
const KiB = 1024;
const MiB = 1024 * 1024;

/** Data that depends on the seq, so a record read back can be checked without keeping it. */
function payload(seq: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = (seq * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function entry(seq: number, len: number) {
  return { volumeId: seq % 7, offset: seq * 4096, data: payload(seq, len), timestamp: 1_700_000_000_000 + seq, flags: seq % 3 };
}

function checkEntry(e: { seq: number; volumeId: number; offset: number; data: Buffer; timestamp: number; flags?: number }, len?: number): void {
  if (len !== undefined) assert.equal(e.data.length, len, `length of seq ${e.seq}`);
  assert.equal(e.volumeId, e.seq % 7);
  assert.equal(e.offset, e.seq * 4096);
  assert.equal(e.timestamp, 1_700_000_000_000 + e.seq);
  assert.equal(e.flags, e.seq % 3);
  assert.ok(e.data.equals(payload(e.seq, e.data.length)), `data of seq ${e.seq}`);
}

function isCode(code: string) {
  return (err: unknown) => err instanceof RcopyError && err.code === code;
}

for (const direct of [false, true])
  test(`append${direct ? ' (O_DIRECT)' : ''}, read and release round trips with random sizes, wrapping many times, with reopens`, async () => {
    await withDir('rcopy-journal-', async (dir) => {
      const file = path.join(dir, 'j.jnl');
      const cap = 4 * MiB;
      let j = await JournalFile.create(file, cap);
      const r = rng(1);
      const live = new Map<number, number>(); // seq -> length
      let written = 0;
      let oldest = 1;
      for (let round = 0; round < 400; round++) {
        const n = 1 + Math.floor(r() * 5);
        const lens = Array.from({ length: n }, () => (r() < 0.1 ? 0 : Math.floor(r() ** 3 * 400 * KiB)));
        if (!j.canFit(lens)) {
          await assert.rejects(
            j.append(
              lens.map((l, i) => entry(j.lastSeq + 1 + i, l)),
              { direct },
            ),
            isCode('ERR_RCOPY_JOURNAL_FULL'),
          );
          // release about half of what is live
          const seqs = [...live.keys()];
          const upto = seqs[Math.floor(seqs.length / 2)]!;
          await j.release(upto);
          for (const s of seqs) if (s <= upto) live.delete(s);
          oldest = upto + 1;
          continue;
        }
        const first = j.lastSeq + 1;
        const res = await j.append(
          lens.map((l, i) => entry(first + i, l)),
          { direct },
        );
        assert.deepEqual(res, { firstSeq: first, lastSeq: first + n - 1 });
        lens.forEach((l, i) => live.set(first + i, l));
        written += lens.reduce((a, b) => a + b, 0);
        if (round % 37 === 0) {
          await j.close();
          j = await JournalFile.open(file);
          assert.equal(j.recovery.reason, undefined);
          assert.equal(j.recovery.records, live.size);
        }
        if (round % 5 === 0) {
          const got = await j.read(oldest);
          assert.deepEqual(
            got.map((e) => e.seq),
            [...live.keys()],
          );
          for (const e of got) checkEntry(e, live.get(e.seq));
          // what the records touched comes from the index (built by appends and by a reopen's recovery) alike
          assert.deepEqual(
            j.touched(oldest),
            got.map((e) => [e.volumeId, e.offset, e.data.length]),
          );
        }
        const st = j.stats();
        assert.equal(st.entries, live.size);
        assert.equal(
          st.bytesPending,
          [...live.values()].reduce((a, b) => a + b, 0),
        );
        assert.ok(st.used <= cap && st.used >= st.bytesPending);
      }
      assert.ok(written > 10 * cap, `wrapped ${written / cap} times`);
      await j.release(j.lastSeq);
      assert.equal(j.stats().used, 0);
      assert.equal(j.stats().entries, 0);
      await j.close();
    });
  });

test('1 MiB records wrap around a small ring many times; reopen finds exactly the live ones', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 5 * MiB + 512 * 3);
    const len = MiB - 100;
    for (let s = 1; s <= 60; s++) {
      if (!j.canFit([len])) await j.release(s - 3); // keep at most about 3 live
      await j.append([entry(s, len)]);
      const got = await j.read(s);
      assert.equal(got.length, 1);
      checkEntry(got[0]!, len);
    }
    await j.close();
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.reason, undefined);
    assert.equal(k.lastSeq, 60);
    const live = await k.read(0);
    assert.equal(live[live.length - 1]!.seq, 60);
    assert.ok(live.length >= 1 && live.length <= 5);
    for (const e of live) checkEntry(e, len);
    await k.close();
  });
});

test('reopen after close keeps entries and lastSeq, also when everything was released or reset', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    await j.append([entry(1, 100), entry(2, 5000), entry(3, 0)]);
    await j.close();
    const a = await JournalFile.open(file);
    assert.deepEqual(a.recovery, { records: 3, lastSeq: 3, stoppedAt: a.recovery.stoppedAt });
    assert.deepEqual(
      (await a.read(1)).map((e) => e.seq),
      [1, 2, 3],
    );
    assert.equal(a.stats().oldestTimestamp, 1_700_000_000_001);
    await a.release(3);
    await a.close();
    const b = await JournalFile.open(file);
    assert.equal(b.stats().entries, 0);
    assert.equal(b.lastSeq, 3);
    assert.deepEqual(await b.append([{ volumeId: 1, offset: 0, data: Buffer.from('x') }]), { firstSeq: 4, lastSeq: 4 });
    await b.reset();
    assert.equal(b.stats().entries, 0);
    assert.equal(b.stats().used, 0);
    await b.close();
    const c = await JournalFile.open(file);
    assert.equal(c.lastSeq, 4);
    assert.equal(c.stats().entries, 0);
    assert.deepEqual(await c.append([entry(5, 10)]), { firstSeq: 5, lastSeq: 5 });
    await c.close();
  });
});

test('a full journal throws ERR_RCOPY_JOURNAL_FULL and writes nothing', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 256 * KiB);
    let s = 0;
    while (j.canFit([20 * KiB])) await j.append([entry(++s, 20 * KiB)]);
    const before = fs.readFileSync(file);
    const stats = j.stats();
    // a batch whose first record fits but the second does not: nothing at all is written
    const free = stats.capacity - stats.used;
    assert.ok(free >= recordSize(1000));
    const batch = [entry(s + 1, 1000), entry(s + 2, 20 * KiB)];
    assert.equal(j.canFit(batch.map((e) => e.data.length)), false);
    await assert.rejects(j.append(batch), isCode('ERR_RCOPY_JOURNAL_FULL'));
    assert.ok(fs.readFileSync(file).equals(before));
    assert.deepEqual(j.stats(), stats);
    assert.equal(j.lastSeq, s);
    // and the journal still works afterwards
    await j.release(2);
    assert.deepEqual(await j.append([entry(s + 1, 20 * KiB)]), { firstSeq: s + 1, lastSeq: s + 1 });
    await assert.rejects(j.append([{ volumeId: 0, offset: 0, data: Buffer.alloc(MAX_RECORD_DATA + 1) }]), /4 MiB/);
    await j.close();
  });
});

test('a file truncated mid-record recovers to the last whole record', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 2 * MiB);
    for (let s = 1; s <= 5; s++) await j.append([entry(s, 10_000)]);
    await j.close();
    const fifthAt = DATA_START + 4 * recordSize(10_000);
    fs.truncateSync(file, fifthAt + 5000);
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.records, 4);
    assert.equal(k.recovery.lastSeq, 5); // the header knew seq 5: its number is not given out again
    assert.equal(k.recovery.stoppedAt, fifthAt);
    assert.match(k.recovery.reason ?? '', /record seq 5 at \d+: cut short/);
    assert.deepEqual(
      (await k.read(0)).map((e) => e.seq),
      [1, 2, 3, 4],
    );
    // the next append takes seq 6 and the file is whole after it
    assert.deepEqual(await k.append([entry(6, 20_000)]), { firstSeq: 6, lastSeq: 6 });
    await k.close();
    const m = await JournalFile.open(file);
    assert.equal(m.recovery.reason, undefined);
    assert.equal(m.recovery.records, 5);
    checkEntry((await m.read(5))[0]!, 20_000);
    await m.close();
  });
});

test('a half-written record or a half-written batch is dropped whole', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 2 * MiB);
    await j.append([entry(1, 3000)]);
    await j.append([entry(2, 3000), entry(3, 3000), entry(4, 3000)]); // one batch
    await j.close();
    // the last record of the batch lost its second half (as if the write was torn)
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(1500), 0, 1500, DATA_START + 3 * recordSize(3000) + 80 + 1500);
    fs.closeSync(fd);
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.records, 1);
    assert.equal(k.lastSeq, 4);
    assert.match(k.recovery.reason ?? '', /record seq 4 at \d+: bad crc.*from seq 2 are lost/);
    assert.deepEqual(
      (await k.read(0)).map((e) => e.seq),
      [1],
    );
    await k.close();
  });
});

test('a flipped byte in record data: open stops before it, read of it throws', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 2 * MiB);
    for (let s = 1; s <= 6; s++) await j.append([entry(s, 7000)]);
    await j.sync();
    const at = DATA_START + 3 * recordSize(7000) + 80 + 1234; // data of seq 4
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x10;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    // the open instance: reading seq 4 fails with an integrity error naming seq and offset
    await assert.rejects(
      j.read(4),
      (err: unknown) => err instanceof RcopyError && err.code === 'ERR_RCOPY_INTEGRITY' && /seq 4/.test(err.message) && err.message.includes(String(DATA_START + 3 * recordSize(7000))),
    );
    // the same when the check is made from the crcs of the blocks (a pull with references)
    await assert.rejects(j.read(4, { blockCrcs: 4096 }), (err: unknown) => err instanceof RcopyError && err.code === 'ERR_RCOPY_INTEGRITY' && /seq 4/.test(err.message));
    assert.deepEqual(
      (await j.read(1, { maxEntries: 3 })).map((e) => e.seq),
      [1, 2, 3],
    );
    await j.close();
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.records, 3);
    assert.equal(k.lastSeq, 6);
    assert.match(k.recovery.reason ?? '', /record seq 4 at \d+: bad crc/);
    await k.close();
  });
});

test("crc32Combine joins crcs as one pass would; reads with blockCrcs give each block's crc32", async () => {
  const r = rng(3);
  for (const [a, b] of [
    [0, 0],
    [1, 4096],
    [80, 4096],
    [5000, 1],
    [12345, 65536],
  ] as const) {
    const x = Buffer.from(Array.from({ length: a + b }, () => Math.floor(r() * 256)));
    assert.equal(crc32Combine(crc32(x.subarray(0, a)), crc32(x.subarray(a)), combineOp(b)), crc32(x), `${a}+${b}`);
  }
  await withDir('rcopy-journal-', async (dir) => {
    const j = await JournalFile.create(path.join(dir, 'j.jnl'), 4 * MiB);
    const lens = [0, 100, 4096, 4097, 3 * 4096 + 5, 256 * KiB];
    await j.append(lens.map((l, i) => entry(i + 1, l)));
    const got = await j.read(1, { blockCrcs: 4096 });
    assert.equal(got.length, lens.length);
    for (const e of got) {
      checkEntry(e, lens[e.seq - 1]);
      const whole = Math.floor(e.data.length / 4096);
      if (whole === 0) assert.equal(e.blockCrcs, undefined);
      else
        assert.deepEqual(
          [...e.blockCrcs!],
          Array.from({ length: whole }, (_, i) => crc32(e.data.subarray(i * 4096, (i + 1) * 4096))),
        );
    }
    await j.close();
  });
});

test('a whole, valid record from an earlier lap is not taken as new', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const size = recordSize(10_000);
    const j = await JournalFile.create(file, 8 * size); // exactly 8 records per lap
    for (let s = 1; s <= 8; s++) await j.append([entry(s, 10_000)]);
    assert.equal(j.canFit([10_000]), false);
    await j.release(8);
    for (let s = 9; s <= 11; s++) await j.append([entry(s, 10_000)]); // over the slots of 1..3
    await j.close();
    // slot 4 still holds seq 4, whole and with a good crc, right after seq 11
    const k = await JournalFile.open(file);
    assert.deepEqual(
      (await k.read(0)).map((e) => e.seq),
      [9, 10, 11],
    );
    assert.equal(k.recovery.reason, undefined);
    assert.equal(k.lastSeq, 11);
    assert.equal(k.recovery.stoppedAt, DATA_START + 3 * size);
    await k.close();
  });
});

for (const direct of [false, true])
  test(`records that do not fit at the end of the ring go to the start after a wrap marker${direct ? ' (O_DIRECT)' : ''}`, async () => {
    await withDir('rcopy-journal-', async (dir) => {
      const file = path.join(dir, 'j.jnl');
      const j = await JournalFile.create(file, 100 * KiB);
      await j.append([entry(1, 30 * KiB), entry(2, 30 * KiB), entry(3, 30 * KiB)], { direct });
      await j.release(2);
      await j.append([entry(4, 30 * KiB), entry(5, 20 * KiB)], { direct }); // 4 wraps to the start
      const st = j.stats();
      assert.equal(st.entries, 3);
      await j.close();
      const k = await JournalFile.open(file);
      assert.equal(k.recovery.reason, undefined);
      assert.deepEqual(k.stats(), st);
      const got = await k.read(0);
      assert.deepEqual(
        got.map((e) => e.seq),
        [3, 4, 5],
      );
      for (const e of got) checkEntry(e);
      await k.release(3); // tail now points at the wrap marker
      await k.close();
      const m = await JournalFile.open(file);
      assert.deepEqual(
        (await m.read(0)).map((e) => e.seq),
        [4, 5],
      );
      assert.equal(m.recovery.reason, undefined);
      await m.close();
    });
  });

test('a torn header slot falls back to the other slot', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    for (let s = 1; s <= 6; s++) await j.append([entry(s, 1000)]);
    await j.release(2); // generation 2 -> slot 0
    await j.release(4); // generation 3 -> slot 1
    await j.sync();
    // the file as a crash would leave it (a clean close writes one more header slot)
    const crashed = fs.readFileSync(file);
    await j.close();
    fs.writeFileSync(file, crashed);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(40, 0xab), 0, 40, 4096 + 30); // tear slot 1
    fs.closeSync(fd);
    const k = await JournalFile.open(file);
    // slot 0 says released up to 2: seqs 3 and 4 are back (their space was never reused)
    assert.deepEqual(
      (await k.read(0)).map((e) => e.seq),
      [3, 4, 5, 6],
    );
    await k.release(4); // written into slot 1, the one that was torn
    await k.close();
    const m = await JournalFile.open(file);
    assert.deepEqual(
      (await m.read(0)).map((e) => e.seq),
      [5, 6],
    );
    await m.close();
    // both slots bad: not a journal any more
    const fd2 = fs.openSync(file, 'r+');
    fs.writeSync(fd2, Buffer.alloc(8192, 0xcd), 0, 8192, 0);
    fs.closeSync(fd2);
    await assert.rejects(JournalFile.open(file), isCode('ERR_RCOPY_INTEGRITY'));
  });
});

test('concurrent appends get contiguous seqs in call order', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 16 * MiB);
    const r = rng(7);
    const sizes = Array.from({ length: 60 }, () => 1 + Math.floor(r() * 4));
    const calls = sizes.map((n) => j.append(Array.from({ length: n }, () => ({ volumeId: 1, offset: 0, data: Buffer.alloc(Math.floor(r() * 50_000), 1) }))));
    const syncing = j.sync();
    const results = await Promise.all(calls);
    await syncing;
    let next = 1;
    results.forEach((res, i) => {
      assert.deepEqual(res, { firstSeq: next, lastSeq: next + sizes[i]! - 1 });
      next += sizes[i]!;
    });
    const all = await j.read(1);
    assert.deepEqual(
      all.map((e) => e.seq),
      Array.from({ length: next - 1 }, (_, i) => i + 1),
    );
    await j.close();
  });
});

test('given seqs must increase; read honours maxBytes and maxEntries', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    assert.deepEqual(
      await j.append([
        { ...entry(100, 10), seq: 100 },
        { ...entry(105, 20), seq: 105 },
      ]),
      { firstSeq: 100, lastSeq: 105 },
    );
    await assert.rejects(j.append([{ ...entry(105, 10), seq: 105 }]), isCode('ERR_RCOPY_JOURNAL_SEQ'));
    await assert.rejects(
      j.append([
        { ...entry(110, 10), seq: 110 },
        { ...entry(109, 10), seq: 109 },
      ]),
      isCode('ERR_RCOPY_JOURNAL_SEQ'),
    );
    assert.deepEqual(await j.append([entry(106, 30)]), { firstSeq: 106, lastSeq: 106 });
    assert.deepEqual(
      (await j.read(101)).map((e) => e.seq),
      [105, 106],
    );
    assert.deepEqual(
      (await j.read(0, { maxBytes: 25 })).map((e) => e.seq),
      [100],
    );
    assert.deepEqual(
      (await j.read(0, { maxBytes: 30 })).map((e) => e.seq),
      [100, 105],
    );
    assert.deepEqual(
      (await j.read(106, { maxBytes: 1 })).map((e) => e.seq),
      [106],
    ); // at least one
    assert.deepEqual(
      (await j.read(0, { maxEntries: 2 })).map((e) => e.seq),
      [100, 105],
    );
    assert.deepEqual(await j.read(107), []);
    await j.close();
  });
});

test('a release that splits a batch keeps the rest of that batch across reopen', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    await j.append([entry(1, 100), entry(2, 200), entry(3, 300), entry(4, 400)]);
    await j.append([entry(5, 500)]);
    await j.release(2);
    await j.close();
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.reason, undefined);
    assert.deepEqual(
      (await k.read(0)).map((e) => e.seq),
      [3, 4, 5],
    );
    await k.release(4);
    await k.close();
    const m = await JournalFile.open(file);
    assert.equal(m.recovery.reason, undefined);
    assert.deepEqual(
      (await m.read(0)).map((e) => e.seq),
      [5],
    );
    await m.close();
  });
});

test('records left beyond a corrupt one are not joined to the chain by a later session', async () => {
  await withDir('rcopy-journal-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    for (let s = 1; s <= 5; s++) await j.append([entry(s, 2000)]);
    await j.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, DATA_START + 2 * recordSize(2000) + 500); // damage seq 3
    fs.closeSync(fd);
    const k = await JournalFile.open(file);
    assert.equal(k.recovery.records, 2);
    await k.rewind(2); // as a restore journal does, to pull seq 3 again
    assert.equal(k.lastSeq, 2);
    // the new seq 3 has the same size, so old seq 4 sits right after it, whole and with a good crc
    assert.deepEqual(await k.append([{ ...entry(3, 2000), seq: 3 }]), { firstSeq: 3, lastSeq: 3 });
    await k.close();
    const m = await JournalFile.open(file);
    assert.deepEqual(
      (await m.read(0)).map((e) => e.seq),
      [3],
    ); // rewind dropped 1 and 2
    assert.equal(m.lastSeq, 3);
    assert.equal(m.recovery.reason, undefined);
    await m.close();
  });
});

test('a batch whose write fails leaves nothing that a later recovery takes for damage', async () => {
  await withDir('rcopy-jfail-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    await (await JournalFile.create(file, 4 * MiB)).close();
    // The child may not write past `limit` (RLIMIT_FSIZE: writes there fail with EFBIG). The limit
    // falls inside the second record of batch B, after its header: B fails half written; C, the
    // size of B's first record, then lands exactly on it, so B's second header follows C on disk.
    const b1 = DATA_START + recordSize(MiB);
    const limit = Math.floor((b1 + recordSize(512 * KiB) + 64 * KiB) / 512); // sh counts 512-byte blocks
    const mod = path.join(ROOT, 'dist', 'src', 'engine', 'journal', 'journal-file.js');
    const script = `
      import { JournalFile } from ${JSON.stringify(mod)};
      const j = await JournalFile.open(${JSON.stringify(file)});
      const out = {};
      out.a = (await j.append([{ volumeId: 1, offset: 0, data: Buffer.alloc(${MiB}, 1) }])).lastSeq;
      try {
        await j.append([{ volumeId: 1, offset: 0, data: Buffer.alloc(${512 * KiB}, 2) }, { volumeId: 1, offset: 0, data: Buffer.alloc(${512 * KiB}, 3) }]);
        out.b = 'written';
      } catch (e) { out.b = e.code; }
      out.c = (await j.append([{ volumeId: 1, offset: 0, data: Buffer.alloc(${512 * KiB}, 4) }])).lastSeq;
      await j.close();
      console.log(JSON.stringify(out));`;
    const r = spawnSync('sh', ['-c', `ulimit -f ${limit} && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { a: number; b: string; c: number };
    assert.equal(out.b, 'EFBIG', 'batch B must fail part way');
    const j = await JournalFile.open(file);
    try {
      assert.equal(j.recovery.reason, undefined, `recovery: ${j.recovery.reason}`);
      const all = await j.read(0);
      assert.deepEqual(
        all.map((e) => e.seq),
        [out.a, out.c],
      );
      assert.ok(out.c > out.a + 2, 'the failed batch keeps its seqs to itself');
      assert.ok(all[1]!.data.equals(Buffer.alloc(512 * KiB, 4)));
    } finally {
      await j.close();
    }
  });
});

test('markDurable: a restart re-applies only what follows it; redoPending tells which volumes a restart would write', async () => {
  await withDir('rcopy-jdur-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    const rec = (volumeId: number, fill: number) => ({ volumeId, offset: 0, data: Buffer.alloc(4 * KiB, fill) });
    await j.append([rec(1, 1)]);
    await j.append([rec(2, 2)]);
    await j.append([rec(1, 3)]);
    await j.sync();
    assert.deepEqual(
      [1, 2, 3].map((v) => j.redoPending(v)),
      [true, true, false],
    );
    await j.markDurable(2);
    assert.equal(j.durableSeq, 2);
    assert.deepEqual(
      [1, 2].map((v) => j.redoPending(v)),
      [true, false],
      'volume 1 still has seq 3 to re-apply, volume 2 none',
    );
    await j.markDurable(1); // never lowers it
    assert.equal(j.durableSeq, 2);
    // a crash now: the file as it is, without the clean close's header
    const crashed = fs.readFileSync(file);
    await j.close();
    fs.writeFileSync(file, crashed);
    const k = await JournalFile.open(file);
    try {
      assert.equal(k.durableSeq, 2, 'the header holds what markDurable recorded');
      const redo: number[] = [];
      await k.redo(async (batch) => void redo.push(...batch.map((e) => e.seq)));
      assert.deepEqual(redo, [3]);
      assert.deepEqual(
        [1, 2].map((v) => k.redoPending(v)),
        [true, false],
        'rebuilt from the records found at open',
      );
      await k.reset();
      assert.equal(k.redoPending(1), false, 'a reset leaves nothing to re-apply');
    } finally {
      await k.close();
    }
  });
});
