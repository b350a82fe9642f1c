/**
 * Full disks (issue 15, "ENOSPC on the primary"): a small file system that the test mounts (tmpfs,
 * or a loop device with ext4 where tmpfs cannot be mounted) under one array's volumes/ (or under
 * the whole home), filled up with a filler file and freed again by removing it.
 * - a host write that fails on the P-VOL: ERR_RCOPY_NO_SPACE (exit 1, the path named), nothing of
 *   it reaches the S-VOL, and after freeing space and a resync P == S;
 * - a secondary that cannot restore: PSUE with the reason within seconds; a resync on the full disk
 *   returns with PSUE and a message;
 * - journal, volume and backup create, and a management-store change, on a full disk.
 * Skipped (with the reason) only where neither a tmpfs nor a loop device can be mounted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { storageError, toRcopyError } from '../../src/errors.js';
import { type TestHome, arrayDirOf, tmpDir, waitFor, homeTest } from '../helpers.js';
import { assertEqual } from './sites.js';

/** Mounts a small file system of `mib` MiB on dir; returns how to unmount it, or the reason it cannot. */
function mountSmall(dir: string, mib: number): { umount: () => void } | { why: string } {
  fs.mkdirSync(dir, { recursive: true });
  const t = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (t.status === 0) return { umount: () => umount(dir) };
  // a loop device with ext4, for containers that refuse tmpfs
  const img = path.join(tmpDir('rcopy-loop-'), 'fs.img');
  const drop = (): void => fs.rmSync(path.dirname(img), { recursive: true, force: true });
  fs.writeFileSync(img, '');
  fs.truncateSync(img, mib * 1024 * 1024);
  const mk = spawnSync('mkfs.ext4', ['-q', '-F', img], { encoding: 'utf8' });
  const lo = mk.status === 0 ? spawnSync('mount', ['-o', 'loop', img, dir], { encoding: 'utf8' }) : null;
  if (lo?.status === 0) return { umount: () => (umount(dir), drop()) };
  drop();
  return { why: `cannot mount a small file system here (tmpfs: ${t.stderr.trim() || t.error?.message}; loop device: ${(lo ?? mk).stderr?.trim() || 'mkfs.ext4 failed'})` };
}

function umount(dir: string): void {
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

const PROBE = ((): string | null => {
  const d = tmpDir('rcopy-probe-');
  try {
    const m = mountSmall(d, 1);
    if ('why' in m) return m.why;
    m.umount();
    return null;
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
})();

/** Fills the file system holding dir with dir/filler up to the last block, or up to `leave` bytes. */
function fill(dir: string, leave = 0): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'a');
  try {
    for (const size of [1024 * 1024, 4096, 512]) {
      const buf = Buffer.alloc(size, 0xee);
      try {
        for (;;) fs.writeSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  if (leave) fs.truncateSync(path.join(dir, 'filler'), fs.statSync(path.join(dir, 'filler')).size - leave);
}

function unfill(dir: string): void {
  fs.rmSync(path.join(dir, 'filler'), { force: true });
}

/** The test's mounts: at cleanup, the controllers are stopped (they hold files on the mounts), then they are unmounted. */
function mountsOf(h: TestHome): Array<{ umount: () => void }> {
  const mounts: Array<{ umount: () => void }> = [];
  h.onCleanup(async () => {
    await h.run(['array', 'stop', '--all']);
    for (const m of mounts) m.umount();
  });
  return mounts;
}

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

async function pairOn(h: TestHome, opts: { blockade?: string } = {}): Promise<void> {
  for (const a of ['A', 'B']) {
    await h.ok('volume', 'create', `${a}:v`, '--size', '32M');
    await h.ok('journal', 'create', `${a}:j`, '--size', '16M', '--blockade-watch', opts.blockade ?? '60s');
  }
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--group', 'g', '--wait', '--timeout', '60s');
}

homeTest('ENOSPC on the P-VOL: ERR_RCOPY_NO_SPACE with the path, nothing of the failed write on the S-VOL, P == S after freeing space and a resync', { skip: PROBE ?? false }, async (h) => {
  const mounts = mountsOf(h);
  await h.ok('array', 'create', 'A');
  await h.ok('array', 'create', 'B');
  const vols = path.join(arrayDirOf(h, 'A'), 'volumes');
  const m = mountSmall(vols, 8);
  assert.ok(!('why' in m), 'mounted');
  mounts.push(m);
  await pairOn(h);
  await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  fill(vols);
  const r = await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'io', 'write', 'A:v', '--offset', '4M', '--pattern', 'random', '--length', '2M', '--seed', '2');
  assert.match(r.stderr, /volumes\/v\.img/, `the error names the image: ${r.stderr}`);
  assert.match(r.stderr, /array 'A'/, `the error names the array: ${r.stderr}`);
  assert.match(r.stderr, /hint: .*free/i, `the error says what to do: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /INTERNAL|bug in rcopy|\n\s+at /, 'no internal error, no stack trace');
  // the group is suspended with the reason; nothing of the failed write was applied on the S-VOL
  await waitFor(async () => {
    const v = await h.ok('pair', 'show', 'B:v', '--json');
    return v.primary?.state === 'PSUE' && v.secondary?.state === 'PSUE';
  }, 20_000);
  const v = await h.ok('pair', 'show', 'B:v', '--json');
  assert.match(v.primary.reason, /no space/i, `reason: ${v.primary.reason}`);
  const s = await h.ok('io', 'checksum', 'B:v', '--range', '4M-6M', '--json');
  assert.equal(s.sha256, sha256(Buffer.alloc(2 * 1024 * 1024)), 'the S-VOL holds nothing of the write that failed');
  // free space, resync: equal again, and writes go on
  unfill(vols);
  await h.ok('pair', 'resync', 'B:v', '--timeout', '60s');
  await h.ok('io', 'write', 'A:v', '--offset', '8M', '--pattern', 'random', '--length', '1M', '--seed', '3');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
  await assertEqual(h, 'A:v', 'B:v');
});

homeTest(
  'ENOSPC on the secondary (the whole array on a full disk): PSUE with the reason within seconds; a resync on the full disk returns with PSUE and a message',
  { skip: PROBE ?? false },
  async (h) => {
    const mounts = mountsOf(h);
    await h.ok('array', 'create', 'A');
    await h.ok('array', 'create', 'B');
    // B's whole directory (S-VOL, restore journal, management store, bitmaps) on a 40 MiB file system
    const dir = arrayDirOf(h, 'B');
    await h.ok('array', 'stop', 'B');
    fs.renameSync(dir, `${dir}.aside`);
    const m = mountSmall(dir, 40);
    assert.ok(!('why' in m), 'mounted');
    mounts.push(m);
    fs.cpSync(`${dir}.aside`, dir, { recursive: true });
    fs.rmSync(`${dir}.aside`, { recursive: true });
    await pairOn(h);
    await h.ok('io', 'write', 'A:v', '--offset', '0', '--pattern', 'random', '--length', '1M', '--seed', '1');
    await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
    fill(dir);
    await h.ok('io', 'write', 'A:v', '--offset', '4M', '--pattern', 'random', '--length', '2M', '--seed', '2');
    // bounded: the restore fails at once and suspends (not after a watch time or a retry loop)
    const t0 = Date.now();
    await waitFor(async () => (await h.ok('pair', 'show', 'B:v', '--json')).secondary?.state === 'PSUE', 30_000);
    const secs = (Date.now() - t0) / 1000;
    const v = await h.ok('pair', 'show', 'B:v', '--json');
    // the S-VOL or the (sparse) restore journal is the first to meet the full disk
    assert.match(v.secondary.reason, /restore failed: no space.*(v\.img|j\.jnl)/i, `reason: ${v.secondary.reason}`);
    assert.ok(secs < 30, `suspended after ${secs} s`);
    // the primary is told
    await waitFor(async () => (await h.ok('pair', 'show', 'B:v', '--json')).primary?.state === 'PSUE', 10_000);
    fill(dir, 3 * 1024 * 1024);
    if (/v\.img/.test(v.secondary.reason)) {
      // entries already in the restore journal are applied by themselves once there is room
      // (the S-VOL is whole again at the last entry, never left at a half-applied batch)
      await waitFor(async () => {
        const x = await h.ok('pair', 'show', 'B:v', '--json');
        return x.secondary.restoredSeq >= x.primary.lastSeq;
      }, 10_000);
    }
    // (when the sparse restore journal met the full disk first, the entries never arrived: the
    // primary folded them into its bitmap and the resync below copies them)
    // a resync with 1 MiB left (room to record states, not for the 2 MiB it saves and copies)
    // stops with PSUE and says why, in bounded time
    fill(dir, 1024 * 1024);
    const t1 = Date.now();
    const r = await h.run(['pair', 'resync', 'B:v'], { timeoutMs: 60_000 }).catch(async (e: Error) => {
      const tail = (f: string): string => fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n');
      const show = await h.run(['pair', 'show', 'B:v', '--json']);
      throw new Error(`${e.message}\npair show: ${show.stdout}\nB: ${tail(path.join(dir, 'controller.log'))}\nA: ${tail(path.join(arrayDirOf(h, 'A'), 'controller.log'))}`);
    });
    assert.notEqual(r.code, 0, `resync on a full disk: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /PSUE/, r.stderr);
    assert.match(r.stderr, /no space/i, r.stderr);
    assert.doesNotMatch(r.stderr, /INTERNAL|bug in rcopy/, r.stderr);
    assert.ok(Date.now() - t1 < 30_000, `resync returned after ${(Date.now() - t1) / 1000} s`);
    assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).secondary.state, 'PSUE');
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'controller.log'), 'utf8'), /unhandled rejection|uncaught/);
    // space again: the resync makes both equal
    unfill(dir);
    await h.ok('pair', 'resync', 'B:v', '--timeout', '60s');
    await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '30s');
    await assertEqual(h, 'A:v', 'B:v');
  },
);

homeTest('array, journal, volume and backup create and a management-store change on a full disk: ERR_RCOPY_NO_SPACE, exit 1, path and hint', { skip: PROBE ?? false }, async (h) => {
  const mounts = mountsOf(h);
  const m = mountSmall(h.dir, 40);
  assert.ok(!('why' in m), 'mounted');
  mounts.push(m);
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:src', '--size', '8M');
  await h.ok('volume', 'create', 'A:bk', '--size', '8M');
  await h.ok('io', 'write', 'A:src', '--offset', '0', '--pattern', 'random', '--length', '4M', '--seed', '1');
  const clean = (r: { stderr: string }): void => {
    assert.doesNotMatch(r.stderr, /INTERNAL|bug in rcopy|\n\s+at /, `no internal error: ${r.stderr}`);
    assert.match(r.stderr, /hint: .*free/i, `a hint: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(h.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `a path: ${r.stderr}`);
  };
  // array create runs in the CLI itself: mapped there too, and it leaves nothing behind
  fill(h.dir);
  clean(await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'array', 'create', 'B'));
  assert.ok(!fs.existsSync(arrayDirOf(h, 'B')), 'a failed array create leaves no directory');
  fill(h.dir);
  clean(await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'journal', 'create', 'A:j', '--size', '8M'));
  fill(h.dir);
  clean(await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'backup', 'create', 'A:src', '--to', 'A:bk'));
  fill(h.dir);
  clean(await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'volume', 'create', 'A:more', '--size', '64M'));
  // a change of the management store (SQLite: SQLITE_FULL)
  fill(h.dir);
  clean(await h.fails(1, 'ERR_RCOPY_NO_SPACE', 'stats', 'define', 'A:prod', '--volumes', 'src'));
  // the controller is still there and works once space is free
  unfill(h.dir);
  await h.ok('array', 'create', 'B');
  await h.ok('journal', 'create', 'A:j', '--size', '8M');
  await h.ok('backup', 'create', 'A:src', '--to', 'A:bk');
  await assertEqual(h, 'A:src', 'A:bk');
});

/** The error a real call throws (the call must fail). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('the call did not fail');
}

test('file-system and SQLite errors map to NO_SPACE / IO / ACCESS with the path, the array and a hint; others stay internal', { skip: PROBE ?? false }, () => {
  const d = tmpDir('rcopy-errmap-');
  const m = mountSmall(d, 1);
  assert.ok(!('why' in m), 'mounted');
  try {
    const check = (e: unknown, code: string, sys: RegExp, hint: RegExp, file?: string): void => {
      const r = storageError(e, { array: 'A', path: '/the/array', store: '/the/array/mgmt.db' });
      assert.ok(r, `mapped: ${String(e)}`);
      assert.equal(r.code, code);
      assert.equal(r.exitCode, 1);
      assert.match(r.message, sys);
      assert.match(r.message, /array 'A'/);
      if (file) assert.ok(r.message.includes(file), `${r.message} names ${file}`);
      assert.match(r.hint ?? '', hint);
    };
    // ENOSPC from a real full file system, and SQLITE_FULL from SQLite on it
    const db = new Database(path.join(d, 'm.db'));
    db.exec('CREATE TABLE t (b BLOB)');
    fill(d);
    // (a write through a handle carries no path: the fallback, the array directory, is named)
    check(
      thrown(() => fs.writeFileSync(path.join(d, 'more'), Buffer.alloc(65536))),
      'ERR_RCOPY_NO_SPACE',
      /write: ENOSPC/,
      /free space/,
      '/the/array',
    );
    check(
      thrown(() => db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(256 * 1024))),
      'ERR_RCOPY_NO_SPACE',
      /SQLITE_FULL/,
      /free space/,
      '/the/array/mgmt.db',
    );
    db.close();
    unfill(d);
    // SQLITE_READONLY, EROFS (a read-only mount), EPERM: ACCESS
    const ro = new Database(path.join(d, 'm.db'), { readonly: true });
    check(
      thrown(() => ro.exec('INSERT INTO t VALUES (1)')),
      'ERR_RCOPY_ACCESS',
      /SQLITE_READONLY/,
      /owner and mode/,
    );
    ro.close();
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', d]).status, 0, 'remounted read-only');
    check(
      thrown(() => fs.writeFileSync(path.join(d, 'x'), 'x')),
      'ERR_RCOPY_ACCESS',
      /EROFS/,
      /read-only/,
      path.join(d, 'x'),
    );
    check(
      thrown(() => fs.rmdirSync('/proc/1')),
      'ERR_RCOPY_ACCESS',
      /EPERM/,
      /owner and mode/,
      '/proc/1',
    );
    // EIO: a read of an unmapped address through /proc/self/mem; a handle's error has no path: the fallback names one
    const fd = fs.openSync('/proc/self/mem', 'r');
    try {
      check(
        thrown(() => fs.readSync(fd, Buffer.alloc(16), 0, 16, 0)),
        'ERR_RCOPY_IO',
        /read: EIO/,
        /check the disk/,
        '/the/array',
      );
    } finally {
      fs.closeSync(fd);
    }
    // anything else is not a storage error: a bug stays a bug
    assert.equal(storageError(thrown(() => fs.readFileSync(path.join(d, 'absent')))), null);
    assert.equal(toRcopyError(new TypeError('x')).code, 'ERR_RCOPY_INTERNAL');
  } finally {
    m.umount();
    fs.rmSync(d, { recursive: true, force: true });
  }
});
