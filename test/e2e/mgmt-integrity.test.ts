/**
 * The management store's facts that data correctness depends on are checked on load (issue 15):
 * a row changed under a stopped array suspends its group with the row named, or stops the start
 * with the table and row named; never replicates on. `rcopy array check` runs every check.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type TestHome, arrayDirOf, homeTest } from '../helpers.js';
import { assertEqual, twoSites } from './sites.js';

function withDb(h: TestHome, array: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path.join(arrayDirOf(h, array), 'mgmt.db'));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

homeTest('a restored seq changed under a stopped secondary suspends the group instead of skipping entries', async (h) => {
  await twoSites(h, { size: '16M' });
  await h.ok('pull', 'stop', 'B:j2');
  for (let i = 0; i < 6; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i}M`, '--pattern', String(i + 1), '--length', '64k');
  await h.ok('array', 'stop', 'B');
  withDb(h, 'B', (db) => db.prepare('UPDATE journals SET restored_seq = restored_seq + 3 WHERE name = ?').run('j2'));
  await h.ok('pull', 'start', 'B:j2');
  const v = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(v.secondary.state, 'PSUE', 'the group does not replicate on with a restored seq it cannot trust');
  assert.match(v.secondary.reason, /journals row 'j2'/);
  const drained = await h.run(['pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '3s', '--json']);
  assert.equal(drained.code, 1, 'never PAIR with --drained success: PSUE does not come back by itself, the wait fails at once');
  assert.equal(drained.json().error.code, 'ERR_RCOPY_STATE');
  const chk = await h.run(['array', 'check', 'B', '--json']);
  assert.equal(chk.code, 3);
  assert.ok(chk.json().findings.some((f: any) => /j2/.test(f.what)));
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('a pair state that is not a state suspends the group with the row named; a role that is not a role stops the start', async (h) => {
  await twoSites(h, { size: '8M' });
  await h.ok('array', 'stop', 'A');
  withDb(h, 'A', (db) => db.prepare("UPDATE pairs SET state = 'PAIQ'").run());
  const v = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(v.primary.state, 'PSUE');
  assert.match(v.primary.reason, /pairs row 'A:v'/);
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  // a checksum mismatch alone (a value changed to another valid one) is found too
  await h.ok('array', 'stop', 'A');
  withDb(h, 'A', (db) => db.prepare("UPDATE pairs SET mode = 'sync'").run());
  assert.equal((await h.ok('pair', 'show', 'A:v', '--json')).primary.state, 'PSUE');
  // a role that is not a role: the controller refuses to start and names the table and row
  await h.ok('array', 'stop', 'A');
  withDb(h, 'A', (db) => db.prepare("UPDATE pairs SET role = 'X'").run());
  const r = await h.run(['array', 'check', 'A']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /table pairs, row 'A:v'/);
});

homeTest('a damaged JSON document in the store does not make pair show fail for good', async (h) => {
  await twoSites(h, { size: '8M' });
  await h.ok('array', 'stop', 'B');
  withDb(h, 'B', (db) => db.prepare("UPDATE meta SET value = substr(value, 2) WHERE key LIKE 'copy-stats:%' OR key LIKE 'pull-counters:%'").run());
  const v = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(v.secondary.state, 'PAIR');
});
