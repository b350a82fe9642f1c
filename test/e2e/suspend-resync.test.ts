/** End-to-end suspension and resynchronisation: split, link loss, journal full, takeover, revert, kill -9. */
import assert from 'node:assert/strict';
import { sleep, waitFor, homeTest } from '../helpers.js';
import { assertEqual, sums, twoSites } from './sites.js';
import { RpcClient } from '../../src/server/protocol.js';

homeTest('planned split: PSUS/SSUS, writes tracked in the bitmap, resync copies only them, equal', async (h) => {
  await twoSites(h, { size: '64M' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '16M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const split = await h.ok('pair', 'split', 'B:v', '--json');
  assert.equal(split.pairs[0].state, 'SSUS');
  const p = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(p.primary.state, 'PSUS');
  assert.ok(p.secondary.imageTime, 'the secondary names the time of its image');
  // 10 writes of 64 KiB on distinct tracks while split
  for (let i = 0; i < 10; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i * 3}M`, '--pattern', String(i + 1), '--length', '64k');
  const list = await h.ok('pair', 'list', '--json');
  assert.equal(list[0].pState, 'PSUS');
  assert.equal(list[0].changedTracks, 10);
  assert.equal(list[0].changedBytes, 10 * 65536);
  const [pa, sb] = await sums(h, 'A:v', 'B:v');
  assert.notEqual(sb, pa, 'the S-VOL keeps the image of the split');
  const r = await h.ok('pair', 'resync', 'B:v', '--json');
  assert.equal(r.tracksCopied, 10, 'resync copies only the changed tracks');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  // the resync's consistent image: the tracks it saved and when it was durable, within the resync
  const st = (await h.ok('pair', 'show', 'B:v', '--json')).resync;
  assert.equal(st.imageTracks, 10);
  assert.ok(typeof st.imageMs === 'number' && st.imageMs >= 0 && st.imageMs <= st.finishedAt - st.startedAt, JSON.stringify(st));
  assert.match(await h.ok('pair', 'show', 'B:v'), /its consistent image: 10 tracks saved, durable after /);
  // a resync of a pair in PAIR has nothing to do: it succeeds and says so (a runbook's re-run)
  assert.match(await h.ok('pair', 'resync', 'B:v'), /already PAIR/);
});

homeTest('link down: PSUE after the path-blockade watch time, writes tracked, link up does not resume, resync equal', async (h) => {
  await twoSites(h, { size: '32M', blockade: '1s' });
  await h.ok('link', 'down', 'A', 'B');
  await h.ok('io', 'write', 'A:v', '--offset', '1M', '--pattern', 'random', '--length', '2M', '--seed', '5');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PSUE', '--timeout', '20s');
  await sleep(1500);
  const v = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(v.primary.state, 'PSUE');
  assert.equal(v.secondary.state, 'PSUE');
  await h.ok('io', 'write', 'A:v', '--offset', '8M', '--pattern', 'random', '--length', '1M', '--seed', '6');
  await h.ok('link', 'up', 'A', 'B');
  await sleep(1500);
  const after = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(after.primary.state, 'PSUE', 'no resync without auto-resync');
  assert.ok(after.changedTracks >= 48, `bitmap holds the writes (${after.changedTracks})`);
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  // with auto-resync on the group comes back by itself
  await h.ok('journal', 'set', 'B:j2', '--auto-resync', 'on');
  await h.ok('link', 'down', 'A', 'B');
  await h.ok('io', 'write', 'A:v', '--offset', '20M', '--pattern', '0x33', '--length', '1M');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '20s');
  await h.ok('link', 'up', 'A', 'B');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('journal full under a stopped pull: PFUL warning, PFUS, no host write refused, resync equal', async (h) => {
  await twoSites(h, { size: '32M', journal: '4M' });
  await h.ok('journal', 'set', 'A:j1', '--overflow-watch', '60s');
  await h.ok('pull', 'stop', 'B:j2');
  // 3.5 MiB of 4: over the 80% mark
  for (let i = 0; i < 7; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', 'random', '--length', '512k', '--seed', String(i));
  const p1 = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(p1.primary.state, 'PFUL');
  // and beyond the capacity: every write still completes
  for (let i = 7; i < 20; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', 'random', '--length', '512k', '--seed', String(i));
  const p2 = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(p2.primary.state, 'PFUS');
  assert.ok(p2.primary.changedTracks >= 20 * 8, 'journal entries were folded into the bitmap, not dropped');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PFUS', '--timeout', '20s');
  // waiting for PAIR now is hopeless (no auto-resync): it fails at once, not at its timeout
  const hopeless = await h.run(['pair', 'wait', 'B:v', '--drained', '--timeout', '10m', '--json']);
  assert.notEqual(hopeless.code, 0);
  assert.equal(hopeless.json().error.code, 'ERR_RCOPY_STATE', hopeless.stderr);
  assert.match(hopeless.json().error.message, /B:v is PFUS .*does not return to a journaling state by itself/);
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  // the data-overflow watch: over 80% for longer than it suspends even if not full
  await h.ok('journal', 'set', 'A:j1', '--overflow-watch', '1s');
  await h.ok('pull', 'stop', 'B:j2');
  for (let i = 0; i < 7; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', '0x11', '--length', '512k');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PFUS', '--timeout', '20s');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PFUS', '--timeout', '20s');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
  // each PFUL and each journal overflow is an event of its kind (rcopy events), in order
  const kinds = (await h.run(['events', 'A', '--json'])).stdout
    .trim()
    .split('\n')
    .map((l: string) => JSON.parse(l))
    .filter((e: { kind: string }) => e.kind === 'pful' || e.kind === 'journal-overflow')
    .map((e: { kind: string; event: string }) => `${e.kind} ${e.event.replace(/ \(.*$/, '')}`);
  assert.deepEqual(kinds, ['pful PAIR -> PFUL', 'journal-overflow PFUL -> PFUS', 'pful PAIR -> PFUL', 'journal-overflow PFUL -> PFUS']);
});

homeTest('PFUL across a controller restart: the pair returns to PAIR once the pull drains the journal', async (h) => {
  await twoSites(h, { size: '32M', journal: '4M' });
  await h.ok('pull', 'stop', 'B:j2');
  for (let i = 0; i < 7; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', 'random', '--length', '512k', '--seed', String(i));
  assert.equal((await h.ok('pair', 'show', 'A:v', '--json')).primary.state, 'PFUL');
  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'start', 'A');
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--drained', '--timeout', '20s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('takeover, writes on the secondary, resync --swap, fail back', async (h) => {
  await twoSites(h, { size: '32M' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '4M', '--seed', '2');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'pair', 'takeover', 'B:v'); // needs confirmation in a script
  const t = await h.ok('pair', 'takeover', 'B:v', '--yes', '--json');
  assert.equal(t.pairs[0].state, 'SSWS');
  await h.ok('io', 'write', 'B:v', '--offset', '10M', '--pattern', 'random', '--length', '1M', '--seed', '3');
  await h.fails(1, /ERR_RCOPY_STATE.*--swap/, 'pair', 'resync', 'B:v');
  await h.ok('pair', 'resync', 'B:v', '--swap');
  const s = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(s.pvol, 'B:v', 'B is the primary now');
  assert.equal(s.svol, 'A:v');
  await h.ok('io', 'write', 'B:v', '--offset', '12M', '--pattern', '0x21', '--length', '64k');
  await h.ok('pair', 'wait', 'A:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'B:v', 'A:v');
  // fail back: take over on A, then swap again
  await h.ok('pair', 'takeover', 'A:v', '--yes');
  await h.ok('io', 'write', 'A:v', '--offset', '14M', '--pattern', '0x22', '--length', '64k');
  await h.ok('pair', 'resync', 'A:v', '--swap');
  const f = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(f.pvol, 'A:v', 'A is the primary again');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('an interrupted resync and pair revert give back exactly the image of the suspension', async (h) => {
  await twoSites(h, { size: '64M', blockade: '1s' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '7');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await h.ok('pair', 'split', 'B:v');
  const image = (await sums(h, 'B:v'))[0];
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '16M', '--seed', '8');
  // slow enough that the copy is still part way when the link goes down on a loaded machine
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '1MB/s');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  await waitFor(async () => (await h.ok('pair', 'show', 'B:v', '--json')).secondary.copyDone > 0, 60_000);
  const mid = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(mid.secondary.state, 'COPY');
  assert.ok(mid.secondary.copyDone > 0 && mid.secondary.copyDone < mid.secondary.copyTotal, 'part way');
  // pair.await (what the CLI's waits ask a copying secondary): runs out while the copy goes on,
  // answers at once for a pair it does not hold, and answers with the state the copy left COPY for
  const c = await RpcClient.connect((await h.ok('array', 'status', 'B', '--json')).socket, 'B');
  try {
    assert.equal((await c.call('pair.await', { id: 'A:v', from: 'COPY', timeoutMs: 200 })).result.state, 'COPY');
    assert.equal((await c.call('pair.await', { id: 'X:none', from: 'COPY', timeoutMs: 10_000 })).result.state, null);
    await assert.rejects(c.call('pair.await', { id: 'A:v', from: 'COPY', timeoutMs: 60_000 }), { code: 'ERR_RCOPY_BAD_REQUEST' });
    const left = c.call('pair.await', { id: 'A:v', from: 'COPY', timeoutMs: 10_000 });
    await h.ok('link', 'down', 'A', 'B');
    let st = (await left).result.state;
    while (st === 'COPY') st = (await c.call('pair.await', { id: 'A:v', from: 'COPY', timeoutMs: 10_000 })).result.state;
    assert.equal(st, 'PSUE');
  } finally {
    c.close();
  }
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '20s');
  assert.notEqual((await sums(h, 'B:v'))[0], image, 'the S-VOL is part way');
  await h.ok('pair', 'revert', 'B:v', '--yes');
  assert.equal((await sums(h, 'B:v'))[0], image, 'revert gives back the image');
  await h.ok('link', 'up', 'A', 'B');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('kill -9 while suspended and during a resync still ends equal', async (h) => {
  await twoSites(h, { size: '64M' });
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '12M', '--seed', '11');
  const gone = (a: string): Promise<void> => waitFor(async () => !(await h.run(['array', 'status', a, '--json'])).json().running, 30_000, 50);
  for (const a of ['A', 'B']) process.kill((await h.ok('array', 'status', a, '--json')).pid, 'SIGKILL');
  await Promise.all([gone('A'), gone('B')]);
  const s = await h.ok('pair', 'show', 'A:v', '--json'); // restarts both
  assert.equal(s.primary.state, 'PSUS');
  assert.equal(s.primary.changedTracks, 192, 'the bitmap survived the kill');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '4MB/s');
  await h.ok('pair', 'resync', 'B:v', '--no-wait');
  // part way: some tracks written (12 MiB take about 3 s at 4 MB/s)
  await waitFor(async () => ((await h.ok('pair', 'show', 'B:v', '--json')).resync?.dataTracks ?? 0) > 0, 60_000, 50);
  process.kill((await h.ok('array', 'status', 'B', '--json')).pid, 'SIGKILL');
  await gone('B');
  await h.ok('array', 'start', 'B');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  // a restarted controller does not resume a resync by itself: it waits in PSUE, and the
  // primary is told to suspend too (no side stays journaling against a suspended one)
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '30s');
  const v = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(v.secondary.state, 'PSUE');
  assert.match(v.secondary.reason, /restart/);
  await h.ok('pair', 'wait', 'A:v', '--state', 'PSUE', '--timeout', '30s');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});
