import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { IO_CHUNK, pwriteAll } from '../../src/engine/file-io.js';
import { rng, withDir } from '../helpers.js';

test('pwriteAll writes one buffer or a list of buffers exactly, at any position and size', async () => {
  await withDir('rcopy-fileio-', async (dir) => {
    const file = path.join(dir, 'f.bin');
    const fh = await fsp.open(file, 'w+');
    const r = rng(5);
    const model = Buffer.alloc(8 * IO_CHUNK + 12_345);
    try {
      for (let round = 0; round < 40; round++) {
        const total = Math.floor(r() * 5 * IO_CHUNK) + 1;
        const pos = Math.floor(r() * (model.length - total));
        const bufs: Buffer[] = [];
        for (let left = total; left > 0; ) {
          const n = Math.min(left, Math.floor(r() * IO_CHUNK * 1.5));
          bufs.push(Buffer.alloc(n, (round * 7 + bufs.length) % 256));
          left -= n;
        }
        const one = r() < 0.3;
        const data = one ? Buffer.concat(bufs) : bufs;
        await pwriteAll(fh, data, pos);
        Buffer.concat(bufs).copy(model, pos);
        const size = Math.max(fs.statSync(file).size, 0);
        const got = fs.readFileSync(file);
        assert.ok(got.equals(model.subarray(0, size)), `round ${round}`);
      }
    } finally {
      await fh.close();
    }
  });
});
