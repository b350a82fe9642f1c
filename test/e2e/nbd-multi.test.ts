/**
 * NBD exports under several connections at once (fio's nbd engine, one connection per job), an
 * S-VOL's export that refuses writes with EPERM while the pair holds it read-only, nbdcopy out of it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { homeTest } from '../helpers.js';
import { exportUri, needs, tool, toolOk } from './nbd-helpers.js';
import { sums, twoSites } from './sites.js';

homeTest('fio: four jobs on four connections, random writes verified with crc32c; the S-VOL export is read-only (EPERM) and equal', needs('fio', 'qemu-io', 'nbdcopy'), async (h) => {
  await twoSites(h, { size: '32M', durability: 'fsync' });
  await h.ok('pull', 'start', 'B:j2', '--interval', '100ms');
  const uri = await exportUri(h, 'A:v');
  // each job its own 4 MiB slice (so each verifies its own writes), all on one export at once
  const out = await toolOk(
    [
      'fio',
      '--name=mc',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=randwrite',
      '--bs=4k',
      '--size=4M',
      '--offset_increment=4M',
      '--numjobs=4',
      '--iodepth=8',
      '--verify=crc32c',
      '--do_verify=1',
      '--output-format=json',
      // fio saves its verify state in the working directory by default: none left behind
      '--verify_state_save=0',
    ],
    300_000,
  );
  const res = JSON.parse(out.slice(out.indexOf('{')));
  assert.equal(res.jobs.length, 4);
  for (const j of res.jobs) {
    assert.equal(j.error, 0, `job ${j.jobname}: error ${j.error}`);
    assert.equal(j.write.io_bytes, 4 * 1024 * 1024);
    assert.equal(j.read.io_bytes, 4 * 1024 * 1024, 'the verify pass read everything back');
  }
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  const [a, b] = await sums(h, 'A:v', 'B:v');
  assert.equal(b, a);

  // the S-VOL of a pair in PAIR: a write is refused with EPERM and the connection goes on
  const suri = await exportUri(h, 'B:v');
  const io = await tool(['qemu-io', '-f', 'raw', '-c', 'write -P 0x77 0 4096', '-c', 'read -P 0 0 4096', suri]);
  assert.match(io.stdout + io.stderr, /Operation not permitted/);
  assert.match(io.stdout, /read 4096\/4096 bytes/, io.stdout + io.stderr);
  assert.match(io.stdout + io.stderr, /Pattern verification failed/, 'the S-VOL holds fio data, not zeros');
  const copy = path.join(h.tempDir(), 'svol.raw');
  await toolOk(['nbdcopy', suri, copy]);
  assert.equal(createHash('sha256').update(fs.readFileSync(copy)).digest('hex'), a, 'nbdcopy out of the S-VOL equals the P-VOL');

  // --read-only: the client sees a read-only export
  await h.ok('export', 'stop', 'B:v');
  const ro = await exportUri(h, 'B:v', '--read-only', '--name', 'bro');
  assert.match(ro, /\/bro\?/);
  assert.equal(JSON.parse(await toolOk(['nbdinfo', '--json', ro])).exports[0].is_read_only, true);
  // after a takeover the S-VOL takes host writes over the same export
  await h.ok('export', 'stop', 'B:v');
  await exportUri(h, 'B:v');
  await h.ok('pair', 'takeover', 'B:v', '--yes');
  await toolOk(['qemu-io', '-f', 'raw', '-c', 'write -P 0x77 0 4096', '-c', 'read -P 0x77 0 4096', suri]);
});
