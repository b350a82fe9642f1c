/**
 * Safe deletes: array, volume and journal delete refuse while a pair (either side), an NBD export
 * or a running collection uses the object, naming it and the command to run first; --force ends
 * those uses on both sides. An orphan pair whose peer array is gone goes with pair delete --force.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { arrayDirOf, homeTest, type TestHome } from '../helpers.js';

async function paired(h: TestHome): Promise<void> {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:v`, '--size', '8M');
    await h.ok('journal', 'create', `${a}:j`, '--size', '16M');
  }
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait');
}

/** One refusal: exit 2, ERR_RCOPY_(VOLUME_)IN_USE, one line naming the use and the command to run first. */
async function refused(h: TestHome, args: string[], uses: RegExp, first: RegExp): Promise<void> {
  const r = await h.fails(2, args[0] === 'volume' ? 'ERR_RCOPY_VOLUME_IN_USE' : 'ERR_RCOPY_IN_USE', ...args, '--yes');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, uses);
  assert.match(r.stderr, first);
}

const pairCount = async (h: TestHome, a: string): Promise<number> => (await h.ok('pair', 'list', a, '--json')).length;

homeTest('volume delete refuses for a pair on either side, an export and a running collection; --force ends them', async (h) => {
  await paired(h);
  await refused(h, ['volume', 'delete', 'A:v'], /volume A:v is in use by pair A:v -> B:v \(PAIR/, /rcopy pair delete A:v/);
  await refused(h, ['volume', 'delete', 'B:v'], /volume B:v is in use by pair A:v -> B:v/, /rcopy pair delete B:v/);
  await h.ok('volume', 'create', 'A:x', '--size', '4M');
  await h.ok('export', 'start', 'A:x');
  await refused(h, ['volume', 'delete', 'A:x'], /NBD export 'x' of A:x/, /rcopy export stop A:x/);
  await h.ok('export', 'stop', 'A:x');
  await h.ok('stats', 'define', 'A:g', '--volumes', 'x');
  await h.ok('stats', 'start', 'A:g', '--interval', '1m');
  await refused(h, ['volume', 'delete', 'A:x'], /PB-bit collection A:g \(running\)/, /rcopy stats stop A:g/);
  // nothing changed by the refusals
  assert.equal((await h.ok('volume', 'list', 'A', '--json')).length, 2);
  assert.equal(await pairCount(h, 'B'), 1);

  const gone = await h.ok('volume', 'delete', 'A:x', '--force', '--yes');
  assert.match(gone, /stopped PB-bit collection A:g[^\n]*\ndeleted A:x/);
  const r = await h.ok('volume', 'delete', 'B:v', '--force', '--yes');
  assert.match(r, /deleted pair A:v -> B:v .* on both sides\ndeleted B:v/);
  assert.equal(await pairCount(h, 'A'), 0);
  assert.equal(await pairCount(h, 'B'), 0);
  // the P-VOL is free again
  await h.ok('volume', 'delete', 'A:v', '--yes');
});

homeTest('journal delete and array delete refuse while a pair uses them; --force deletes the pairs on both sides first', async (h) => {
  await paired(h);
  await refused(h, ['journal', 'delete', 'B:j'], /journal B:j is in use by pair A:v -> B:v/, /rcopy pair delete B:v/);
  await refused(h, ['journal', 'delete', 'A:j'], /journal A:j is in use by pair A:v -> B:v/, /rcopy pair delete A:v/);
  await refused(h, ['array', 'delete', 'B'], /array B is in use by pair A:v -> B:v/, /rcopy pair delete B:v; or all of it at once: rcopy array delete B --force/);
  await h.ok('export', 'start', 'A:v');
  await refused(h, ['array', 'delete', 'A'], /array A is in use by NBD export 'v' of A:v.*pair A:v -> B:v/, /rcopy export stop A:v; rcopy pair delete A:v/);
  assert.ok(fs.existsSync(arrayDirOf(h, 'B')));

  assert.match(await h.ok('journal', 'delete', 'A:j', '--force', '--yes'), /deleted pair A:v -> B:v .* on both sides\ndeleted journal A:j/);
  assert.equal(await pairCount(h, 'B'), 0);
  await h.ok('journal', 'create', 'A:j', '--size', '16M');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait');
  const r = await h.ok('array', 'delete', 'B', '--force', '--yes');
  assert.match(r, /deleted pair A:v -> B:v .* on both sides\ndeleted array B/);
  assert.ok(!fs.existsSync(arrayDirOf(h, 'B')));
  // no orphan left on A
  assert.equal(await pairCount(h, 'A'), 0);
  assert.match(await h.ok('array', 'delete', 'A', '--force', '--yes'), /stopped NBD export 'v' of A:v[^\n]*\ndeleted array A/);
});

homeTest('an orphan pair whose peer array is gone is removed with pair delete --force', async (h) => {
  await paired(h);
  // the secondary's array is lost outside rcopy (its disk gone)
  await h.ok('array', 'stop', 'B');
  fs.rmSync(arrayDirOf(h, 'B'), { recursive: true, force: true });
  const r = await h.fails(4, 'ERR_RCOPY_PEER', 'pair', 'delete', 'A:v', '--yes');
  assert.match(r.stderr, /hint: delete this side alone: rcopy pair delete .* --force/);
  assert.equal(await pairCount(h, 'A'), 1);
  const d = await h.ok('pair', 'delete', 'A:v', '--force', '--yes');
  assert.match(d, /deleted pair .*primary side|deleted pair .*not reached/);
  assert.equal(await pairCount(h, 'A'), 0);
  await h.ok('volume', 'delete', 'A:v', '--yes');
  await h.ok('journal', 'delete', 'A:j', '--yes');
});
