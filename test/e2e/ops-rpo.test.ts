/** The real RPO: consistency time on the secondary, RPO and entries behind while pulls stop, and after. */
import assert from 'node:assert/strict';
import { homeTest, waitFor } from '../helpers.js';
import { twoSites } from './sites.js';

homeTest('the RPO grows while pulls are stopped, falls to 0 once drained, and the consistency time survives a restart', { timeout: 240_000 }, async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const start = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(start.rpoSeconds, 0);
  assert.equal(start.entriesBehind, 0);
  assert.ok(start.consistencyTime && !Number.isNaN(Date.parse(start.consistencyTime)), `consistencyTime ${start.consistencyTime}`);
  const t0 = Date.parse(start.consistencyTime);

  await h.ok('pull', 'stop', 'B:j2');
  const before = Date.now();
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '256K', '--seed', '2');
  const one = await h.ok('pair', 'show', 'B:v', '--json');
  assert.ok(one.entriesBehind > 0 && one.bytesBehind > 0, `behind: ${one.entriesBehind} entries, ${one.bytesBehind} bytes`);
  assert.equal(one.consistencyTime, start.consistencyTime, 'nothing restored while pulls are stopped');
  assert.ok(one.rpoSeconds >= (before - t0) / 1000 - 0.01, `rpo ${one.rpoSeconds}`);
  // host time moves on: the next write is at least a second later
  await waitFor(() => Date.now() > before + 1200, 10_000, 50);
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '256K', '--seed', '3', '--offset', '1M');
  const two = await h.ok('pair', 'show', 'B:v', '--json');
  assert.ok(two.rpoSeconds >= one.rpoSeconds + 1, `rpo grew: ${one.rpoSeconds} -> ${two.rpoSeconds}`);
  assert.ok(two.entriesBehind > one.entriesBehind);
  const listed = (await h.ok('pair', 'list', '--json')).find((r: { id: string }) => r.id === two.id);
  assert.ok(listed.rpoSeconds >= two.rpoSeconds, 'pair list shows the RPO too');
  assert.match(await h.ok('pair', 'list'), /RPO/);

  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const after = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(after.rpoSeconds, 0);
  assert.equal(after.entriesBehind, 0);
  assert.ok(Date.parse(after.consistencyTime) >= before + 1200, `consistency time moved to the last write: ${after.consistencyTime}`);

  await h.ok('array', 'stop', 'B');
  const restarted = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(restarted.consistencyTime, after.consistencyTime, 'kept with the restored seq across a restart');
});
