/**
 * The primary's content index across resets and restarts, in process (references/index-file.ts,
 * rebuild.ts, content-index.ts): the file round-trips and a damaged one is ignored; a reset keeps
 * places as candidates that a pull does not use; the check against a real P-VOL keeps exactly the
 * places that still hold their content and that no later journal entry touches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import { ContentIndex, fingerprint } from '../../../src/engine/repl/references/content-index.js';
import { type IndexSnapshot, decodeSnapshot, encodeSnapshot, loadSnapshot, saveSnapshot } from '../../../src/engine/repl/references/index-file.js';
import { checkCandidates } from '../../../src/engine/repl/references/rebuild.js';
import { BLOCK } from '../../../src/engine/repl/references/wire.js';
import { tmpDir } from '../../helpers.js';

const TWO32 = 2 ** 32;

test('index file: round trip, and a damaged or truncated file is ignored', async () => {
  const snap: IndexSnapshot = {
    stateKey: 'A:v/PAIR/1',
    validFrom: 42,
    places: [
      [TWO32 + 3, 123456789],
      [TWO32 + 9, 5],
    ],
  };
  const buf = encodeSnapshot(snap);
  assert.deepEqual(decodeSnapshot(buf, 100), snap);
  assert.equal(decodeSnapshot(buf, 1), null, 'more places than allowed');
  for (const at of [0, 5, 20, buf.length - 1]) {
    const bad = Buffer.from(buf);
    bad[at] = bad[at]! ^ 0x40;
    assert.equal(decodeSnapshot(bad, 100), null, `byte ${at} flipped`);
  }
  assert.equal(decodeSnapshot(buf.subarray(0, buf.length - 8), 100), null, 'truncated');
  assert.equal(decodeSnapshot(encodeSnapshot({ ...snap, validFrom: Infinity }), 100)!.validFrom, Infinity);
  const dir = tmpDir('rcopy-refidx-');
  try {
    const f = path.join(dir, 'references', 'j1.index');
    await saveSnapshot(f, snap);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(await loadSnapshot(f, 100), snap);
    fs.writeFileSync(f, 'garbage');
    assert.equal(await loadSnapshot(f, 100), null);
    assert.equal(await loadSnapshot(path.join(dir, 'none.index'), 100), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a reset keeps the places as candidates: a pull does not use them until they are adopted', () => {
  const idx = new ContentIndex(1000);
  const blk = crypto.randomBytes(BLOCK);
  const names = new Map([[1, 'v']]);
  idx.resume(0, 'k');
  idx.encode([{ seq: 1, timestamp: 0, volumeId: 1, offset: 0, data: blk }], names);
  idx.feedPending();
  const again = (seq: number): number => idx.encode([{ seq, timestamp: 0, volumeId: 1, offset: 8 * BLOCK, data: blk }], names).payload.reduce((n, b) => n + b.length, 0);
  idx.resume(1, 'k');
  assert.equal(again(2), 0, 'continued stream: a reference');
  idx.resume(5, 'k'); // a gap
  assert.equal(idx.size, 0);
  assert.equal(idx.candidates, 2);
  assert.equal(again(6), BLOCK, 'candidates are not used by a pull');
  assert.equal(idx.hint(fingerprint(blk)) !== undefined, true, 'but they are hints for a resync');
  const cands = idx.takeCandidates();
  assert.equal(cands.length, 2);
  idx.adopt(cands.filter(([place]) => place === TWO32));
  idx.resume(6, 'k');
  assert.equal(again(7), 0, 'adopted: a reference again');
  idx.clear();
  assert.equal(idx.size + idx.candidates, 0);
});

test('the check against the P-VOL keeps the places that still hold their content and that no later entry touches', async () => {
  const dir = tmpDir('rcopy-rebuild-');
  const a = await StorageArray.create(path.join(dir, 'a'), { name: 'a', durability: 'none', trackSize: 65536 });
  try {
    await a.createVolume('v', 1024 * 1024);
    const vol = a.volume('v');
    const blocks = [0, 1, 2, 3, 40, 41].map(() => crypto.randomBytes(BLOCK));
    const at = [0, 1, 2, 3, 40, 41];
    for (let i = 0; i < at.length; i++) await a.write('v', at[i]! * BLOCK, blocks[i]!, 'host');
    const place = (b: number): number => vol.id * TWO32 + b;
    const cands: Array<[number, number]> = at.map((b, i) => [place(b), fingerprint(blocks[i]!)]);
    cands[2] = [place(2), fingerprint(blocks[3]!)]; // overwritten since: another content there now
    cands.push([place(100), fingerprint(blocks[0]!)]); // never written: zeros
    cands.push([(vol.id + 7) * TWO32 + 1, fingerprint(blocks[1]!)]); // not a volume of the group
    cands.sort((x, y) => x[0] - y[0]);
    let asked = false;
    const kept = await checkCandidates(cands, {
      volumes: new Map([[vol.id, vol]]),
      touchedAfter: async () => {
        asked = true;
        return [[vol.id, 40 * BLOCK + 100, 10]]; // an entry after `after` wrote into block 40
      },
    });
    assert.equal(asked, true);
    assert.deepEqual(
      kept.map(([p]) => p - vol.id * TWO32),
      [0, 1, 3, 41],
    );
  } finally {
    await a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
