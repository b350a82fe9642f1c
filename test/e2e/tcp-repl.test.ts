/**
 * Replication between homes that talk only over TCP: an async pair under a workload with kill -9
 * of either controller, a sync pair, and the primary's process killed (not `link down`): the
 * secondary notices, retries, goes PSUE after its path-blockade watch time, and a resync after the
 * restart ends equal.
 */
import assert from 'node:assert/strict';
import { homeTest, sleep, waitFor } from '../helpers.js';
import { extraHome, makeHost, makePki, meshRemotes, pidOf, type Host, type Security } from './tcp-hosts.js';

async function pairOver(h0: Parameters<typeof makeHost>[0], s: Security, opts: { mode?: string; blockade?: string } = {}): Promise<{ a: Host; b: Host }> {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, s);
  const b = await makeHost(extraHome(h0), 'B', '127.0.0.3', pki, s);
  await meshRemotes([a, b], pki, s);
  // everything from A's home: B is a remote there
  await h0.ok('volume', 'create', 'A:v', '--size', '32M');
  await h0.ok('volume', 'create', 'B:v', '--size', '32M');
  await h0.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '5');
  await h0.ok('journal', 'create', 'A:j1', '--size', '64M', '--blockade-watch', opts.blockade ?? '60s');
  await h0.ok('journal', 'create', 'B:j2', '--size', '64M', '--blockade-watch', opts.blockade ?? '60s');
  await h0.ok('link', 'add', 'A', 'B');
  await h0.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--group', 'g1', '--mode', opts.mode ?? 'async', '--wait', '--timeout', '120s');
  return { a, b };
}

async function equal(h: Host, p: string, s: string): Promise<void> {
  const x = (await h.home.ok('io', 'checksum', p, '--json')).sha256;
  const y = (await h.home.ok('io', 'checksum', s, '--json')).sha256;
  assert.equal(y, x, `${s} differs from ${p}`);
}

homeTest('TCP+TLS async pair: workload, kill -9 of the secondary then of the primary, ends equal', async (h0) => {
  const { a, b } = await pairOver(h0, 'tls');
  // the primary is a remote of the secondary's home: references' auto setting sends them
  const j = await b.home.ok('journal', 'show', 'B:j2', '--json');
  assert.deepEqual([j.referencesMode, j.references], ['auto', true]);
  await h0.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const load = h0.run(['workload', 'run', 'A:v', '--pattern', 'random', '--bs', '64k', '--rate', '4MB/s', '--duration', '8s', '--json']);
  await sleep(2500);
  process.kill(pidOf(b), 'SIGKILL');
  await sleep(1000);
  await b.home.ok('array', 'start', 'B');
  const w = await load;
  assert.equal(w.code, 0, w.stderr);
  assert.ok(w.json().writes > 50);
  process.kill(pidOf(a), 'SIGKILL');
  await a.home.ok('array', 'start', 'A');
  await h0.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await equal(a, 'A:v', 'B:v');
  // pair list from either home shows the pair once, with both sides
  for (const h of [a, b]) {
    const rows = await h.home.ok('pair', 'list', '--json');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].pState, 'PAIR');
  }
});

homeTest('TCP+PSK sync pair: writes acknowledged after the secondary has them; equal', async (h0) => {
  const { a } = await pairOver(h0, 'psk', { mode: 'sync' });
  await h0.ok('pull', 'start', 'B:j2', '--interval', '50ms');
  for (let i = 0; i < 5; i++) await h0.ok('io', 'write', 'A:v', '--offset', `${i * 3}M`, '--pattern', 'random', '--length', '1M', '--seed', String(i));
  // sync: the S-VOL has every acknowledged write without waiting for a drain
  await equal(a, 'A:v', 'B:v');
  const d = await h0.ok('pair', 'show', 'B:v', '--json');
  assert.equal(d.secondary.mode, 'sync');
  assert.equal(d.secondary.state, 'PAIR');
});

homeTest('kill -9 of the primary over TCP: PSUE after the watch time, tracked writes, resync ends equal', async (h0) => {
  const { a, b } = await pairOver(h0, 'tls', { blockade: '3s' });
  await h0.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  await h0.ok('io', 'write', 'A:v', '--pattern', '0x11', '--length', '1M');
  await h0.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  process.kill(pidOf(a), 'SIGKILL');
  const t0 = Date.now();
  // asked of B's home: A is down, B's own view
  await waitFor(async () => (await b.home.ok('pair', 'show', 'B:v', '--json')).secondary?.state === 'PSUE', 60_000, 250);
  assert.ok(Date.now() - t0 >= 2500, 'PSUE before the watch time');
  await a.home.ok('array', 'start', 'A');
  // the primary learns of the suspension; later host writes are tracked in its bitmap
  await waitFor(async () => (await h0.ok('pair', 'show', 'A:v', '--json')).primary?.state === 'PSUE', 60_000, 250);
  await h0.ok('io', 'write', 'A:v', '--offset', '5M', '--pattern', 'random', '--length', '2M', '--seed', '8');
  assert.ok((await h0.ok('pair', 'show', 'A:v', '--json')).primary.changedTracks > 0);
  await h0.ok('pair', 'resync', 'B:v', '--timeout', '120s');
  await h0.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await equal(a, 'A:v', 'B:v');
});
