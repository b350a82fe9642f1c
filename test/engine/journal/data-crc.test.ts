/**
 * A pull carries each entry's data crc (the primary's record gives it for free) and the restore
 * journal combines its record's crc from it instead of reading the data again: records written
 * that way read back like any other, and a wrong crc shows as a corrupt record, never as data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import crypto from 'node:crypto';
import { crc32, crc32Tail } from '../../../src/engine/util/crc32.js';
import { JournalFile } from '../../../src/engine/journal/journal-file.js';
import { RcopyError } from '../../../src/errors.js';
import { withDir } from '../../helpers.js';

test('crc32Tail undoes the combine: the crc of B from the crc of A ‖ B and of A', () => {
  for (const [a, b] of [
    [0, 0],
    [80, 4096],
    [76, 1],
    [3, 1_000_003],
  ] as const) {
    const A = crypto.randomBytes(a);
    const B = crypto.randomBytes(b);
    assert.equal(crc32Tail(crc32(Buffer.concat([A, B])), crc32(A), b), crc32(B), `${a} + ${b} bytes`);
  }
});

test('a read gives each entry its data crc; appended with it, the records read back whole; a wrong one reads as corrupt', async () => {
  await withDir('rcopy-datacrc-', async (dir) => {
    const src = await JournalFile.create(path.join(dir, 'p.jnl'), 16 * 1024 * 1024);
    const lens = [1, 511, 4096, 65536, 1024 * 1024 + 7];
    await src.append(lens.map((n, i) => ({ volumeId: 1, offset: i * 4096, data: crypto.randomBytes(n) })));
    for (const block of [0, 4096]) {
      const got = await src.read(1, { dataCrc: true, blockCrcs: block });
      assert.deepEqual(
        got.map((e) => e.dataCrc),
        got.map((e) => crc32(e.data)),
        `block crcs ${block}`,
      );
    }
    const entries = await src.read(1, { dataCrc: true });
    // the restore journal: its own seqs, salt and positions, the data crcs from the primary
    const dst = await JournalFile.create(path.join(dir, 's.jnl'), 16 * 1024 * 1024);
    await dst.append(entries.map((e) => ({ seq: e.seq, volumeId: e.volumeId, offset: e.offset, data: e.data, dataCrc: e.dataCrc })));
    await dst.close();
    const back = await JournalFile.open(path.join(dir, 's.jnl'));
    const read = await back.read(1);
    assert.equal(read.length, entries.length);
    for (let i = 0; i < read.length; i++) assert.ok(read[i]!.data.equals(entries[i]!.data), `seq ${read[i]!.seq}`);
    // a wrong crc (a primary's bug) makes the record fail its check when read back
    await back.append([{ seq: 100, volumeId: 1, offset: 0, data: Buffer.alloc(4096, 1), dataCrc: crc32(Buffer.alloc(4096, 2)) }]);
    await assert.rejects(back.read(100), (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_INTEGRITY');
    await back.close();
    await src.close();
  });
});
