/**
 * Journal damage never costs an acknowledged write (issue 15): every byte of a record header and
 * bytes of data in pending records are flipped in a journal file; recovery names the record and
 * the reason, never takes the damage for free space, and the restart never puts older data over
 * newer on the P-VOL. The primary runs as in a controller: a StorageArray and its Replicator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import { JournalFile, recordSize } from '../../../src/engine/journal/journal-file.js';
import { Replicator } from '../../../src/engine/repl/replicator.js';
import type { PairRow } from '../../../src/engine/repl/repl-store.js';
import { spawn } from 'node:child_process';
import { RcopyError } from '../../../src/errors.js';
import { ROOT, waitFor, withDir } from '../../helpers.js';

const DATA_START = 8192;
const KiB = 1024;
const MiB = 1024 * 1024;
const REC = recordSize(4 * KiB); // every write below is 4 KiB: record k (from 1) is at DATA_START + (k-1) * REC

function flip(file: string, at: number, mask = 0xff): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ mask;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
}

function pairRow(over: Partial<PairRow>): PairRow {
  return {
    id: 'A:v',
    role: 'P',
    localVol: 'v',
    remoteArray: 'B',
    remoteVol: 'v',
    localJournal: 'j1',
    remoteJournal: 'j2',
    groupName: 'g',
    mode: 'async',
    state: 'PAIR',
    stateSince: Date.now(),
    reason: null,
    copyDone: 0,
    copyTotal: 0,
    resyncing: false,
    imageTime: null,
    writable: false,
    splitSeq: null,
    nocopy: false,
    created: Date.now(),
    copied: false,
    initialDone: true,
    syncTimeoutMs: 5000,
    fence: 'never',
    ...over,
  };
}

interface Site {
  a: StorageArray;
  r: Replicator;
  logs: string[];
}

async function startSite(dir: string): Promise<Site> {
  const a = await StorageArray.open(dir);
  const logs: string[] = [];
  const r = new Replicator(
    a,
    async () => {
      throw new Error('no peer in this test');
    },
    (m) => logs.push(m),
  );
  await r.start();
  return { a, r, logs };
}

async function stopSite(s: Site): Promise<void> {
  await s.r.stop();
  await s.a.close();
}

/** Array A with a 4 MiB P-VOL v in PAIR, master journal j1 (the peer is never called). */
async function primary(dir: string): Promise<Site> {
  await (await StorageArray.create(dir, { name: 'A', trackSize: 64 * KiB })).close();
  const s = await startSite(dir);
  await s.a.createVolume('v', 4 * MiB);
  await s.r.journals.createJournal('j1', 2 * MiB);
  s.r.records.rs.updateJournal('j1', { role: 'master', peerArray: 'B', peerJournal: 'j2' });
  s.r.records.rs.addPair(pairRow({}));
  s.r.records.invalidate();
  return s;
}

const fill = (byte: number) => Buffer.alloc(4 * KiB, byte);

/** The writes, each acknowledged: 0x11 then 0x22 at offset 0 (records 1 and 2), 0x33 at 64 KiB (record 3). */
async function writeThree(s: Site): Promise<void> {
  await s.a.write('v', 0, fill(0x11));
  await s.a.write('v', 0, fill(0x22));
  await s.a.write('v', 64 * KiB, fill(0x33));
  assert.equal(s.r.journals.journal('j1').stats().entries, 3);
}

async function checkRestart(tpl: string, dir: string, at: number, what: string, opts: { expectSeq: number; crash?: boolean }): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(tpl, dir, { recursive: true });
  const jfile = path.join(dir, 'journals', 'j1.jnl');
  flip(jfile, at);
  const s = await startSite(dir);
  try {
    const v0 = await s.a.read('v', 0, 4 * KiB);
    assert.ok(v0.equals(fill(0x22)), `${what}: the P-VOL lost the acknowledged 0x22 (reads 0x${v0[0]!.toString(16)})`);
    assert.ok((await s.a.read('v', 64 * KiB, 4 * KiB)).equals(fill(0x33)), `${what}: 0x33 at 64 KiB`);
    const rec = s.r.journals.journal('j1').recovery;
    assert.ok(rec.damaged?.length, `${what}: damage not detected (${JSON.stringify(rec)})`);
    const d = rec.damaged![0]!;
    assert.equal(d.seq, opts.expectSeq, `${what}: named seq ${d.seq}: ${rec.reason}`);
    assert.match(rec.reason ?? '', new RegExp(`record seq ${opts.expectSeq} at \\d+: `), what);
    const p = s.r.records.pair('A:v');
    assert.equal(p.state, 'PSUE', what);
    assert.match(p.reason ?? '', new RegExp(`journal damaged \\(j1\\): record seq ${opts.expectSeq}`), what);
    // every allocated track goes to the resync
    assert.equal((await s.r.files.bitmap(p)).count(), s.a.volume('v').alloc.count(), what);
  } finally {
    await stopSite(s);
  }
}

test('a flip in any byte of a record header, or in its data, after a clean stop: named, PSUE, and the P-VOL keeps the newest data', async () => {
  await withDir('rcopy-jdamage-', async (root) => {
    const tpl = path.join(root, 'tpl');
    const s = await primary(tpl);
    await writeThree(s);
    await stopSite(s);
    const dir = path.join(root, 'A');
    // record 2 (0x22 over 0x11): every header byte, then bytes of its data
    const r2 = DATA_START + REC;
    for (let b = 0; b < 80; b++) await checkRestart(tpl, dir, r2 + b, `header byte ${b} of record 2`, { expectSeq: 2 });
    for (const b of [80, 81, 2000, 80 + 4095]) await checkRestart(tpl, dir, r2 + b, `data byte ${b - 80} of record 2`, { expectSeq: 2 });
    // the last record (nothing follows it: only the header slot tells that it must be there)
    const r3 = DATA_START + 2 * REC;
    for (const b of [0, 4, 7, 8, 15, 16, 23, 48, 60, 68, 70, 72, 75, 79, 100]) await checkRestart(tpl, dir, r3 + b, `byte ${b} of record 3`, { expectSeq: 3 });
  });
});

test('after a crash: only entries the volume may lack are re-applied, never one that a later damaged record could overlap', async () => {
  await withDir('rcopy-jdamage-', async (root) => {
    const tpl = path.join(root, 'tpl');
    const s = await primary(tpl);
    try {
      await writeThree(s);
      // a crash now: the files as they are (the controller never closed them)
      fs.cpSync(tpl, path.join(root, 'crashed'), { recursive: true });
    } finally {
      await stopSite(s);
    }
    const crashed = path.join(root, 'crashed');
    const dir = path.join(root, 'A');
    // record 2 damaged (header or data): record 1 (0x11) must not be re-applied over 0x22
    for (const b of [4, 9, 17, 73, 200]) await checkRestart(crashed, dir, DATA_START + REC + b, `crash, byte ${b} of record 2`, { expectSeq: 2 });

    // the volume lost the last write (it was only in the page cache at a power loss): the
    // journal has it and no damage comes after it, so it is re-applied
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(crashed, dir, { recursive: true });
    const img = fs.readdirSync(path.join(dir, 'volumes')).find((n) => n.endsWith('.img'))!;
    const fd = fs.openSync(path.join(dir, 'volumes', img), 'r+');
    fs.writeSync(fd, Buffer.alloc(4 * KiB), 0, 4 * KiB, 64 * KiB);
    fs.closeSync(fd);
    flip(path.join(dir, 'journals', 'j1.jnl'), DATA_START + REC + 300); // and record 2 damaged
    const t = await startSite(dir);
    try {
      assert.ok((await t.a.read('v', 64 * KiB, 4 * KiB)).equals(fill(0x33)), 'record 3 (after the damage) is re-applied');
      assert.ok((await t.a.read('v', 0, 4 * KiB)).equals(fill(0x22)), 'record 1 (before the damage) is not');
      assert.equal(t.r.records.pair('A:v').state, 'PSUE');
    } finally {
      await stopSite(t);
    }
  });
});

test('a clean stop leaves nothing to re-apply; a crash re-applies only what came after the last checkpoint', async () => {
  await withDir('rcopy-jdamage-', async (root) => {
    const tpl = path.join(root, 'tpl');
    const s = await primary(tpl);
    const j = s.r.journals.journal('j1');
    try {
      await writeThree(s);
      await j.release(1); // the secondary restored seq 1: a checkpoint, then the release
      assert.equal(j.durableSeq, 3, 'the checkpoint covers every entry written before it');
      await s.a.write('v', 128 * KiB, fill(0x44)); // seq 4, after the checkpoint
      fs.cpSync(tpl, path.join(root, 'crashed'), { recursive: true });
    } finally {
      await stopSite(s);
    }
    // clean stop: no redo at all, nothing damaged, the group stays PAIR
    const c = await startSite(tpl);
    try {
      assert.equal(c.r.journals.journal('j1').recovery.reason, undefined);
      assert.equal(c.r.journals.journal('j1').durableSeq, 4);
      assert.ok(!c.logs.some((l) => /re-applied/.test(l)), c.logs.join('\n'));
      assert.equal(c.r.records.pair('A:v').state, 'PAIR');
      assert.deepEqual(
        (await c.r.journals.journal('j1').read(0)).map((e) => e.seq),
        [2, 3, 4],
      );
    } finally {
      await stopSite(c);
    }
    // crash: seqs 2 and 3 were checkpointed (kept until the secondary restores them), only 4 is re-applied
    const k = await startSite(path.join(root, 'crashed'));
    try {
      assert.equal(k.r.journals.journal('j1').recovery.reason, undefined);
      assert.ok(
        k.logs.some((l) => /re-applied 1 entries after seq 3/.test(l)),
        k.logs.join('\n'),
      );
      assert.ok((await k.a.read('v', 128 * KiB, 4 * KiB)).equals(fill(0x44)));
      assert.equal(k.r.records.pair('A:v').state, 'PAIR');
    } finally {
      await stopSite(k);
    }
  });
});

test('a restore journal with a damaged record: named, nothing past it is kept, it pulls again from the restored seq', async () => {
  await withDir('rcopy-jdamage-', async (root) => {
    const dir = path.join(root, 'B');
    await (await StorageArray.create(dir, { name: 'B', trackSize: 64 * KiB })).close();
    const s = await startSite(dir);
    try {
      await s.a.createVolume('v', 4 * MiB);
      await s.r.journals.createJournal('j2', 2 * MiB);
      s.r.records.rs.updateJournal('j2', { role: 'restore', peerArray: 'A', peerJournal: 'j1', restoredSeq: 11 });
      s.r.records.rs.addPair(pairRow({ id: 'A:v', role: 'S', remoteArray: 'A', localJournal: 'j2', remoteJournal: 'j1' }));
      s.r.records.invalidate();
      const vid = s.a.volume('v').id;
      // pulled entries 11..15, 11 already restored
      await s.r.journals.journal('j2').append([11, 12, 13, 14, 15].map((seq) => ({ seq, volumeId: vid, offset: 0, data: fill(seq) })));
    } finally {
      await stopSite(s);
    }
    for (const at of [DATA_START + 3 * REC + 16, DATA_START + 3 * REC + 5, DATA_START + 3 * REC + 1000]) {
      const copy = path.join(root, `B-${at}`);
      fs.cpSync(dir, copy, { recursive: true });
      flip(path.join(copy, 'journals', 'j2.jnl'), at); // record of seq 14
      const t = await startSite(copy);
      try {
        const j = t.r.journals.journal('j2');
        assert.equal(j.recovery.damaged?.[0]?.seq, 14, j.recovery.reason);
        assert.match(j.recovery.reason ?? '', /record seq 14 at \d+: /);
        assert.equal(j.lastSeq, 11, 'the next pull asks after the restored seq');
        assert.equal(j.stats().entries, 0);
        assert.deepEqual(await j.read(0), []);
        assert.ok((await t.a.read('v', 0, 4 * KiB)).equals(Buffer.alloc(4 * KiB)), 'nothing was applied');
        // the entries come again with the same seqs
        await j.append([12, 13, 14].map((seq) => ({ seq, volumeId: t.a.volume('v').id, offset: 0, data: fill(seq) })));
      } finally {
        await stopSite(t);
      }
      const again = await JournalFile.open(path.join(copy, 'journals', 'j2.jnl'));
      try {
        assert.equal(again.recovery.reason, undefined);
        assert.deepEqual(
          (await again.read(0)).map((e) => e.seq),
          [12, 13, 14],
        );
      } finally {
        await again.close();
      }
    }
  });
});

test('JournalFile: damage in the middle is told from the end by the record that follows, also after a crash', async () => {
  await withDir('rcopy-jdamage-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const j = await JournalFile.create(file, 1 * MiB);
    for (let s = 1; s <= 6; s++) await j.append([{ volumeId: 1, offset: s * 4096, data: fill(s) }]);
    await j.sync();
    const crashed = fs.readFileSync(file); // the header slot knows nothing of seqs 1..6
    await j.close();
    for (const b of [4, 8, 16, 48, 72]) {
      fs.writeFileSync(file, crashed);
      flip(file, DATA_START + 2 * REC + b); // seq 3's magic, salt, seq, position, epoch
      const k = await JournalFile.open(file);
      try {
        assert.equal(k.recovery.records, 2, `byte ${b}`);
        assert.deepEqual(
          k.recovery.damaged?.map((d) => [d.seq, d.end]),
          [[3, undefined]],
          `byte ${b}: ${k.recovery.reason}`,
        );
        const redo: number[] = [];
        await k.redo(async (batch) => void redo.push(...batch.map((e) => e.seq)));
        assert.deepEqual(redo, [4, 5, 6], `byte ${b}: only what follows the damage`);
        assert.equal(k.lastSeq, 6, 'seqs of damaged and salvaged records are not given out again');
      } finally {
        await k.close();
      }
    }
    // the last record torn (after a crash, nothing tells it was synced): named, marked as at the
    // end, and what came before it is re-applied
    fs.writeFileSync(file, crashed);
    flip(file, DATA_START + 5 * REC + 2000);
    const m = await JournalFile.open(file);
    try {
      assert.deepEqual(
        m.recovery.damaged?.map((d) => [d.seq, d.end]),
        [[6, true]],
      );
      const redo: number[] = [];
      await m.redo(async (batch) => void redo.push(...batch.map((e) => e.seq)));
      assert.deepEqual(redo, [1, 2, 3, 4, 5]);
    } finally {
      await m.close();
    }
  });
});

test('JournalFile.create: refuses what the file system cannot hold, at once; an interrupted create leaves nothing', async () => {
  await withDir('rcopy-jcreate-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const t0 = Date.now();
    await assert.rejects(JournalFile.create(file, 2 ** 50), (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_NO_SPACE' && e.exitCode === 1 && /does not fit/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(fs.readdirSync(dir), []);
    // a process killed while it writes the file (here: a preallocated one, which takes a while)
    const mod = path.join(ROOT, 'dist', 'src', 'engine', 'journal', 'journal-file.js');
    const script = `import { JournalFile } from ${JSON.stringify(mod)};
      await JournalFile.create(${JSON.stringify(file)}, 256 * 1024 * 1024, { preallocate: true });
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    try {
      await waitFor(() => fs.readdirSync(dir).length > 0, 30_000, 5);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // no journal file but a whole one: a file under the journal's name opens
    if (fs.existsSync(file)) await (await JournalFile.open(file)).close();
    await JournalFile.removeLeftovers(dir);
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n !== 'j.jnl'),
      [],
    );
    // and the name can be created again
    fs.rmSync(file, { force: true });
    const j = await JournalFile.create(file, 1024 * 1024);
    await j.close();
    assert.deepEqual(fs.readdirSync(dir), ['j.jnl']);
  });
});

test('JournalFile: a damaged wrap marker is named, and the records after the wrap are still found', async () => {
  await withDir('rcopy-jdamage-', async (dir) => {
    const file = path.join(dir, 'j.jnl');
    const size = recordSize(30 * KiB);
    const j = await JournalFile.create(file, 100 * KiB);
    await j.append([1, 2, 3].map((s) => ({ volumeId: 1, offset: s * 65536, data: Buffer.alloc(30 * KiB, s) })));
    await j.release(2);
    await j.append([4, 5].map((s) => ({ volumeId: 1, offset: s * 65536, data: Buffer.alloc(s === 4 ? 30 * KiB : 20 * KiB, s) }))); // 4 wraps
    await j.sync();
    const crashed = fs.readFileSync(file);
    await j.close();
    for (const b of [0, 4, 8, 16, 48, 68, 72]) {
      fs.writeFileSync(file, crashed);
      flip(file, DATA_START + 3 * size + b); // the wrap marker after seq 3
      const k = await JournalFile.open(file);
      try {
        assert.deepEqual(
          k.recovery.damaged?.map((d) => [d.seq, d.pos, d.end]),
          [[4, DATA_START + 3 * size, undefined]],
          `byte ${b}: ${k.recovery.reason}`,
        );
        assert.match(k.recovery.reason ?? '', /record seq 4 at \d+: (wrap marker: )?(bad crc|damaged header|invalid kind)/);
        assert.deepEqual(
          (await k.read(0)).map((e) => e.seq),
          [3],
        );
        const redo: number[] = [];
        await k.redo(async (batch) => void redo.push(...batch.map((e) => e.seq)));
        assert.deepEqual(redo, [4, 5]);
      } finally {
        await k.close();
      }
    }
  });
});
