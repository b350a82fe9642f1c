import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { WRITEBACK_BYTES, Writeback } from '../../../src/engine/util/writeback.js';
import { withDir } from '../../helpers.js';

/** Writes `n` pieces of 1 MiB at the file's end, telling the writeback of each. */
async function write(fh: fsp.FileHandle, wb: Writeback, at: number, n: number, fill: number): Promise<number> {
  const piece = Buffer.alloc(1024 * 1024, fill);
  for (let i = 0; i < n; i++) {
    await fh.write(piece, 0, piece.length, at);
    at += piece.length;
    wb.wrote(piece.length);
  }
  return at;
}

test('early writeback: one background fdatasync per WRITEBACK_BYTES written while enabled, none while disabled; the data stays exact', async () => {
  await withDir('rcopy-writeback-', async (dir) => {
    const file = path.join(dir, 'f.bin');
    const fh = await fsp.open(file, 'w+');
    const perSync = WRITEBACK_BYTES / (1024 * 1024);
    try {
      const wb = new Writeback(fh);
      // disabled (durability none): nothing is started, however much is written
      let at = await write(fh, wb, 0, 2 * perSync, 1);
      assert.equal(wb.started, 0);
      wb.enabled = () => true;
      // the bytes counted while disabled already passed the mark: the next write starts one
      at = await write(fh, wb, at, 1, 2);
      assert.equal(wb.started, 1);
      await wb.idle();
      // below the mark nothing more; at the mark the next one (the first has ended)
      at = await write(fh, wb, at, perSync - 1, 3);
      assert.equal(wb.started, 1);
      at = await write(fh, wb, at, 1, 4);
      assert.equal(wb.started, 2);
      await wb.idle();
      const st = await fh.stat();
      assert.equal(st.size, at);
      const back = Buffer.alloc(1024 * 1024);
      await fh.read(back, 0, back.length, at - back.length);
      assert.ok(back.every((b) => b === 4));
    } finally {
      await fh.close();
    }
  });
});

test('early writeback is only a hint: a failing fdatasync (closed file) is swallowed, idle() still resolves', async () => {
  await withDir('rcopy-writeback-', async (dir) => {
    const fh = await fsp.open(path.join(dir, 'g.bin'), 'w+');
    const wb = new Writeback(fh);
    wb.enabled = () => true;
    await fh.close();
    wb.wrote(WRITEBACK_BYTES);
    assert.equal(wb.started, 1);
    await wb.idle();
    // and a second one may start after it
    wb.wrote(WRITEBACK_BYTES);
    assert.equal(wb.started, 2);
    await wb.idle();
  });
});

test("an early fdatasync's failure is thrown by the owner's next datasync(), once, even when that one succeeds", async () => {
  // A disk that refuses a page cannot be had in a test without a device mapper; the kernel's rule
  // that this guards against (a write-back error is reported once per open file, to whichever
  // fsync sees it first) is stood in for by a file whose first fdatasync fails.
  let calls = 0;
  const file = {
    datasync: async (): Promise<void> => {
      calls += 1;
      if (calls === 1) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    },
  };
  const wb = new Writeback(file);
  wb.enabled = () => true;
  wb.wrote(WRITEBACK_BYTES); // the early one: fails
  await wb.idle();
  await assert.rejects(wb.datasync(), /EIO/, 'the commit after it must fail');
  assert.equal(calls, 2, 'the owner still ran its own fdatasync');
  await wb.datasync(); // reported once
  assert.equal(calls, 3);
});

test("the owner's datasync() waits for an early fdatasync in flight before its own", async () => {
  const order: string[] = [];
  let release!: () => void;
  let first = true;
  const file = {
    datasync: (): Promise<void> => {
      if (first) {
        first = false;
        order.push('early start');
        return new Promise<void>((res) => (release = () => (order.push('early end'), res())));
      }
      order.push('own');
      return Promise.resolve();
    },
  };
  const wb = new Writeback(file);
  wb.enabled = () => true;
  wb.wrote(WRITEBACK_BYTES);
  const own = wb.datasync();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['early start']);
  release();
  await own;
  assert.deepEqual(order, ['early start', 'early end', 'own']);
});
