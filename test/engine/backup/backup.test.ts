/** The backup engine in-process: undo files, generations, copy-on-write, usage checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import { BackupManager, parseBackupId } from '../../../src/engine/backup/manager.js';
import { TrackSums, imageChecksum, trackHash } from '../../../src/engine/backup/image.js';
import { UndoFile } from '../../../src/engine/backup/undo.js';
import { Rng } from '../../../src/engine/array/workload.js';
import { RcopyError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers.js';

const TS = 64 * 1024;
const SIZE = 4 * 1024 * 1024;

function rnd(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  new Rng(seed).fill(b);
  return b;
}

async function withArray(fn: (a: StorageArray, m: BackupManager, img: Buffer) => Promise<void>): Promise<void> {
  const dir = tmpDir('rcopy-bk-');
  const a = await StorageArray.create(path.join(dir, 'a'), { name: 'a', durability: 'none', trackSize: TS });
  const m = new BackupManager(a);
  try {
    await a.createVolume('src', SIZE);
    await a.createVolume('bk', SIZE);
    await a.createVolume('r', SIZE);
    await m.start();
    const img = Buffer.alloc(SIZE); // what the source holds
    await fn(a, m, img);
  } finally {
    await m.stop();
    await a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function put(a: StorageArray, img: Buffer, off: number, data: Buffer): Promise<void> {
  await a.write('src', off, data, 'host');
  data.copy(img, off);
}

async function readAll(a: StorageArray, vol: string): Promise<Buffer> {
  return a.read(vol, 0, SIZE);
}

test('undo file: first record wins, a torn tail is cut, a bad header is refused', async () => {
  const dir = tmpDir('rcopy-undo-');
  try {
    const f = path.join(dir, 'x.undo');
    const u = await UndoFile.open(f, 4096, { create: true });
    assert.equal(await u.save(3, Buffer.alloc(4096, 1)), true);
    assert.equal(await u.save(3, Buffer.alloc(4096, 2)), false);
    await u.save(7, Buffer.alloc(4096, 3));
    await u.save(9, Buffer.alloc(4096, 4));
    await u.sync();
    await u.close();
    fs.truncateSync(f, fs.statSync(f).size - 100); // the last record is torn
    const v = await UndoFile.open(f, 4096);
    assert.deepEqual(
      [...v.tracks()].sort((x, y) => x - y),
      [3, 7],
    );
    assert.equal((await v.read(3))[0], 1);
    assert.equal((await v.read(7))[4095], 3);
    await v.close();
    const b = fs.readFileSync(f);
    b[5] = b[5]! ^ 0xff;
    fs.writeFileSync(f, b);
    await assert.rejects(UndoFile.open(f, 4096), (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_INTEGRITY');
    await assert.rejects(UndoFile.open(path.join(dir, 'missing.undo'), 4096), /missing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('backup ids', () => {
  assert.deepEqual(parseBackupId('siteB:bk-000012'), { array: 'siteB', number: 12 });
  assert.deepEqual(parseBackupId('bk-7'), { number: 7 });
  assert.deepEqual(parseBackupId('42'), { number: 42 });
  assert.throws(() => parseBackupId('bk-0'), /not a backup id/);
  assert.throws(() => parseBackupId('x:y:bk-1'), /not a backup id/);
});

test('generations: each one restores exactly after later ones, rotation and deletion merge undo data', async () => {
  await withArray(async (a, m, img) => {
    const images: Buffer[] = [];
    const ids: number[] = [];
    await put(a, img, 0, rnd(1, 1024 * 1024));
    for (let g = 0; g < 5; g++) {
      const b = await m.create({ source: 'src', target: 'bk', incremental: g % 2 === 1 });
      assert.equal(b.checksum, imageChecksum(img, TS), `generation ${g + 1} checksum`);
      images.push(Buffer.from(img));
      ids.push(b.number);
      // change a few tracks, some of them again and again
      await put(a, img, ((g * 3) % 16) * TS, rnd(10 + g, 2 * TS));
      await put(a, img, 5 * TS + 100, rnd(20 + g, 1000));
      if (g === 2) await put(a, img, 0, Buffer.alloc(3 * TS)); // zeros over data
    }
    for (let i = 0; i < ids.length; i++) {
      const r = await m.restore(ids[i]!, 'r');
      assert.equal(r.matches, true, `restore of generation ${i + 1}`);
      assert.ok((await readAll(a, 'r')).equals(images[i]!), `image of generation ${i + 1}`);
      assert.equal((await m.verify(ids[i]!)).ok, true);
    }
    // delete the middle ones, then rotate to 2: the rest stay exact
    await m.remove(ids[2]!);
    await m.remove(ids[1]!);
    const b6 = await m.create({ source: 'src', target: 'bk', incremental: true, keep: 2 });
    images.push(Buffer.from(img));
    ids.push(b6.number);
    const left = m
      .list()
      .filter((b) => b.state === 'good')
      .map((b) => b.number);
    assert.deepEqual(left, [ids[4], ids[5]]);
    for (const i of [4, 5]) {
      await m.restore(ids[i]!, 'r');
      assert.ok((await readAll(a, 'r')).equals(images[i]!), `image of generation ${i + 1} after deletes`);
    }
    assert.equal(fs.readdirSync(path.join(a.dir, 'backups')).filter((f) => f.endsWith('.undo')).length <= 1, true, 'undo files of removed generations are gone');
  });
});

test('copy-on-write: writes issued while the backup runs are not in it, and are in the next incremental', async () => {
  await withArray(async (a, m, img) => {
    await put(a, img, 0, rnd(3, SIZE));
    const before = Buffer.from(img);
    const running = m.create({ source: 'src', target: 'bk', rate: 2 * 1024 * 1024 });
    await new Promise((r) => setTimeout(r, 300));
    const writes = [put(a, img, SIZE - 2 * TS, rnd(4, 2 * TS)), put(a, img, SIZE / 2 + 10, rnd(5, 100)), put(a, img, 0, rnd(6, 10))];
    await Promise.all(writes);
    const b = await running;
    assert.ok(b.cowTracks >= 3, `cow tracks ${b.cowTracks}`);
    assert.equal(b.checksum, imageChecksum(before, TS));
    await m.restore(b.number, 'r');
    assert.ok((await readAll(a, 'r')).equals(before));
    const inc = await m.create({ source: 'src', target: 'bk', incremental: true });
    assert.equal(inc.tracksCopied, 4);
    assert.equal(inc.checksum, imageChecksum(img, TS));
  });
});

test('a pair use: the target is refused, the restore is refused naming the pair, an S-VOL source records the pair', async () => {
  await withArray(async (a, m, img) => {
    await a.createVolume('svol', SIZE);
    a.usageProviders.push((v) =>
      v.name === 'svol' ? [{ kind: 'pair', id: 'siteA:db->siteB:svol', role: 'S-VOL', state: 'PAIR', active: true, detail: { pair: 'siteA:db->siteB:svol', restoredSeq: 42 } }] : [],
    );
    await put(a, img, 0, rnd(7, TS));
    await assert.rejects(m.create({ source: 'src', target: 'svol' }), (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_VOLUME_IN_USE' && e.message.includes('siteA:db->siteB:svol'));
    assert.equal(m.list().length, 0);
    await a.write('svol', 0, rnd(8, TS), 'restore');
    const b = await m.create({ source: 'svol', target: 'bk', info: { app: 'db' } });
    assert.deepEqual(b.replica, { pair: 'siteA:db->siteB:svol', role: 'S-VOL', state: 'PAIR', restoredSeq: 42 });
    await assert.rejects(m.restore(b.number), (e: unknown) => e instanceof RcopyError && e.message.includes('pair siteA:db->siteB:svol') && e.message.includes('S-VOL'));
    const uses = a.usesOf('bk');
    assert.equal(uses[0]?.kind, 'backup-target');
    assert.equal(uses[0]?.active, true);
  });
});

test('an incremental writes the digests of the tracks it copied in place, and they name a damaged track', async () => {
  await withArray(async (a, m, img) => {
    await put(a, img, 0, rnd(31, 2 * 1024 * 1024));
    await m.create({ source: 'src', target: 'bk' });
    const sumsFile = path.join(a.dir, 'backups', 'chain-1.sums');
    const inode = fs.statSync(sumsFile).ino;
    await put(a, img, 3 * TS, rnd(32, TS));
    await put(a, img, 40 * TS, rnd(33, 2 * TS));
    const inc = await m.create({ source: 'src', target: 'bk', incremental: true });
    assert.equal(inc.kind, 'incremental');
    assert.equal(inc.checksum, imageChecksum(img, TS));
    assert.equal(fs.statSync(sumsFile).ino, inode, 'updated in place, not rewritten whole');
    // the recorded digests match the image: verify names exactly the track damaged behind its back
    const fd = fs.openSync(a.volume('bk').imagePath, 'r+');
    fs.writeSync(fd, Buffer.alloc(100, 0xee), 0, 100, 41 * TS + 5);
    fs.closeSync(fd);
    const v = await m.verify(inc.number);
    assert.equal(v.ok, false);
    assert.deepEqual(v.badOffsets, [41 * TS]);
  });
});

test('digests: the root of a map with zero entries and of an unaligned buffer, a span written in place, several undo records in one append', async () => {
  const ts = 4096;
  // tracks 2-4 and 7 never written (zero entries): the root is the checksum of the image
  const img = rnd(41, 10 * ts);
  img.fill(0, 2 * ts, 5 * ts);
  img.fill(0, 7 * ts, 8 * ts);
  const sums = new TrackSums(10, ts);
  for (const t of [0, 1, 5, 6, 8, 9]) sums.set(t, trackHash(img.subarray(t * ts, (t + 1) * ts)));
  assert.equal(sums.root(), imageChecksum(img, ts));
  const raw = Buffer.alloc(sums.buf.length + 3);
  sums.buf.copy(raw, 3);
  assert.equal(new TrackSums(10, ts, raw.subarray(3)).root(), imageChecksum(img, ts), 'a buffer at an odd offset');
  const dir = tmpDir('rcopy-sums-');
  try {
    const f = path.join(dir, 'chain-1.sums');
    await sums.save(f, false);
    const loaded = (await TrackSums.load(f, 10, ts))!;
    loaded.set(1, trackHash(rnd(42, ts)));
    loaded.set(8, trackHash(rnd(43, ts)));
    await loaded.save(f, true); // in place: the span 1..8, the entries between unchanged
    assert.deepEqual(fs.readFileSync(f), loaded.buf);
    assert.equal((await TrackSums.load(f, 10, ts))!.root(), loaded.root());
    const u = await UndoFile.open(path.join(dir, 'x.undo'), ts, { create: true });
    assert.equal(
      await u.saveMany([
        [5, Buffer.alloc(ts, 5)],
        [1, Buffer.alloc(ts, 1)],
        [5, Buffer.alloc(ts, 6)],
      ]),
      2,
    );
    assert.equal(await u.saveMany([[1, Buffer.alloc(ts, 7)]]), 0, 'a track saved already');
    await u.close();
    const v = await UndoFile.open(path.join(dir, 'x.undo'), ts);
    assert.deepEqual([(await v.read(5))[0], (await v.read(1))[ts - 1], v.count], [5, 1, 2]);
    await v.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
