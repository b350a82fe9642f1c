/**
 * Three homes over TCP: a cascade A -> B -> C; and a peer that goes silent (its process stopped,
 * the connection open but nothing answering) is noticed within the keepalive time.
 */
import assert from 'node:assert/strict';
import { homeTest, waitFor } from '../helpers.js';
import { extraHome, makeHost, makePki, meshRemotes, pidOf } from './tcp-hosts.js';

homeTest('cascade A -> B -> C across three homes over TCP: all three equal', async (h0) => {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, 'insecure');
  const b = await makeHost(extraHome(h0), 'B', '127.0.0.3', pki, 'insecure');
  const c = await makeHost(extraHome(h0), 'C', '127.0.0.4', pki, 'insecure');
  await meshRemotes([a, b, c], pki, 'insecure');
  for (const x of ['A', 'B', 'C']) await h0.ok('volume', 'create', `${x}:v`, '--size', '16M');
  await h0.ok('journal', 'create', 'A:j1', '--size', '32M');
  await h0.ok('journal', 'create', 'B:j2', '--size', '32M');
  await h0.ok('journal', 'create', 'B:j3', '--size', '32M');
  await h0.ok('journal', 'create', 'C:j4', '--size', '32M');
  await h0.ok('link', 'add', 'A', 'B');
  // a link and a pair between two remotes of this home: B's and C's controllers reach each other
  await h0.ok('link', 'add', 'B', 'C');
  await h0.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--wait', '--timeout', '120s');
  await h0.ok('pair', 'create', 'B:v', 'C:v', '--journal', 'B:j3,C:j4', '--wait', '--timeout', '120s');
  await h0.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  await h0.ok('pull', 'start', 'C:j4', '--interval', '100ms');
  await h0.ok('workload', 'run', 'A:v', '--pattern', 'random', '--bs', '16k', '--rate', '4MB/s', '--duration', '4s');
  await h0.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  await h0.ok('pair', 'wait', 'C:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  const sums = [];
  for (const x of ['A', 'B', 'C']) sums.push((await h0.ok('io', 'checksum', `${x}:v`, '--json')).sha256);
  assert.equal(sums[1], sums[0], 'B differs from A');
  assert.equal(sums[2], sums[0], 'C differs from A');
  // C's home sees both pairs of the cascade through its remotes
  assert.equal((await c.home.ok('pair', 'list', '--json')).length, 2);
});

homeTest('a silent primary (process stopped, socket open) is noticed within the keepalive: PSUE, then resync', async (h0) => {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, 'tls');
  const b = await makeHost(extraHome(h0), 'B', '127.0.0.3', pki, 'tls');
  await meshRemotes([a, b], pki, 'tls');
  // B's controller with a short keepalive (its pull calls would otherwise wait 120 s)
  await b.home.ok('array', 'stop', 'B');
  const started = await b.home.run(['array', 'start', 'B'], { env: { RCOPY_TCP_KEEPALIVE_MS: '1500' } });
  assert.equal(started.code, 0, started.stderr);
  await h0.ok('volume', 'create', 'A:v', '--size', '16M');
  await h0.ok('volume', 'create', 'B:v', '--size', '16M');
  await h0.ok('journal', 'create', 'A:j1', '--size', '32M', '--blockade-watch', '2s');
  await h0.ok('journal', 'create', 'B:j2', '--size', '32M', '--blockade-watch', '2s');
  await h0.ok('link', 'add', 'A', 'B');
  await h0.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--wait', '--timeout', '120s');
  await h0.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const pa = pidOf(a);
  process.kill(pa, 'SIGSTOP');
  h0.onCleanup(() => process.kill(pa, 'SIGCONT'));
  const t0 = Date.now();
  await waitFor(async () => (await b.home.ok('pair', 'show', 'B:v', '--json')).secondary?.state === 'PSUE', 60_000, 250);
  const took = Date.now() - t0;
  assert.ok(took < 30_000, `PSUE after ${took} ms: the silent peer was not noticed by the keepalive`);
  process.kill(pa, 'SIGCONT');
  await waitFor(async () => (await h0.ok('pair', 'show', 'A:v', '--json')).primary?.state === 'PSUE', 60_000, 250);
  await h0.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '4');
  await h0.ok('pair', 'resync', 'B:v', '--timeout', '120s');
  await h0.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '120s');
  const x = (await h0.ok('io', 'checksum', 'A:v', '--json')).sha256;
  assert.equal((await h0.ok('io', 'checksum', 'B:v', '--json')).sha256, x);
});
