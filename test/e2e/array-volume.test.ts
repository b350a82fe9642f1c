/** End-to-end: arrays, volumes, the controller, host I/O and bad input, through the real binary. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, waitFor, homeTest } from '../helpers.js';
import { Rng } from '../../src/engine/array/workload.js';

function seeded(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  new Rng(seed).fill(b);
  return b;
}

homeTest('arrays: create, list, show, status, stop, delete', async (h) => {
  const a = await h.ok('array', 'create', 'siteA', '--serial', '64015', '--track-size', '64k', '--json');
  assert.equal(a.name, 'siteA');
  assert.equal(a.serial, '64015');
  assert.equal(a.trackSize, 65536);
  assert.equal(a.durability, 'fsync');
  await h.ok('array', 'create', 'siteB', '--durability', 'none');
  const list = await h.ok('array', 'list', '--json');
  assert.deepEqual(
    list.map((x: any) => x.name),
    ['siteA', 'siteB'],
  );
  let st = await h.ok('array', 'status', 'siteA', '--json');
  assert.equal(st.running, false);
  const started = await h.ok('array', 'start', 'siteA', '--json');
  assert.ok(started.pid > 0);
  st = await h.ok('array', 'status', 'siteA', '--json');
  assert.equal(st.running, true);
  assert.equal(st.pid, started.pid);
  assert.ok(fs.existsSync(st.socket), 'socket exists');
  // start on a running controller changes nothing
  const again = await h.ok('array', 'start', 'siteA', '--json');
  assert.equal(again.pid, started.pid);
  await h.ok('array', 'stop', 'siteA');
  st = await h.ok('array', 'status', 'siteA', '--json');
  assert.equal(st.running, false);
  // csv and yaml formats
  const csv = await h.ok('array', 'list', '--format', 'csv');
  assert.match(csv.split('\n')[0], /^array,serial,track size/);
  const yaml = await h.ok('array', 'show', 'siteB', '--format', 'yaml');
  assert.match(yaml, /durability: none/);
  // delete needs --yes without a terminal, and changes nothing without it
  await h.fails(2, 'ERR_RCOPY_USAGE', 'array', 'delete', 'siteB');
  assert.ok(fs.existsSync(arrayDirOf(h, 'siteB')));
  await h.ok('array', 'delete', 'siteB', '--yes');
  assert.ok(!fs.existsSync(arrayDirOf(h, 'siteB')));
});

homeTest('a controller whose array directory is removed stops by itself', async (h) => {
  await h.ok('array', 'create', 'gone');
  const { pid } = await h.ok('array', 'start', 'gone', '--json');
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive());
  fs.rmSync(arrayDirOf(h, 'gone'), { recursive: true, force: true });
  await waitFor(() => !alive(), 15_000);
});

homeTest('volumes and host I/O: sparse images, write/read/checksum', async (h) => {
  await h.ok('array', 'create', 'a1');
  const v = await h.ok('volume', 'create', 'a1:v1', '--size', '64M', '--json');
  assert.equal(v.size, 64 * 1024 * 1024);
  assert.equal(v.allocatedTracks, 0);
  const many = await h.ok('volume', 'create', 'a1:m', '--size', '1M', '--count', '3', '--json');
  assert.deepEqual(
    many.map((x: any) => x.name),
    ['m-0', 'm-1', 'm-2'],
  );
  const file = path.join(h.dir, 'data.bin');
  const data = seeded(42, 3 * 1024 * 1024 + 1000);
  fs.writeFileSync(file, data);
  await h.ok('io', 'write', 'a1:v1', '--offset', '1M', '--file', file);
  await h.ok('io', 'write', 'a1:v1', '--offset', '10M', '--pattern', '0xab', '--length', '64k');
  const show = await h.ok('volume', 'show', 'a1:v1', '--json');
  assert.ok(fs.existsSync(show.path), 'image path exists');
  // 3 MiB + 1000 bytes at 1 MiB touch tracks 16..64 (49 tracks), plus one track at 10M
  assert.equal(show.allocatedTracks, 49 + 1);
  const st = fs.statSync(show.path);
  assert.equal(st.size, 64 * 1024 * 1024);
  assert.ok(st.blocks * 512 < 16 * 1024 * 1024, 'image is sparse');
  // read back exactly
  const out = path.join(h.dir, 'out.bin');
  await h.ok('io', 'read', 'a1:v1', '--offset', '1M', '--length', String(data.length), '--out', out);
  assert.ok(fs.readFileSync(out).equals(data));
  // checksum of the whole volume = sha256 of the expected image
  const img = Buffer.alloc(64 * 1024 * 1024);
  data.copy(img, 1024 * 1024);
  img.fill(0xab, 10 * 1024 * 1024, 10 * 1024 * 1024 + 65536);
  const sum = await h.ok('io', 'checksum', 'a1:v1', '--json');
  assert.equal(sum.sha256, crypto.createHash('sha256').update(img).digest('hex'));
  const part = await h.ok('io', 'checksum', 'a1:v1', '--range', '10M-11M', '--json');
  assert.equal(
    part.sha256,
    crypto
      .createHash('sha256')
      .update(img.subarray(10 * 1048576, 11 * 1048576))
      .digest('hex'),
  );
  // workload runs in the controller and reports figures
  const w = await h.ok('workload', 'run', 'a1:v1', '--pattern', 'zipf', '--bs', '64k', '--bytes', '4M', '--json');
  assert.equal(w.bytes, 4 * 1024 * 1024);
  assert.ok(w.iops > 0 && w.latencyMs.p99 >= w.latencyMs.p50);
  await h.ok('volume', 'delete', 'a1:m-2', '--yes');
  const vols = await h.ok('volume', 'list', 'a1', '--json');
  assert.deepEqual(vols.map((x: any) => x.name).sort(), ['m-0', 'm-1', 'v1']);
});

homeTest('bad input gets a one-line error with a stable code and changes nothing', async (h) => {
  await h.ok('array', 'create', 'a1', '--track-size', '64k');
  await h.ok('volume', 'create', 'a1:v1', '--size', '1M');
  const before = await h.ok('volume', 'list', 'a1', '--json');
  const r = await h.fails(2, 'ERR_RCOPY_NO_ARRAY', 'volume', 'list', 'nosuch');
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  await h.fails(2, 'ERR_RCOPY_NO_VOLUME', 'io', 'checksum', 'a1:nosuch');
  await h.fails(2, 'ERR_RCOPY_BAD_SIZE', 'volume', 'create', 'a1:v2', '--size', '100k');
  await h.fails(2, 'ERR_RCOPY_BAD_SIZE', 'volume', 'create', 'a1:v2', '--size', '-5M');
  await h.fails(2, 'ERR_RCOPY_BAD_SIZE', 'volume', 'create', 'a1:v2', '--size', '12QB');
  await h.fails(2, 'ERR_RCOPY_OUT_OF_RANGE', 'io', 'write', 'a1:v1', '--offset', '1020k', '--pattern', 'zero', '--length', '8k');
  await h.fails(2, 'ERR_RCOPY_BAD_NAME', 'array', 'create', '../evil');
  await h.fails(2, 'ERR_RCOPY_BAD_NAME', 'volume', 'create', 'a1:x..y', '--size', '1M');
  await h.fails(2, 'ERR_RCOPY_ARRAY_EXISTS', 'array', 'create', 'a1');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'io', 'write', 'a1:v1', '--pattern', 'stripes', '--length', '4k');
  await h.fails(2, 'ERR_RCOPY_USAGE', 'io', 'write', 'a1:v1', '--pattern', 'zero');
  fs.mkdirSync(path.join(h.dir, 'arrays', 'junk'));
  await h.fails(2, 'ERR_RCOPY_NOT_AN_ARRAY', 'array', 'show', 'junk');
  await h.fails(2, 'ERR_RCOPY_NOT_AN_ARRAY', 'array', 'create', 'junk');
  const j = await h.run(['volume', 'show', 'a1:zz', '--json']);
  assert.equal(j.code, 2);
  assert.equal(j.json().error.code, 'ERR_RCOPY_NO_VOLUME');
  const after = await h.ok('volume', 'list', 'a1', '--json');
  assert.deepEqual(after, before);
  const sum = await h.ok('io', 'checksum', 'a1:v1', '--json');
  assert.equal(sum.sha256, crypto.createHash('sha256').update(Buffer.alloc(1048576)).digest('hex'));
});

homeTest('SIGKILL of the controller during a workload loses no acknowledged write', async (h) => {
  await h.ok('array', 'create', 'k1');
  await h.ok('volume', 'create', 'k1:v', '--size', '64M');
  await h.ok('volume', 'create', 'k1:load', '--size', '64M');
  const load = h.run(['workload', 'run', 'k1:load', '--pattern', 'random', '--bs', '64k', '--duration', '20s']);
  const acked: number[] = [];
  let killed = 0;
  for (let i = 0; i < 24; i++) {
    const r = await h.run(['io', 'write', 'k1:v', '--offset', `${i * 256}k`, '--pattern', 'random', '--seed', String(i + 1), '--length', '256k']);
    if (r.code === 0) acked.push(i);
    if (i === 8 || i === 16) {
      const [pid] = h.pids();
      assert.ok(pid, 'controller running');
      process.kill(pid!, 'SIGKILL');
      killed++;
    }
  }
  await load; // ends with an error when its controller is killed
  assert.equal(killed, 2);
  assert.ok(acked.length >= 20, `most writes were acknowledged (${acked.length})`);
  for (const i of acked) {
    const sum = await h.ok('io', 'checksum', 'k1:v', '--range', `${i * 256}k-${(i + 1) * 256}k`, '--json');
    assert.equal(
      sum.sha256,
      crypto
        .createHash('sha256')
        .update(seeded(i + 1, 256 * 1024))
        .digest('hex'),
      `write ${i}`,
    );
  }
});

homeTest('rcopy --version and help', async (h) => {
  const v = await h.ok('--version');
  assert.match(v.trim(), /^\d+\.\d+\.\d+$/);
  const help = await h.ok('help', 'volume', 'create');
  assert.match(help, /Example/);
  assert.match(help, /--size/);
  await h.fails(2, /unknown command|error/, 'frobnicate');
});
