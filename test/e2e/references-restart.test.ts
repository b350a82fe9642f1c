/**
 * References instead of data across controller restarts, a split and a resync (issue 23, point 5),
 * through real controllers: the primary's content index is kept in its file and checked against the
 * P-VOLs before use (references/index-keeper.ts, rebuild.ts), and a resync rebuilds a changed track
 * from any blocks the S-VOL holds that the index names. Every test ends with S == P bit for bit;
 * the byte counters are the ones `pull status` and `pair show` report.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type TestHome, arrayDirOf, homeTest, waitFor } from '../helpers.js';
import { assertEqual, twoSites } from './sites.js';

const MiB = 1024 * 1024;

function randomFile(h: TestHome, name: string, bytes: number): string {
  const f = path.join(h.dir, name);
  fs.writeFileSync(f, crypto.randomBytes(bytes));
  return f;
}

function indexFileOf(h: TestHome): string {
  return path.join(arrayDirOf(h, 'A'), 'references', 'j1.index');
}

/** Waits until the primary has written its index file (it does when the stream drains) with content other than `not`. */
async function indexSaved(h: TestHome, not?: Buffer): Promise<Buffer> {
  let got: Buffer | null = null;
  await waitFor(() => {
    try {
      got = fs.readFileSync(indexFileOf(h));
    } catch {
      return false;
    }
    return !not || !got.equals(not);
  }, 30_000);
  return got!;
}

async function pulled(h: TestHome): Promise<{ dataBytes: number; referenceBytes: number; staleReferences: number; logicalBytes: number }> {
  return h.ok('pull', 'status', 'B:j2', '--json');
}

async function drained(h: TestHome): Promise<void> {
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
}

homeTest('references survive a clean stop of both controllers: copies of what the S-VOL holds travel as references', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const f = randomFile(h, 'f.bin', MiB);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '0');
  await drained(h);
  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'stop', 'B');
  const mode = fs.statSync(indexFileOf(h)).mode & 0o777;
  assert.equal(mode, 0o600, 'the index file is private');
  await h.ok('array', 'start', 'A');
  await h.ok('array', 'start', 'B');
  const st0 = await pulled(h);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '8M');
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '16M');
  await drained(h);
  const st = await pulled(h);
  assert.equal(st.logicalBytes - st0.logicalBytes, 2 * MiB);
  assert.equal(st.dataBytes - st0.dataBytes, 0, 'no byte of the two copies travels as data');
  assert.equal(st.referenceBytes - st0.referenceBytes, 2 * MiB);
  assert.equal(st.staleReferences, 0);
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('kill -9 of the primary with an index file older than the S-VOL: places overwritten since are never used, the others are', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const f = randomFile(h, 'f.bin', MiB);
  const g = randomFile(h, 'g.bin', MiB);
  const k = randomFile(h, 'k.bin', MiB);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '0');
  await h.ok('io', 'write', 'A:v', '--file', k, '--offset', '4M');
  await drained(h);
  const old = await indexSaved(h); // names F at 0 and K at 4M
  // F's place is overwritten with G; the primary saves its index again, then dies
  await h.ok('io', 'write', 'A:v', '--file', g, '--offset', '0');
  await drained(h);
  await indexSaved(h, old);
  process.kill((await h.ok('array', 'status', 'A', '--json')).pid, 'SIGKILL');
  await waitFor(async () => !(await h.run(['array', 'status', 'A', '--json'])).json().running, 60_000);
  // as if it had died before that save: its file still says F is at 0 on the S-VOL
  fs.writeFileSync(indexFileOf(h), old);
  await h.ok('array', 'start', 'A');
  const st0 = await pulled(h);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '8M');
  await h.ok('io', 'write', 'A:v', '--file', k, '--offset', '16M');
  await drained(h);
  const st = await pulled(h);
  assert.equal(st.staleReferences - st0.staleReferences, 0, 'no reference to the overwritten place was sent');
  assert.equal(st.dataBytes - st0.dataBytes, MiB, 'F travels as data: its old place no longer holds it');
  assert.equal(st.referenceBytes - st0.referenceBytes, MiB, "K's copy is a reference to 4M, from the file");
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('references survive a split and a resync; a resync rebuilds changed tracks from unchanged blocks of the S-VOL', async (h) => {
  await twoSites(h, { size: '64M', references: 'on' });
  const f = randomFile(h, 'f.bin', 2 * MiB);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '0');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '7', '--offset', '4M', '--length', '2M');
  await drained(h);
  await h.ok('pair', 'split', 'B:v');
  // while split: copies of F (unchanged on both sides) at 32M, and 1 MiB of new data
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '32M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '8', '--offset', '40M', '--length', '1M');
  await h.ok('pair', 'resync', 'B:v');
  const rs = (await h.ok('pair', 'show', 'B:v', '--json')).resync;
  assert.equal(rs.references, true);
  assert.equal(rs.referenceTracks, 32, "F's copy is rebuilt from F's blocks on the S-VOL");
  assert.equal(rs.dataTracks, 16, 'the new megabyte is data');
  assert.equal(rs.dataBytes, MiB);
  assert.equal(rs.staleReferences, 0);
  await drained(h);
  await assertEqual(h, 'A:v', 'B:v');
  // and after the resync the pull's index is rebuilt: another copy of F travels as references
  const st0 = await pulled(h);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '48M');
  await drained(h);
  const st = await pulled(h);
  assert.equal(st.dataBytes - st0.dataBytes, 0);
  assert.equal(st.referenceBytes - st0.referenceBytes, 2 * MiB);
  assert.equal(st.staleReferences - st0.staleReferences, 0);
  await assertEqual(h, 'A:v', 'B:v');

  // the same resync without references: F's copy is data
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '52M');
  await h.ok('pair', 'resync', 'B:v', '--no-references');
  const off = (await h.ok('pair', 'show', 'B:v', '--json')).resync;
  assert.equal(off.referenceTracks, 0);
  assert.equal(off.dataBytes, 2 * MiB);
  await drained(h);
  await assertEqual(h, 'A:v', 'B:v');
});
