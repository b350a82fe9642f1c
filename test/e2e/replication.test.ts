/**
 * End-to-end remote copy through real controllers: async pairs under load, order across a group,
 * sync mode, a cascade, kill -9 of either controller, and a corrupted journal record.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, sleep, homeTest } from '../helpers.js';
import { assertEqual, sums, threeSites, twoSites } from './sites.js';

homeTest('async pair: initial copy, 20 s random workload while the pull runs, drained and equal', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('array', 'create', 'B');
  await h.ok('volume', 'create', 'A:v', '--size', '64M');
  await h.ok('volume', 'create', 'B:v', '--size', '64M');
  await h.ok('io', 'write', 'A:v', '--offset', '3M', '--pattern', 'random', '--length', '5M', '--seed', '9');
  await h.ok('journal', 'create', 'A:j1', '--size', '64M');
  await h.ok('journal', 'create', 'B:j2', '--size', '64M');
  await h.ok('link', 'add', 'A', 'B', '--bandwidth', '200MB/s', '--latency', '1ms');
  const d = await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--json');
  assert.equal(d.state, 'COPY');
  // host writes during the initial copy are journaled and applied after
  await h.ok('io', 'write', 'A:v', '--offset', '4M', '--pattern', '0x42', '--length', '1M');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--timeout', '60s');
  await h.ok('pull', 'start', 'B:j2');
  const w = await h.ok('workload', 'run', 'A:v', '--pattern', 'random', '--bs', '64k', '--rate', '8MB/s', '--duration', '20s', '--json');
  assert.ok(w.writes > 100);
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
  const st = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.ok(st.entries >= w.writes, `pulled ${st.entries} entries for ${w.writes} writes`);
  assert.equal(st.logicalBytes, st.dataBytes + st.referenceBytes);
  const list = await h.ok('pair', 'list', '--json');
  assert.equal(list.length, 1);
  assert.equal(list[0].pState, 'PAIR');
  assert.equal(list[0].entriesBehind, 0);
  // S-VOL is read-only to hosts while paired, and the error says what to do
  await h.fails(1, /ERR_RCOPY_STATE.*read-only.*takeover/, 'io', 'write', 'B:v', '--pattern', 'zero', '--length', '4k');
  // a second pull start changes nothing and succeeds
  const again = await h.ok('pull', 'start', 'B:j2', '--json');
  assert.equal(again.enabled, true);
});

function stampsOf(file: string, bs: number): Map<number, number> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(bs);
  const out = new Map<number, number>();
  const size = fs.fstatSync(fd).size;
  for (let off = 0; off < size; off += bs) {
    fs.readSync(fd, buf, 0, 16, off);
    if (buf.readUInt32LE(12) === 0x53544d50) out.set(Number(buf.readBigUInt64LE(0)), off);
  }
  fs.closeSync(fd);
  return out;
}

homeTest('a journal group keeps write order across its volumes', async (h) => {
  await twoSites(h, { vols: ['x', 'y'], size: '16M', durability: 'none' });
  await h.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const run = h.run(['workload', 'run', 'A:x', 'A:y', '--pattern', 'seq', '--bs', '4k', '--depth', '1', '--stamp', '--bytes', '24M', '--seed', '3']);
  let checks = 0;
  let maxSeen = -1;
  for (let i = 0; i < 6; i++) {
    await sleep(700);
    await h.ok('array', 'stop', 'B');
    const dir = arrayDirOf(h, 'B');
    const seen = new Set<number>();
    for (const v of ['x', 'y']) for (const k of stampsOf(path.join(dir, 'volumes', `${v}.img`), 4096).keys()) seen.add(k);
    const max = Math.max(-1, ...seen);
    for (let k = 0; k <= max; k++) assert.ok(seen.has(k), `S-VOLs show write ${max} but not the earlier write ${k}`);
    if (max > maxSeen) maxSeen = max;
    checks++;
    await h.ok('array', 'start', 'B');
  }
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  await h.ok('pair', 'wait', '--group', 'g1', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:x', 'B:x');
  await assertEqual(h, 'A:y', 'B:y');
  assert.ok(checks === 6 && maxSeen > 0, 'the secondary was caught part way');
});

homeTest('sync mode: a write completes only when the S-VOL has it', async (h) => {
  await twoSites(h, { mode: 'sync', size: '16M' });
  await h.ok('link', 'set', 'A', 'B', '--latency', '20ms');
  for (let i = 0; i < 5; i++) {
    const off = `${i}M`;
    await h.ok('io', 'write', 'A:v', '--offset', off, '--pattern', 'random', '--seed', String(i + 10), '--length', '256k');
    // no wait, no pull: the S-VOL already holds it
    const [p, s] = await sums(h, 'A:v', 'B:v');
    assert.equal(s, p, `write ${i} not on the S-VOL when it completed`);
  }
  const show = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(show.mode, 'sync');
  assert.equal(show.state, 'PAIR');
});

homeTest('cascade A -> B -> C ends with three equal volumes', async (h) => {
  await threeSites(h);
  await h.ok('workload', 'run', 'A:v', '--pattern', 'zipf', '--bs', '64k', '--bytes', '24M', '--seed', '4');
  await h.ok('pair', 'wait', 'A:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await h.ok('pair', 'wait', 'C:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  const [a, b, c] = await sums(h, 'A:v', 'B:v', 'C:v');
  assert.equal(b, a);
  assert.equal(c, a);
  // B:v is in two pairs: naming it is ambiguous and the error says so
  await h.fails(2, /ERR_RCOPY_USAGE.*2 pairs/, 'pair', 'show', 'B:v');
});

homeTest('kill -9 of the primary and of the secondary during writes and pulls: replication ends equal', async (h) => {
  await twoSites(h, { size: '32M' });
  for (let round = 0; round < 2; round++) {
    const load = h.run(['workload', 'run', 'A:v', '--pattern', 'random', '--bs', '64k', '--rate', '10MB/s', '--duration', '5s', '--seed', String(round + 1)]);
    await sleep(1200);
    const bpid = (await h.ok('array', 'status', 'B', '--json')).pid;
    process.kill(bpid, 'SIGKILL');
    await sleep(500);
    await h.ok('array', 'start', 'B'); // the pull resumes by itself
    await sleep(1200);
    if (round === 1) {
      const apid = (await h.ok('array', 'status', 'A', '--json')).pid;
      process.kill(apid, 'SIGKILL');
      await sleep(300);
      await h.ok('array', 'start', 'A');
    }
    await load;
  }
  await h.ok('workload', 'run', 'A:v', '--pattern', 'random', '--bs', '64k', '--bytes', '4M', '--seed', '99');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
  await assertEqual(h, 'A:v', 'B:v');
  const st = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(st.enabled, true);
});

homeTest('a corrupted journal record is reported and never applied; resync repairs', async (h) => {
  await twoSites(h, { size: '16M' });
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const before = (await sums(h, 'B:v'))[0];
  await h.ok('pull', 'stop', 'B:j2');
  await h.ok('io', 'write', 'A:v', '--offset', '1M', '--pattern', '0x77', '--length', '256k');
  await h.ok('array', 'stop', 'A');
  // flip one byte inside the data of the record just written (the journal's data area starts at 8 KiB)
  const jfile = path.join(arrayDirOf(h, 'A'), 'journals', 'j1.jnl');
  const fd = fs.openSync(jfile, 'r+');
  const buf = Buffer.alloc(1 << 20);
  fs.readSync(fd, buf, 0, buf.length, 8192);
  const at = buf.indexOf(0x77);
  assert.ok(at >= 0, 'record data found');
  fs.writeSync(fd, Buffer.from([0x78]), 0, 1, 8192 + at + 1000);
  fs.closeSync(fd);
  await h.ok('array', 'start', 'A');
  const j = await h.ok('journal', 'show', 'A:j1', '--json');
  assert.ok(j.recovery.reason, 'recovery reports the damage');
  const p = await h.ok('pair', 'show', 'A:v', '--json');
  assert.equal(p.primary.state, 'PSUE');
  assert.match(p.primary.reason, /journal damaged/);
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PSUE', '--timeout', '30s');
  assert.equal((await sums(h, 'B:v'))[0], before, 'the damaged entry was not applied');
  await h.ok('pair', 'resync', 'B:v');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest('pull counters are kept across a controller restart, and forgotten with their journal', async (h) => {
  await twoSites(h, { size: '32M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '4M', '--seed', '5');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const before = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.ok(before.entries > 0 && before.bytes >= 4 * 1024 * 1024, `counted: ${JSON.stringify(before)}`);
  await h.ok('array', 'stop', 'B');
  await h.ok('array', 'start', 'B');
  const after = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(after.countingSince, before.countingSince);
  assert.ok(after.entries >= before.entries && after.bytes >= before.bytes && after.logicalBytes >= before.logicalBytes, `kept: ${JSON.stringify(after)}`);
  await h.ok('io', 'write', 'A:v', '--offset', '8M', '--pattern', 'random', '--length', '1M', '--seed', '6');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  const more = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.ok(more.entries > after.entries && more.bytes >= after.bytes + 1024 * 1024, 'counting goes on from the kept values');
  // a journal deleted and made again under the same name starts from zero
  await h.ok('pair', 'delete', 'B:v', '--yes');
  await h.ok('journal', 'delete', 'B:j2', '--yes');
  await h.ok('journal', 'create', 'B:j2', '--size', '16M');
  const fresh = await h.ok('pull', 'status', 'B:j2', '--json');
  assert.equal(fresh.entries, 0);
  assert.equal(fresh.bytes, 0);
});

for (const refs of ['on', 'off'])
  homeTest(`pulls of many full batches reuse their buffers on both sides and stay bit-exact (references ${refs})`, async (h) => {
    // each 16 MiB batch is read on the primary into a pooled buffer given back once the reply is
    // written, and received on the secondary into one given back once the batch is restored: a
    // buffer reused too early shows as a later batch's data in an earlier batch's place
    await twoSites(h, { size: '128M', journal: '160M' });
    await h.ok('journal', 'set', 'B:j2', '--references', refs);
    await h.ok('pull', 'stop', 'B:j2');
    for (let i = 0; i < 6; i++) await h.ok('io', 'write', 'A:v', '--offset', `${i * 20}M`, '--pattern', 'random', '--seed', String(100 + i), '--length', '20M');
    await h.ok('pull', 'start', 'B:j2');
    await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '120s');
    await assertEqual(h, 'A:v', 'B:v', 'after a backlog of six 20 MiB writes');
    // and while the host writes: reads, replies and restores overlap
    await h.ok('workload', 'run', 'A:v', '--pattern', 'random', '--bs', '1M', '--bytes', '96M', '--seed', '7');
    await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '120s');
    await assertEqual(h, 'A:v', 'B:v', 'after 96 MiB written while pulling');
    const st = await h.ok('pull', 'status', 'B:j2', '--json');
    assert.ok(st.bytes >= 96 * 1024 * 1024, `pulled ${st.bytes} bytes as data`);
  });
