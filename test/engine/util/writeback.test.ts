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
