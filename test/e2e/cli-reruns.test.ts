/**
 * Re-running a runbook: a command whose end state already holds succeeds and says so; `link add`
 * of an existing link refuses and points to `link set`, which changes only the options given.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { homeTest, type TestHome } from '../helpers.js';

async function twoSites(h: TestHome): Promise<void> {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:v`, '--size', '8M');
    await h.ok('journal', 'create', `${a}:j`, '--size', '16M');
  }
}

homeTest('resync of a pair in PAIR, split of a split pair, pull start of a running pull: exit 0, "already"', async (h) => {
  await twoSites(h);
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait');
  const again = await h.run(['pair', 'resync', 'B:v']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already PAIR: A:v -> B:v/);
  assert.equal((await h.ok('pair', 'resync', 'A:v', '--json')).already, true);

  await h.ok('pair', 'split', 'B:v');
  const split2 = await h.run(['pair', 'split', 'B:v']);
  assert.equal(split2.code, 0, split2.stderr);
  assert.match(split2.stdout, /already SSUS/);
  const show = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(show.secondary?.state ?? show.state, 'SSUS');
  // the resync still works after the re-runs
  await h.ok('pair', 'resync', 'B:v');

  await h.ok('pull', 'start', 'B:j');
  const pull2 = await h.run(['pull', 'start', 'B:j']);
  assert.equal(pull2.code, 0, pull2.stderr);
  assert.match(pull2.stdout, /already started; nothing changed/);
  // a start with other options is not a re-run: it applies them
  const withInterval = await h.ok('pull', 'start', 'B:j', '--interval', '2s', '--json');
  assert.equal(withInterval.intervalMs, 2000);
  assert.equal(withInterval.already, undefined);
  await h.ok('pull', 'stop', 'B:j');
  assert.match(await h.ok('pull', 'stop', 'B:j'), /already stopped/);
});

homeTest('link up of an up link says so; link add of an existing link refuses; link set changes only what is given', async (h) => {
  await twoSites(h);
  await h.ok('link', 'add', 'A', 'B', '--bandwidth', '100MB/s', '--latency', '2ms');
  assert.match(await h.ok('link', 'up', 'A', 'B'), /already up; nothing changed/);
  await h.ok('link', 'down', 'A', 'B');
  assert.match(await h.ok('link', 'down', 'B', 'A'), /already down/);

  const r = await h.fails(2, 'ERR_RCOPY_LINK_EXISTS', 'link', 'add', 'A', 'B', '--bandwidth', '10MB/s');
  assert.match(r.stderr, /hint: .*rcopy link set A B --bandwidth 10MB\/s/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  // nothing changed: still down, still 100 MB/s
  let l = await h.ok('link', 'show', 'A', 'B', '--json');
  assert.deepEqual([l.up, l.bandwidth, l.latencyMs], [false, 100_000_000, 2]);

  await h.ok('link', 'set', 'A', 'B', '--latency', '5ms');
  l = await h.ok('link', 'show', 'B', 'A', '--json');
  assert.deepEqual([l.up, l.bandwidth, l.latencyMs], [false, 100_000_000, 5]);
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '20MB/s');
  l = await h.ok('link', 'show', 'A', 'B', '--json');
  assert.deepEqual([l.up, l.bandwidth, l.latencyMs], [false, 20_000_000, 5]);
  await h.fails(2, 'ERR_RCOPY_USAGE', 'link', 'set', 'A', 'B');
  await h.ok('array', 'create', 'C');
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'link', 'set', 'A', 'C', '--latency', '1ms');
});

homeTest('export start of a running export with the same options succeeds (already); other options are refused', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '8M');
  const first = await h.ok('export', 'start', 'A:v', '--json');
  const again = await h.ok('export', 'start', 'A:v', '--json');
  assert.equal(again.already, true);
  assert.equal(again.uri, first.uri);
  await h.fails(1, 'ERR_RCOPY_STATE', 'export', 'start', 'A:v', '--read-only');
  assert.match(await h.ok('export', 'start', 'A:v'), /^A:v is already exported as 'v' at nbd\+unix:.* \(same options; nothing changed\)$/m);
  // TLS asked where the export has none is another export: refused, the running one unchanged
  const psk = path.join(h.tempDir(), 'keys.psk');
  fs.writeFileSync(psk, `alice:${crypto.randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  await h.fails(1, 'ERR_RCOPY_STATE', 'export', 'start', 'A:v', '--tls-psk', psk);
  assert.equal((await h.ok('export', 'list', '--json'))[0].tlsPsk, null);
  assert.equal((await h.ok('export', 'list', '--json')).length, 1);
  await h.ok('export', 'stop', 'A:v');
});
