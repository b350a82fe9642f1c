/**
 * End-to-end references instead of data (issue 7, DESIGN.md §2.4) through real controllers:
 * duplicate and zero blocks in journal pulls, --no-references, resync of tracks written back with
 * the same data, references and stale references in a resync, a stale reference in a pull, and a
 * cascade.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type TestHome, sleep, waitFor, homeTest } from '../helpers.js';
import { assertEqual, sums, threeSites, twoSites } from './sites.js';

const MiB = 1024 * 1024;

function randomFile(h: TestHome, name: string, bytes: number): string {
  const f = path.join(h.dir, name);
  fs.writeFileSync(f, crypto.randomBytes(bytes));
  return f;
}

/** Overwrites part of a volume's image file behind its controller's back. */
async function scribble(h: TestHome, ref: string, offset: number, length: number): Promise<void> {
  const img = (await h.ok('volume', 'show', ref, '--json')).path as string;
  const fd = fs.openSync(img, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(length, 0xee), 0, length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

homeTest('a file written to 16 places and zero blocks travel as references; S == P; --no-references sends data', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const f = randomFile(h, 'clone.bin', MiB);
  for (let i = 0; i < 16; i++) await h.ok('io', 'write', 'A:v', '--file', f, '--offset', `${i * 3}M`);
  await h.ok('io', 'write', 'A:v', '--pattern', 'zero', '--offset', '52M', '--length', '4M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  const st = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(st.logicalBytes, 20 * MiB);
  assert.equal(st.logicalBytes, st.dataBytes + st.referenceBytes);
  assert.ok(st.dataBytes <= 2 * MiB, `one copy of the file travels as data, not ${st.dataBytes} bytes`);
  assert.ok(st.zeroBytes >= 4 * MiB, `zero blocks are references (${st.zeroBytes})`);
  assert.equal(st.staleReferences, 0);
  assert.ok(st.savedPct > 80, `saved ${st.savedPct}%`);
  const show = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(show.logicalBytes, st.logicalBytes);
  assert.equal(show.dataBytes, st.dataBytes);
  assert.equal(show.referenceBytes, st.referenceBytes);
  assert.match(await h.ok('pull', 'status', 'B:j2'), /as references 19\.0 MiB/);

  // off for the group: the same file again travels as data
  const j = await h.ok('journal', 'set', 'B:j2', '--references', 'off', '--json');
  assert.equal(j.references, false);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '60M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const off = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(off.references, false);
  assert.equal(off.dataBytes - st.dataBytes, MiB);
  assert.equal(off.referenceBytes, st.referenceBytes);
  // and on again through pull start (the primary's index starts empty: a pull without
  // references did not feed it)
  await h.ok('pull', 'start', 'B:j2', '--references');
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '62M');
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '63M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const on = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(on.references, true);
  assert.equal(on.referenceBytes - off.referenceBytes, MiB);
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('references auto (the default): data between arrays of one host on an unshaped link, references once the link has a bandwidth', async (h) => {
  await twoSites(h, { size: '64M' });
  const j0 = await h.ok('journal', 'show', 'B:j2', '--json');
  assert.deepEqual([j0.referencesMode, j0.references], ['auto', false]);
  const f = randomFile(h, 'clone.bin', MiB);
  for (let i = 0; i < 4; i++) await h.ok('io', 'write', 'A:v', '--file', f, '--offset', `${i * 2}M`);
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const local = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(local.references, false);
  assert.equal(local.referenceBytes, 0, 'an unshaped local link: every copy travels as data');
  assert.equal(local.dataBytes, local.logicalBytes);
  // a link with a bandwidth is what limits: the same setting sends references
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '200MB/s');
  assert.equal((await h.ok('journal', 'show', 'B:j2', '--json')).references, true);
  for (let i = 4; i < 8; i++) await h.ok('io', 'write', 'A:v', '--file', f, '--offset', `${i * 2}M`);
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const shaped = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(shaped.references, true);
  assert.ok(shaped.referenceBytes - local.referenceBytes >= 3 * MiB, `copies of a block the S-VOL holds go as references (${shaped.referenceBytes} bytes)`);
  await assertEqual(h, 'A:v', 'B:v');
  // on and off decide whatever the link; auto again follows it
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  const on = await h.ok('journal', 'set', 'B:j2', '--references', 'on', '--json');
  assert.deepEqual([on.referencesMode, on.references], ['on', true]);
  const auto = await h.ok('journal', 'set', 'B:j2', '--references', 'auto', '--json');
  assert.deepEqual([auto.referencesMode, auto.references], ['auto', false]);
  const bad = await h.run(['journal', 'set', 'B:j2', '--references', 'maybe', '--json']);
  assert.equal(bad.code, 2);
  assert.equal(bad.json().error.code, 'ERR_RCOPY_BAD_INPUT');
  assert.equal((await h.ok('journal', 'show', 'B:j2', '--json')).referencesMode, 'auto', 'a refused setting changes nothing');
});

homeTest('pair create --no-references: every pulled byte is data', async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('array', 'create', 'B', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '16M');
  await h.ok('volume', 'create', 'B:v', '--size', '16M');
  await h.ok('journal', 'create', 'A:j1', '--size', '32M');
  await h.ok('journal', 'create', 'B:j2', '--size', '32M');
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--no-references', '--wait');
  assert.equal((await h.ok('journal', 'show', 'B:j2', '--json')).references, false);
  await h.ok('io', 'write', 'A:v', '--pattern', 'zero', '--length', '2M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'zero', '--offset', '4M', '--length', '2M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const st = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(st.logicalBytes, 4 * MiB);
  assert.equal(st.dataBytes, 4 * MiB);
  assert.equal(st.referenceBytes, 0);
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('resync after writing back identical data skips those tracks; --no-references copies them', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '1', '--length', '8M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await h.ok('pair', 'split', 'B:v');
  // the same bytes again (128 tracks marked changed), and 1 MiB of new data
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '1', '--length', '8M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '2', '--offset', '16M', '--length', '1M');
  const r = await h.ok('pair', 'resync', 'B:v', '--json');
  assert.equal(r.tracksCopied, 16, 'only the new megabyte is copied');
  assert.equal(r.tracksSkipped, 128, 'the rewritten tracks compared equal');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  const show = await h.ok('pair', 'show', 'B:v', '--json');
  const rs = show.resync;
  assert.equal(rs.kind, 'resync');
  assert.equal(rs.references, true);
  assert.equal(rs.equalTracks, 128, 'tracks written back with the same data are skipped');
  assert.equal(rs.dataTracks, 16);
  assert.equal(rs.dataBytes, MiB);
  assert.equal(rs.logicalBytes, 144 * 65536);
  assert.equal(rs.logicalBytes, rs.dataBytes + rs.referenceBytes + rs.equalBytes);
  assert.match(await h.ok('pair', 'show', 'B:v'), /128 equal/);
  // the counters of the last resync survive a restart of the secondary's controller
  await h.ok('array', 'stop', 'B');
  await h.ok('array', 'start', 'B');
  assert.deepEqual((await h.ok('pair', 'show', 'B:v', '--json')).resync, rs);

  // the same once more without references: every changed track is data
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '1', '--length', '8M');
  await h.ok('pair', 'resync', 'B:v', '--no-references');
  const off = (await h.ok('pair', 'show', 'B:v', '--json')).resync;
  assert.equal(off.references, false);
  assert.equal(off.equalTracks, 0);
  assert.equal(off.dataTracks, 128);
  assert.equal(off.dataBytes, 8 * MiB);
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('resync: a track the S-VOL holds elsewhere is copied locally; a stale one is detected and sent as data', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const c1 = randomFile(h, 'c1.bin', 65536);
  const c2 = randomFile(h, 'c2.bin', 65536);
  // the secondary holds c1 at 56M and c2 at 60M
  await h.ok('io', 'write', 'A:v', '--file', c1, '--offset', '56M');
  await h.ok('io', 'write', 'A:v', '--file', c2, '--offset', '60M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await h.ok('pair', 'split', 'B:v');
  // while split: 16 MiB of new data first (it keeps the four copy workers busy on the slow link),
  // then c1 and c2 copied to 20M and 21M, more data, and 56M and 60M overwritten (processed last)
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '3', '--length', '16M');
  await h.ok('io', 'write', 'A:v', '--file', c1, '--offset', '20M');
  await h.ok('io', 'write', 'A:v', '--file', c2, '--offset', '21M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '4', '--offset', '24M', '--length', '2M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '5', '--offset', '56M', '--length', '64k');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '6', '--offset', '60M', '--length', '64k');
  // slow enough that the first four groups (16 MiB) keep every worker busy for 16 s: the group of
  // 20M and 21M is compared only after the scribble below, even on a loaded machine (at 4MB/s two
  // CLI calls under a load of 14 took longer than those groups, and c2 was found before it changed)
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '1MB/s');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  // once the S-VOL's tracks are hashed, c2's copy at 60M changes under the reference
  await waitFor(async () => (await h.ok('pair', 'show', 'B:v', '--json')).resync?.phase === 'copying', 20_000, 20);
  await scribble(h, 'B:v', 60 * MiB, 65536);
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--timeout', '60s');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  const rs = (await h.ok('pair', 'show', 'B:v', '--json')).resync;
  assert.equal(rs.referenceTracks, 1, 'c1 at 20M copied from 56M on the S-VOL');
  assert.equal(rs.staleReferences, 1, 'c2 at 21M: its copy at 60M changed, detected');
  assert.equal(rs.dataTracks, 256 + 1 + 32 + 2);
  assert.equal(rs.logicalBytes, rs.dataBytes + rs.referenceBytes + rs.equalBytes);
});

homeTest('pull: a stale reference (the S-VOL block changed under it) is detected and repaired with data', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const c = randomFile(h, 'c.bin', 256 * 1024);
  await h.ok('io', 'write', 'A:v', '--file', c, '--offset', '10M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  // the secondary's copy at 10M changes behind the primary's back
  await h.ok('array', 'stop', 'B');
  await scribble(h, 'B:v', 10 * MiB, 64 * 1024);
  await h.ok('array', 'start', 'B');
  // (the counters carry over the restart: what this pull moved is the difference)
  const st0 = await h.ok('pull', 'status', 'B:j2', '--json');
  // the same file elsewhere: the primary refers to 10M; 16 blocks there no longer match
  await h.ok('io', 'write', 'A:v', '--file', c, '--offset', '30M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const st = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(st.staleReferences - st0.staleReferences, 16);
  assert.equal(st.dataBytes - st0.dataBytes, 64 * 1024, 'the stale blocks were fetched as data');
  assert.equal(st.referenceBytes - st0.referenceBytes, 192 * 1024);
  const range = `${30 * MiB}-${30 * MiB + 256 * 1024}`;
  const [a, b] = [(await h.ok('io', 'checksum', 'A:v', '--range', range, '--json')).sha256, (await h.ok('io', 'checksum', 'B:v', '--range', range, '--json')).sha256];
  assert.equal(b, a, 'the S-VOL got the right data');
  // repair the scribbled region the ordinary way and compare everything
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '9', '--offset', '10M', '--length', '256k');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('cascade A -> B -> C: C gets references from B', async (h) => {
  await threeSites(h, { references: 'on' });
  const f = randomFile(h, 'clone.bin', MiB);
  for (let i = 0; i < 8; i++) await h.ok('io', 'write', 'A:v', '--file', f, '--offset', `${i * 2}M`);
  await h.ok('io', 'write', 'A:v', '--pattern', 'zero', '--offset', '20M', '--length', '2M');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await h.ok('pair', 'wait', 'C:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await sleep(200);
  const [a, b, c] = await sums(h, 'A:v', 'B:v', 'C:v');
  assert.equal(b, a);
  assert.equal(c, a);
  const sc = await h.ok('pull', 'status', 'C:j4', '--json');
  assert.equal(sc.logicalBytes, 10 * MiB);
  assert.ok(sc.dataBytes <= 2 * MiB, `C pulled ${sc.dataBytes} bytes of data for 10 MiB`);
  assert.ok(sc.referenceBytes >= 8 * MiB);
  const sb = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.ok(sb.referenceBytes >= 8 * MiB);
});
