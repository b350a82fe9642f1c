/**
 * Replication under faults (issue 14): one test per reproduction. A pair never reports PAIR while
 * its S-VOL differs; a journal group resyncs as one; revert is exact or refused; a sync write
 * never waits without bound; a deleted pair can be created again; a reply that arrives after a
 * state change cannot undo it; the two sides never stay in contradicting states.
 *
 * Crash points are real kill -9s at an exact step: a controller started with
 * RCOPY_FAULT=ARRAY:POINT kills itself there (src/engine/fault.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, arrayDirOf, homeTest, sleep, waitFor, type TestHome } from '../helpers.js';
import { assertEqual, resyncToEqual, resyncUnderWay, sums, twoSites } from './sites.js';

const show = (h: TestHome, ref: string): Promise<any> => h.ok('pair', 'show', ref, '--json');

/** Restarts an array's controller with a crash point armed (only that process has it). */
async function armFault(h: TestHome, array: string, point: string): Promise<void> {
  await h.ok('array', 'stop', array);
  const r = await h.run(['array', 'start', array], { env: { RCOPY_FAULT: `${array}:${point}` } });
  assert.equal(r.code, 0, r.stderr);
}

/** Restarts an array's controller with delay points armed (RCOPY_DELAY, `POINT:MS`). */
async function armDelay(h: TestHome, array: string, ...points: string[]): Promise<void> {
  await h.ok('array', 'stop', array);
  const r = await h.run(['array', 'start', array], { env: { RCOPY_DELAY: points.map((p) => `${array}:${p}`).join(',') } });
  assert.equal(r.code, 0, r.stderr);
}

/** 8 MiB of random data (seed) on A:v, drained to B:v, then a split: returns the split image's checksum. */
async function splitAfterData(h: TestHome, seed: number): Promise<string> {
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', String(seed));
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('pair', 'split', 'B:v');
  return (await sums(h, 'B:v'))[0]!;
}

/** Waits until an array's controller log holds a line. */
async function waitLog(h: TestHome, array: string, text: string, timeoutMs = 60_000): Promise<void> {
  const log = path.join(arrayDirOf(h, array), 'controller.log');
  await waitFor(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(text), timeoutMs, 100);
}

/** Waits until an array's controller reached its crash point (it logs it, then kills itself). */
async function waitFault(h: TestHome, array: string, point: string, timeoutMs = 60_000): Promise<void> {
  const log = path.join(arrayDirOf(h, array), 'controller.log');
  await waitFor(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(`fault point ${point}`), timeoutMs, 100);
}

/** Waits until an array's controller has died. */
async function waitDead(h: TestHome, array: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => !(await h.run(['array', 'status', array, '--json'])).json().running, timeoutMs, 100);
}

homeTest('a journal group resyncs as one: cut short, every S-VOL keeps the split image and revert --group puts the group back', async (h) => {
  await twoSites(h, { size: '32M', blockade: '1s', vols: ['small', 'big'] });
  await h.ok('io', 'write', 'A:small', '--pattern', 'random', '--length', '4M', '--seed', '1');
  await h.ok('io', 'write', 'A:big', '--pattern', 'random', '--length', '4M', '--seed', '2');
  await h.ok('pair', 'wait', '--group', 'g1', '--drained', '--timeout', '60s');
  await h.ok('pair', 'split', '--group', 'g1');
  const image = await sums(h, 'B:small', 'B:big');
  await h.ok('io', 'write', 'A:small', '--offset', '8M', '--pattern', 'random', '--length', '1M', '--seed', '3');
  await h.ok('io', 'write', 'A:big', '--pattern', 'random', '--length', '32M', '--seed', '4');
  // the two copies share the link: the small pair's data arrives within about 17 s (behind at most
  // four of the big pair's 4 MiB requests), the big pair's 32 MiB take about 32 s: the link goes
  // down while it still copies, even on a loaded machine
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '1MB/s');
  await h.ok('pair', 'resync', '--group', 'g1', '--no-wait');
  // the small pair has all its data while the big one is still copying
  await waitFor(async () => (await show(h, 'B:small')).secondary.copied === true, 60_000);
  const mid = await show(h, 'B:small');
  assert.equal(mid.secondary.state, 'COPY', 'a copied pair waits for its group: it does not switch alone');
  await h.ok('link', 'down', 'A', 'B');
  for (const v of ['B:small', 'B:big']) await h.ok('pair', 'wait', v, '--state', 'PSUE', '--timeout', '30s');
  for (const v of ['B:small', 'B:big']) {
    const s = (await show(h, v)).secondary;
    assert.equal(s.state, 'PSUE', `${v} is suspended with its group, never PAIR alone`);
  }
  await h.ok('pair', 'revert', '--group', 'g1', '--yes');
  assert.deepEqual(await sums(h, 'B:small', 'B:big'), image, 'revert --group gives back the split image of every S-VOL');
  await h.ok('link', 'up', 'A', 'B');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  await h.ok('pair', 'resync', '--group', 'g1');
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:small', 'B:small');
  await assertEqual(h, 'A:big', 'B:big');
});

homeTest('pair revert during a running resync stops the copy first and gives back the image exactly', async (h) => {
  await twoSites(h, { size: '64M' });
  const image = await splitAfterData(h, 5);
  await resyncUnderWay(h, 'B:v', 6);
  const r = await h.ok('pair', 'revert', 'B:v', '--yes', '--json');
  assert.ok(r.tracksRestored > 0);
  assert.equal((await sums(h, 'B:v'))[0], image, 'the S-VOL is the split image right after the revert');
  const s = (await show(h, 'B:v')).secondary;
  assert.equal(s.state, 'PSUE');
  // nothing copies on behind the revert's back (the watch timer does not restart it)
  await sleep(1500);
  assert.equal((await sums(h, 'B:v'))[0], image, 'and stays so');
  assert.equal((await show(h, 'B:v')).secondary.state, 'PSUE');
  await resyncToEqual(h, 'A:v', 'B:v');
});

homeTest('kill -9 of the secondary mid-resync: it waits in PSUE (no resume by itself) and revert is exact', async (h) => {
  await twoSites(h, { size: '64M' });
  await h.ok('pair', 'split', 'B:v');
  const [image] = await sums(h, 'B:v');
  await resyncUnderWay(h, 'B:v', 7);
  process.kill((await h.ok('array', 'status', 'B', '--json')).pid, 'SIGKILL');
  await waitDead(h, 'B');
  // the first command restarts B; the resync is not resumed: both sides end PSUE, and the kept
  // image is reported as it is from the first question on (not "unknown" until something opens it)
  const after = (await show(h, 'B:v')).secondary;
  assert.equal(after.state, 'PSUE');
  assert.ok(after.imageTracks > 0, `the image kept across the restart is reported: ${after.imageTracks}`);
  const r = await h.ok('pair', 'revert', 'B:v', '--yes', '--json');
  assert.equal(r.pair.state, 'PSUE');
  assert.equal((await sums(h, 'B:v'))[0], image, 'revert after a kill -9 gives back the split image');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PSUE', '--timeout', '30s');
  await resyncToEqual(h, 'A:v', 'B:v');
});

homeTest('sync fence: pull stop is refused; fence never suspends and completes the write; fence data fails it and refuses the next', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('array', 'create', 'B');
  for (const v of ['n', 'd']) {
    await h.ok('volume', 'create', `A:${v}`, '--size', '8M');
    await h.ok('volume', 'create', `B:${v}`, '--size', '8M');
  }
  for (const j of ['A:jn', 'B:kn', 'A:jd', 'B:kd']) await h.ok('journal', 'create', j, '--size', '16M');
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:n', 'B:n', '--journal', 'A:jn,B:kn', '--mode', 'sync', '--sync-timeout', '1s', '--wait', '--timeout', '60s');
  await h.ok('pair', 'create', 'A:d', 'B:d', '--journal', 'A:jd,B:kd', '--mode', 'sync', '--sync-timeout', '1s', '--fence', 'data', '--wait', '--timeout', '60s');
  await h.fails(1, /ERR_RCOPY_STATE.*sync pair/, 'pull', 'stop', 'B:kn');
  await h.ok('io', 'write', 'A:n', '--pattern', '0x11', '--length', '64k');
  await h.ok('link', 'down', 'A', 'B');
  // fence never: the write completes within the timeout (plus a margin), the pair suspends
  const t0 = Date.now();
  await h.ok('io', 'write', 'A:n', '--pattern', '0x22', '--length', '64k');
  assert.ok(Date.now() - t0 < 30_000, 'a sync write never waits without bound');
  assert.equal((await show(h, 'A:n')).primary.state, 'PSUE');
  assert.ok((await show(h, 'A:n')).primary.changedTracks >= 1, 'the write is in the bitmap');
  // fence data: the write fails with a clear error; the next one is refused before anything is written
  await h.fails(4, 'ERR_RCOPY_FENCED', 'io', 'write', 'A:d', '--pattern', '0x33', '--length', '64k');
  assert.equal((await show(h, 'A:d')).primary.state, 'PSUE');
  const before = (await sums(h, 'A:d'))[0];
  await h.fails(1, 'ERR_RCOPY_FENCED', 'io', 'write', 'A:d', '--offset', '1M', '--pattern', '0x44', '--length', '64k');
  assert.equal((await sums(h, 'A:d'))[0], before, 'a refused write changes nothing');
  await h.ok('link', 'up', 'A', 'B');
  for (const v of ['n', 'd']) {
    await h.ok('pair', 'resync', `B:${v}`);
    await h.ok('pair', 'wait', `B:${v}`, '--drained', '--timeout', '60s');
    await assertEqual(h, `A:${v}`, `B:${v}`);
  }
});

homeTest('a deleted pair can be created again and behaves like a new one through split, resync and takeover', async (h) => {
  await twoSites(h, { size: '16M' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '4M', '--seed', '9');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('pair', 'delete', 'B:v', '--yes');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--group', 'g1', '--wait', '--timeout', '60s');
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--offset', '8M', '--pattern', '0x5a', '--length', '1M');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
  // --nocopy, then a split: host writes to the P-VOL still work (the bitmap is the new pair's)
  await h.ok('pair', 'delete', 'B:v', '--yes');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--group', 'g1', '--nocopy');
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', '0x6b', '--length', '64k');
  await h.ok('pair', 'takeover', 'B:v', '--yes');
  await h.ok('io', 'write', 'B:v', '--offset', '1M', '--pattern', '0x7c', '--length', '64k');
  await h.ok('pair', 'resync', 'B:v', '--swap');
  await h.ok('pair', 'wait', 'A:v', '--drained', '--timeout', '60s');
  await assertEqual(h, 'B:v', 'A:v');
});

homeTest('kill -9 of the primary right after it reports copy complete: the copy is never silently stale', async (h) => {
  await twoSites(h, { size: '32M', blockade: '1s' });
  await h.ok('pair', 'split', 'B:v');
  const [image] = await sums(h, 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '10');
  await armFault(h, 'A', 'copy-done-before-reply');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  await waitFault(h, 'A', 'copy-done-before-reply');
  await waitDead(h, 'A');
  // A stays down past B's blockade watch: B gives up the resync (PSUE) with its image kept
  await waitFor(async () => {
    const r = await h.run(['pair', 'list', 'B', '--json']);
    return r.code === 0 && r.json()[0]?.sState === 'PSUE';
  }, 60_000);
  // A comes back (PAIR, bitmap cleared); B is PSUE: the two are reconciled, A suspends
  await h.ok('array', 'start', 'A');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PSUE', '--timeout', '30s');
  const r = await h.ok('pair', 'revert', 'B:v', '--yes', '--json');
  assert.ok(r.tracksRestored > 0);
  assert.equal((await sums(h, 'B:v'))[0], image);
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v', 'after the revert the resync copies every changed track again');
});

homeTest('kill -9 of the primary after copy complete, restarted in time: the secondary finishes the switch and ends equal', async (h) => {
  await twoSites(h, { size: '32M' });
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '11');
  await armFault(h, 'A', 'copy-done-before-reply');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  await waitFault(h, 'A', 'copy-done-before-reply');
  await waitDead(h, 'A');
  await h.ok('array', 'start', 'A');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

for (const point of ['copied-before-switch', 'switched-before-clear']) {
  homeTest(`kill -9 of the secondary at ${point}: after restart, revert or resync give the split image or P == S`, async (h) => {
    await twoSites(h, { size: '32M' });
    await h.ok('pair', 'split', 'B:v');
    const [image] = await sums(h, 'B:v');
    await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '12');
    await armFault(h, 'B', point);
    await h.run(['pair', 'resync', 'B:v', '--timeout', '60s']);
    await waitFault(h, 'B', point);
    const s = (await show(h, 'B:v')).secondary; // restarts B
    if (point === 'copied-before-switch') {
      // the group had not switched: it waits in PSUE, and revert is exact
      assert.equal(s.state, 'PSUE');
      await h.ok('pair', 'revert', 'B:v', '--yes');
      assert.equal((await sums(h, 'B:v'))[0], image);
    } else {
      assert.equal(s.state, 'PAIR', 'the switch was durable before the crash');
    }
    if (s.state !== 'PAIR') await h.ok('pair', 'resync', 'B:v');
    await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
    await assertEqual(h, 'A:v', 'B:v');
  });
}

homeTest('a takeover is not undone by a pull reply that was in flight', async (h) => {
  await twoSites(h, { size: '32M', journal: '64M' });
  // the primary holds every pull 3 s before it reads the states it reports, and the secondary
  // asks again 50 ms after each reply: a pull is in flight when the takeover suspends the
  // primary, and its reply (PSUS, drained) lands after the S-VOL became SSWS
  await armDelay(h, 'A', 'serve-pull:3000');
  await h.ok('pull', 'start', 'B:j2', '--interval', '50ms');
  await waitLog(h, 'A', 'delay point serve-pull');
  const r = await h.ok('pair', 'takeover', 'B:v', '--yes', '--json');
  assert.equal(r.pairs[0].state, 'SSWS');
  // watch for twice the hold: the takeover stays
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    const s = (await show(h, 'B:v')).secondary;
    assert.equal(s.state, 'SSWS', `takeover undone: ${s.state} (${s.reason})`);
    await sleep(200);
  }
  await h.ok('io', 'write', 'B:v', '--pattern', '0x42', '--length', '64k');
});

homeTest('the secondary learns of PFUS at once, and pair resync is not refused as PAIR', async (h) => {
  await twoSites(h, { size: '32M', journal: '4M' });
  // no pull asks meanwhile: the secondary can learn of the journal overflow only from the primary
  await h.ok('pull', 'stop', 'B:j2');
  for (let i = 0; i < 10; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', 'random', '--length', '512k', '--seed', String(20 + i));
  await h.ok('pair', 'wait', 'A:v', '--state', 'PFUS', '--timeout', '30s');
  const t0 = Date.now();
  await h.ok('pair', 'wait', 'B:v', '--state', 'PFUS', '--timeout', '30s');
  assert.ok(Date.now() - t0 < 10_000, `the secondary took ${Date.now() - t0} ms to learn of PFUS`);
  await h.ok('array', 'start', 'B');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('a blockade watch starts afresh: a primary restarted after an old outage does not split the pair', async (h) => {
  // a watch long enough that the restart below is always shorter, even on a loaded machine
  await twoSites(h, { size: '16M', blockade: '6s' });
  await h.ok('link', 'down', 'A', 'B');
  await h.ok('io', 'write', 'A:v', '--pattern', '0x31', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '60s');
  await h.ok('link', 'up', 'A', 'B');
  await h.ok('pair', 'resync', 'B:v');
  // killed right as the resync reports PAIR, before any pull has succeeded since the outage
  process.kill((await h.ok('array', 'status', 'A', '--json')).pid, 'SIGKILL');
  await waitDead(h, 'A');
  await h.ok('array', 'start', 'A');
  await h.ok('io', 'write', 'A:v', '--offset', '2M', '--pattern', '0x32', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  const v = await show(h, 'B:v');
  assert.equal(v.secondary.state, 'PAIR');
  assert.equal(v.primary.state, 'PAIR');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest("a group's state change is all or nothing across a kill -9 in the middle of it", async (h) => {
  await twoSites(h, { size: '8M', vols: ['a', 'b', 'c'] });
  await armFault(h, 'A', 'group-state-midway-PSUS');
  await h.run(['pair', 'split', '--group', 'g1']);
  await waitFault(h, 'A', 'group-state-midway-PSUS');
  const states = new Set<string>();
  for (const v of ['a', 'b', 'c']) states.add((await show(h, `A:${v}`)).primary.state);
  assert.equal(states.size, 1, `the primary's group is in one state, not ${[...states].join(' and ')}`);
});

homeTest('a write to a sync pair whose secondary was killed completes within the sync timeout', async (h) => {
  await twoSites(h, { size: '8M', mode: 'sync' });
  await h.ok('io', 'write', 'A:v', '--pattern', '0x01', '--length', '64k');
  process.kill((await h.ok('array', 'status', 'B', '--json')).pid, 'SIGKILL');
  await waitDead(h, 'B');
  const child = spawn(process.execPath, [BIN, 'io', 'write', 'A:v', '--pattern', '0x02', '--length', '64k'], { env: h.env, stdio: 'ignore' });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.equal(code, 0, 'fence never: the write completes into the bitmap');
  assert.equal((await show(h, 'A:v')).primary.state, 'PSUE');
});

homeTest('kill -9 of the secondary between recording a restore and freeing its entries: the journal still drains', async (h) => {
  await twoSites(h, { size: '16M' });
  await armFault(h, 'B', 'restored-before-release');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '2M', '--seed', '14');
  await waitFault(h, 'B', 'restored-before-release');
  await waitDead(h, 'B');
  await h.ok('array', 'start', 'B');
  await h.ok('io', 'write', 'A:v', '--offset', '4M', '--pattern', '0x15', '--length', '64k');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('kill -9 of the primary after a split: writes made while suspended are not undone by the restart', async (h) => {
  await twoSites(h, { size: '8M' });
  // the secondary dies after the split's drain restored the entry and before it told the primary:
  // the entry stays in the master journal (unreleased) while the P-VOL is suspended
  await armFault(h, 'B', 'split-drained-before-finish');
  await h.ok('pull', 'stop', 'B:j2'); // only the split's drain pulls the entry
  await h.ok('io', 'write', 'A:v', '--pattern', '0x41', '--length', '128k');
  await h.run(['pair', 'split', 'B:v']);
  await waitFault(h, 'B', 'split-drained-before-finish');
  await waitDead(h, 'B');
  assert.equal((await show(h, 'A:v')).primary.state, 'PSUS');
  assert.equal((await h.ok('journal', 'show', 'A:j1', '--json')).entries, 1, 'the split entry is still in the master journal');
  // not journaled (the pair is suspended): only the differential bitmap and the volume
  await h.ok('io', 'write', 'A:v', '--pattern', '0x42', '--length', '128k');
  const want = (await sums(h, 'A:v'))[0];
  process.kill((await h.ok('array', 'status', 'A', '--json')).pid, 'SIGKILL');
  await waitDead(h, 'A');
  await h.ok('array', 'start', 'A');
  assert.equal((await sums(h, 'A:v'))[0], want, 'the restart re-applied the older journal entry over the newer write');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('pair wait --drained after a resync returns only once the kept image is dropped: a drill or verify can start at once', async (h) => {
  await twoSites(h, { size: '8M' });
  await h.ok('io', 'write', 'A:v', '--pattern', '0x51', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', '0x52', '--length', '256k');
  // the secondary holds the step that drops the kept image once the restore passed the copy's end
  await armDelay(h, 'B', 'drop-image:3000');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  assert.equal((await show(h, 'B:v')).consistentFromSeq, undefined, 'drained while the S-VOL was still only consistent from a later seq');
  await h.ok('drill', 'start', 'B:v', '--name', 'now');
  await h.ok('drill', 'stop', 'B:now');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('a resync with the pull stopped drops its kept image at the switch: pair wait --drained returns, a drill can start', async (h) => {
  await twoSites(h, { size: '8M' });
  await h.ok('io', 'write', 'A:v', '--pattern', '0x61', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('pull', 'stop', 'B:j2');
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--offset', '2M', '--pattern', '0x62', '--length', '256k');
  await h.ok('pair', 'resync', 'B:v');
  // no pull round runs to drop the image: the switch itself does, the restore being past its end
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '30s');
  assert.equal((await show(h, 'B:v')).consistentFromSeq, undefined);
  await assertEqual(h, 'A:v', 'B:v');
  await h.ok('drill', 'start', 'B:v', '--name', 'stopped');
  await h.ok('drill', 'stop', 'B:stopped');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('io', 'write', 'A:v', '--offset', '4M', '--pattern', '0x63', '--length', '64k');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('a resync writes a track once its old content is durable, while it still saves the rest of the image: kill -9 then, and revert gives back the split image', async (h) => {
  await twoSites(h, { size: '160M' });
  const image = await splitAfterData(h, 21);
  // 40 MiB changed: the image is saved in five waves of at most 8 MiB
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '40M', '--seed', '22');
  await armDelay(h, 'B', 'image-wave:30000');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  // the first wave is durable and the second is held: the tracks of the first are written meanwhile
  await waitFor(
    async () => {
      const st = (await show(h, 'B:v')).resync;
      return st?.dataTracks > 0 && st.imageMs === null;
    },
    60_000,
    50,
  );
  process.kill((await h.ok('array', 'status', 'B', '--json')).pid, 'SIGKILL');
  await waitDead(h, 'B');
  await h.ok('array', 'start', 'B');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '60s');
  assert.notEqual((await sums(h, 'B:v'))[0], image, 'the copy had overwritten tracks before the kill');
  await h.ok('pair', 'revert', 'B:v', '--yes');
  assert.equal((await sums(h, 'B:v'))[0], image, 'revert gives back the image of the split');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await assertEqual(h, 'A:v', 'B:v');
});
