/**
 * Issue 15 through real controllers: a damaged master-journal record never rolls an acknowledged
 * write back, the damage is named, the group suspends, and a resync makes the S-VOL equal again;
 * `journal create` checks the free space first and leaves nothing when it cannot finish.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type TestHome, arrayDirOf, homeTest } from '../helpers.js';
import { assertEqual, twoSites } from './sites.js';

const KiB = 1024;

async function readBack(h: TestHome, ref: string, length: number): Promise<Buffer> {
  const out = path.join(h.dir, 'read.bin');
  await h.ok('io', 'read', ref, '--offset', '0', '--length', String(length), '--out', out);
  const b = fs.readFileSync(out);
  fs.rmSync(out);
  return b;
}

homeTest('a flipped data byte in the newest journal record: the P-VOL keeps 0x22, the damage is named, PSUE, and a resync makes S == P', async (h) => {
  await twoSites(h, { size: '16M' });
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await h.ok('link', 'down', 'A', 'B');
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x11', '--length', '4k');
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', '0x22', '--length', '4k');
  assert.ok((await readBack(h, 'A:v', 4 * KiB)).equals(Buffer.alloc(4 * KiB, 0x22)), 'acknowledged and read back');
  await h.ok('array', 'stop', '--all');
  // one data byte of the record that carries 0x22 (the journal's data area starts at 8 KiB)
  const jfile = path.join(arrayDirOf(h, 'A'), 'journals', 'j1.jnl');
  const fd = fs.openSync(jfile, 'r+');
  const buf = Buffer.alloc(4 << 20);
  const got = fs.readSync(fd, buf, 0, buf.length, 8192);
  const at = buf.subarray(0, got).indexOf(Buffer.alloc(4 * KiB, 0x22));
  assert.ok(at >= 0, 'the record of 0x22 is in the journal');
  fs.writeSync(fd, Buffer.from([0x23]), 0, 1, 8192 + at + 100);
  fs.closeSync(fd);

  await h.ok('array', 'start', 'A');
  assert.ok((await readBack(h, 'A:v', 4 * KiB)).equals(Buffer.alloc(4 * KiB, 0x22)), 'the P-VOL still reads 0x22, not the older 0x11');
  const j = await h.ok('journal', 'show', 'A:j1', '--json');
  const d = j.recovery.damaged?.[0];
  assert.ok(d, `journal show names the damage: ${JSON.stringify(j.recovery)}`);
  assert.match(j.recovery.reason, new RegExp(`record seq ${d.seq} at \\d+: bad crc`));
  const p = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(p.primary.state, 'PSUE');
  assert.match(p.primary.reason, new RegExp(`journal damaged \\(j1\\): record seq ${d.seq} at`));

  await h.ok('link', 'up', 'A', 'B');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '60s');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  assert.ok((await readBack(h, 'B:v', 4 * KiB)).equals(Buffer.alloc(4 * KiB, 0x22)), 'the S-VOL gets 0x22');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('journal create --size 1P fails at once with ERR_RCOPY_NO_SPACE and leaves nothing', async (h) => {
  await h.ok('array', 'create', 'A');
  const t0 = Date.now();
  const r = await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'journal', 'create', 'A:big', '--size', '1P');
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  assert.match(r.stderr + r.stdout, /does not fit/);
  assert.deepEqual(fs.readdirSync(path.join(arrayDirOf(h, 'A'), 'journals')), []);
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'journal', 'show', 'A:big');
  // a journal that fits is made sparse: only its header slots take space
  await h.ok('journal', 'create', 'A:j1', '--size', '1G');
  const st = fs.statSync(path.join(arrayDirOf(h, 'A'), 'journals', 'j1.jnl'));
  assert.equal(st.size, 8192 + 1024 ** 3);
  assert.ok(st.blocks * 512 < 1024 * 1024, `${st.blocks * 512} bytes allocated`);
});
