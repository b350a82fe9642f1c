/** pair verify: online, under a workload, finds exactly the tracks changed behind rcopy's back; --repair makes them equal. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, homeTest } from '../helpers.js';
import { assertSchema } from './ops-schema.js';
import { assertEqual, twoSites } from './sites.js';

const TRACK = 64 * 1024;

homeTest('pair verify under a running workload finds exactly the flipped tracks of the S-VOL, and --repair resyncs them', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '32M', durability: 'none', vols: ['v', 'w'] });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '16M', '--seed', '1');
  await h.ok('io', 'write', 'A:w', '--pattern', 'random', '--length', '16M', '--seed', '2');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const clean = await h.ok('pair', 'verify', 'B:v', '--json');
  assert.equal(clean.differingTracks, 0);
  assertSchema('pair-verify', clean);
  assert.equal(clean.pairs.length, 2, 'the whole journal group is verified');

  // a byte flipped in two tracks of the S-VOL image while its controller is stopped
  await h.ok('array', 'stop', 'B');
  const img = path.join(arrayDirOf(h, 'B'), 'volumes', 'v.img');
  const flipped = [37, 201];
  const fd = fs.openSync(img, 'r+');
  for (const [i, t] of flipped.entries()) {
    const off = t * TRACK + (i === 0 ? 5 : TRACK - 1);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, off);
    b[0] = b[0]! ^ 0x5a;
    fs.writeSync(fd, b, 0, 1, off);
  }
  fs.closeSync(fd);
  await h.ok('array', 'start', 'B');

  // host writes go on into the group (on the other volume), the pair stays in PAIR
  const load = h.run(['workload', 'run', 'A:w', '--pattern', 'random', '--bs', '64k', '--rate', '4MB/s', '--duration', '20s']);
  try {
    const r = await h.run(['pair', 'verify', 'B:v', '--json']);
    assert.equal(r.code, 3, `exit 3 when tracks differ\n${r.stdout}${r.stderr}`);
    const out = r.json();
    assert.equal(out.schemaVersion, 1);
    assertSchema('pair-verify', out);
    const v = out.pairs.find((p: { svol: string }) => p.svol === 'B:v');
    assert.deepEqual(
      v.differing,
      flipped.map((t) => ({ track: t, offset: t * TRACK })),
    );
    const w = out.pairs.find((p: { svol: string }) => p.svol === 'B:w');
    assert.deepEqual(w.differing, [], 'tracks written during the verify are never reported');
    assert.equal(w.compared + w.unverified, w.tracks);
    assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR', 'the pair stayed in PAIR');
    const text = await h.run(['pair', 'verify', 'B:v']);
    assert.equal(text.code, 3);
    assert.match(text.stdout, /A:v -> B:v: \d+ of 512 tracks compared, 2 differ: 37 \(offset 2424832\), 201 \(offset 13172736\)/);

    const fixed = await h.run(['pair', 'verify', 'B:v', '--repair', '--json']);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.equal(fixed.json().repaired, true);
    assertSchema('pair-verify', fixed.json());
  } finally {
    await load;
  }
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const again = await h.ok('pair', 'verify', 'B:v', '--json');
  assert.equal(again.differingTracks, 0);
  // each verify's result is an event of kind verify on the secondary, the differing one first
  const verifies = (await h.run(['events', 'B', '--json'])).stdout
    .trim()
    .split('\n')
    .map((l: string) => JSON.parse(l))
    .filter((e: { kind: string }) => e.kind === 'verify');
  assert.ok(
    verifies.some((e: { event: string }) => /^verify: \d+ of \d+ tracks compared, [1-9]\d* differ/.test(e.event)),
    JSON.stringify(verifies),
  );
  assert.match(verifies[verifies.length - 1].event, /^verify: \d+ of \d+ tracks compared, 0 differ/);
  await assertEqual(h, 'A:v', 'B:v');
  await assertEqual(h, 'A:w', 'B:w');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'pair', 'verify');
});
