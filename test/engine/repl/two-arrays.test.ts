/**
 * Replication between two arrays in one process (in-process.ts): the same handlers, services and
 * engine as the controllers, without processes or sockets. The end-to-end tests under test/e2e go
 * through real controllers; these reach the replication logic directly and fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, waitFor } from '../../helpers.js';
import { InProcessArrays } from './in-process.js';

const MiB = 1024 * 1024;

async function volumes(t: InProcessArrays, vols: string[], size = 8 * MiB): Promise<void> {
  for (const v of vols) {
    await t.call('A', 'volume.create', { name: v, size });
    await t.call('B', 'volume.create', { name: v, size });
  }
}

async function pairUp(t: InProcessArrays, vols: string[]): Promise<string[]> {
  if (!(await t.call<unknown[]>('A', 'volume.list')).length) await volumes(t, vols);
  await t.call('A', 'journal.create', { name: 'j1', size: 32 * MiB });
  await t.call('B', 'journal.create', { name: 'j2', size: 32 * MiB });
  const ids: string[] = [];
  for (const v of vols) {
    const d = await t.call<{ id: string }>('B', 'pair.create', { pvol: `A:${v}`, svol: v, pjournal: 'j1', sjournal: 'j2', mode: 'async', group: 'g' });
    ids.push(d.id);
  }
  for (const id of ids) await t.waitState('B', id, 'PAIR');
  return ids;
}

async function write(t: InProcessArrays, array: string, volume: string, seed: number, count: number): Promise<void> {
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    const len = (1 + Math.floor(r() * 16)) * 4096;
    const offset = Math.floor((r() * (8 * MiB - len)) / 4096) * 4096;
    const data = Buffer.alloc(len, Math.floor(r() * 256));
    await t.call(array, 'io.write', { volume, offset }, data);
  }
}

async function drained(t: InProcessArrays, id: string): Promise<void> {
  const { lastSeq } = await t.call<{ lastSeq: number }>('A', 'journal.show', { name: 'j1' });
  await t.call('B', 'pull.once', { journal: 'j2' }).catch(() => undefined);
  await waitFor(async () => ((await t.show('B', id)).restoredSeq as number) >= lastSeq, 60_000, 20);
}

test('in process: initial copy, host writes and pulls leave the S-VOLs equal, in order across the group', { timeout: 120_000 }, async () => {
  const t = await InProcessArrays.open('A', 'B');
  try {
    await volumes(t, ['v1', 'v2']);
    await write(t, 'A', 'v1', 1, 20); // before the pair: the initial copy carries it
    const ids = await pairUp(t, ['v1', 'v2']);
    await write(t, 'A', 'v1', 2, 50);
    await write(t, 'A', 'v2', 3, 50);
    for (const id of ids) await drained(t, id);
    assert.equal(await t.checksum('B', 'v1'), await t.checksum('A', 'v1'));
    assert.equal(await t.checksum('B', 'v2'), await t.checksum('A', 'v2'));
    for (const id of ids) assert.equal((await t.show('B', id)).state, 'PAIR');
  } finally {
    await t.close();
  }
});

test('in process: split, writes on the P-VOL, resync of the group: both S-VOLs equal again', { timeout: 120_000 }, async () => {
  const t = await InProcessArrays.open('A', 'B');
  try {
    const ids = await pairUp(t, ['v1', 'v2']);
    await t.call('B', 'pair.split', { id: ids[0] });
    for (const id of ids) await t.waitState('B', id, 'SSUS');
    const frozen = await t.checksum('B', 'v1');
    await write(t, 'A', 'v1', 4, 40);
    await write(t, 'A', 'v2', 5, 40);
    assert.equal(await t.checksum('B', 'v1'), frozen, 'a split S-VOL does not change');
    await t.call('B', 'pair.resync', { id: ids[0] });
    for (const id of ids) await t.waitState('B', id, 'PAIR');
    for (const id of ids) await drained(t, id);
    assert.equal(await t.checksum('B', 'v1'), await t.checksum('A', 'v1'));
    assert.equal(await t.checksum('B', 'v2'), await t.checksum('A', 'v2'));
  } finally {
    await t.close();
  }
});

test('in process: takeover makes the S-VOL writable and a swap resync replicates back', { timeout: 120_000 }, async () => {
  const t = await InProcessArrays.open('A', 'B');
  try {
    const [id] = await pairUp(t, ['v1']);
    await write(t, 'A', 'v1', 6, 30);
    await drained(t, id!);
    const r = await t.call<{ pairs: Array<{ state: string }> }>('B', 'pair.takeover', { id });
    assert.equal(r.pairs[0]!.state, 'SSWS');
    await write(t, 'B', 'v1', 7, 30);
    await t.call('B', 'pair.resync', { id, swap: true });
    // B is now the primary, A the secondary
    await t.waitState('A', id!, 'PAIR');
    const sum = await t.checksum('B', 'v1');
    await waitFor(async () => (await t.checksum('A', 'v1')) === sum, 60_000, 50);
    assert.equal((await t.show('A', id!)).role, 'S');
    await assert.rejects(t.call('A', 'io.write', { volume: 'v1', offset: 0 }, Buffer.alloc(4096, 1)), /read-only/);
  } finally {
    await t.close();
  }
});
