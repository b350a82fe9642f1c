/**
 * Bounded work from small traces: a record's numbers never turn into work or memory (an SPC line
 * with a length near 2^48, blkparse sectors near 2^32 tracks), a line without an end is refused with
 * its number (`/dev/zero`), and the paged import gives the same entries as a dense PB table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace, MAX_LINE } from '../../../../src/engine/stats/traces/reader.js';
import { importTrace, MAX_IMPORT_TRACKS } from '../../../../src/engine/stats/traces/import.js';
import { PbTable } from '../../../../src/engine/stats/pb-table.js';
import { encodeEntry } from '../../../../src/engine/stats/store.js';
import { sharedTraces, testdir } from '../helpers.js';

/** Runs fn, returning its result, the time it took and how much the process grew (rss + buffers). */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; grewMB: number }> {
  const before = process.memoryUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  const grew = Math.max(after.rss - before.rss, after.arrayBuffers - before.arrayBuffers);
  return { value, ms, grewMB: grew / 2 ** 20 };
}

function withFile<T>(text: string | Buffer, fn: (path: string) => Promise<T>): Promise<T> {
  const t = testdir();
  const path = join(t.dir, 'trace');
  writeFileSync(path, text);
  return fn(path).finally(() => t.cleanup());
}

const rejectsBadTrace = (line: number) => (e: Error & { code?: string; kind?: string }) => e.code === 'ERR_RCOPY_BAD_TRACE' && e.kind === 'integrity' && new RegExp(`^line ${line}\\b`).test(e.message);

test('an SPC line with a length near 2^48 is one malformed line, in milliseconds (it took 57 s and 1.1 GB)', { timeout: 60_000 }, async () => {
  const text = `0,0,4096,w,0.1\n0,0,${2 ** 48 - 65536},w,0.5\n0,8,4096,w,0.9\n`;
  const r = await withFile(text, (p) => measured(() => importTrace(p, { format: 'spc', intervalMs: 60_000, trackSize: 65536 })));
  assert.ok(r.ms < 2000, `took ${r.ms} ms`);
  assert.ok(r.grewMB < 64, `grew ${r.grewMB} MB`);
  const c = r.value.counters;
  assert.equal(c.writes, 2);
  assert.equal(c.malformed, 1);
  assert.equal(c.firstMalformed?.line, 2);
  assert.match(c.firstMalformed?.reason ?? '', /longer than 268435456 bytes/);
  assert.deepEqual(r.value.devices, [{ name: 'asu0', tracks: 1, trackSize: 65536 }]);
  // strict: the right class (a bad trace, exit 3) naming the line, not an out-of-range or integrity error
  await withFile(text, (p) => assert.rejects(importTrace(p, { format: 'spc', intervalMs: 60_000, strict: true }), rejectsBadTrace(2)));
});

test('blkparse sectors near the 2^32-track limit: refused with the line, memory flat (20 lines took 1.37 GB)', { timeout: 60_000 }, async () => {
  const lines = Array.from({ length: 20 }, (_, i) => `  8,0    3  ${i + 1}  ${i}.5  697  Q   W ${(2 ** 32 - 2 - i) * 128} + 8 [x]`);
  const r = await withFile(lines.join('\n') + '\n', (p) => measured(() => importTrace(p, { format: 'blkparse', intervalMs: 1000, trackSize: 65536 })));
  assert.ok(r.ms < 2000, `took ${r.ms} ms`);
  assert.ok(r.grewMB < 64, `grew ${r.grewMB} MB`);
  assert.equal(r.value.counters.malformed, 20);
  assert.equal(r.value.counters.firstMalformed?.line, 1);
  assert.match(r.value.counters.firstMalformed?.reason ?? '', /larger than 1073741824 tracks/);
  assert.equal(r.value.entries.length, 0);
  await withFile(lines.join('\n'), (p) => assert.rejects(importTrace(p, { format: 'blkparse', intervalMs: 1000, strict: true }), rejectsBadTrace(1)));

  // just under the limit: accepted, and a write at the top track costs a page, not 2^30 bits
  const top = MAX_IMPORT_TRACKS - 2; // with the one track of dev8_99: the limit exactly
  const ok = Array.from({ length: 20 }, (_, i) => `  8,${i}    3  ${i + 1}  ${i}.5  697  Q   W ${top * 128} + 8 [x]`);
  const r2 = await withFile(`  8,99 0 1 0.0 1 Q W 0 + 8 [x]\n${ok[0]}\n`, (p) => measured(() => importTrace(p, { format: 'blkparse', intervalMs: 1000, trackSize: 65536 })));
  assert.ok(r2.grewMB < 64, `grew ${r2.grewMB} MB`);
  assert.equal(r2.value.counters.malformed, 0);
  assert.deepEqual(
    r2.value.devices.map((d) => d.tracks),
    [1, MAX_IMPORT_TRACKS - 1],
  );
  const e = r2.value.entries.find((x) => x.volume === 'dev8_0')!;
  assert.equal(e.count, 1);
  assert.ok(e.data.length < 16, `entry of ${e.data.length} bytes`);
  // twenty devices cannot each be that large: the limit is for all of them together
  const r3 = await withFile(ok.join('\n'), (p) => measured(() => importTrace(p, { format: 'blkparse', intervalMs: 1000, trackSize: 65536 })));
  assert.ok(r3.grewMB < 64, `grew ${r3.grewMB} MB`);
  assert.equal(r3.value.counters.writes, 1);
  assert.equal(r3.value.counters.malformed, 19);
});

test('a record past a given device size is malformed with its line; sizes beyond the import limit are refused', async () => {
  const text = '0,0,4096,w,0\n0,2048,4096,w,1\n1,0,512,r,2\n';
  const r = await withFile(text, (p) => importTrace(p, { format: 'spc', intervalMs: 60_000, trackSize: 65536, deviceSize: 1 << 20 }));
  assert.equal(r.counters.malformed, 1);
  assert.equal(r.counters.firstMalformed?.line, 2);
  assert.match(r.counters.firstMalformed?.reason ?? '', /past the end of device 'asu0' \(1048576 bytes\)/);
  assert.deepEqual(
    r.devices.map((d) => [d.name, d.tracks]),
    [
      ['asu0', 16],
      ['asu1', 16],
    ],
  );
  await withFile(text, (p) => assert.rejects(importTrace(p, { format: 'spc', intervalMs: 60_000, deviceSize: 2 ** 53 - 1 }), { code: 'ERR_RCOPY_OUT_OF_RANGE' }));
});

test('a line longer than 1 MiB is refused with its number, strict or not; /dev/zero ends', { timeout: 60_000 }, async () => {
  const long = `128166410318060999,wdev,1,Write,0,4096,1\n${'9'.repeat(MAX_LINE + 10)}\n128166410318060999,wdev,1,Write,0,4096,1\n`;
  await withFile(long, (p) =>
    assert.rejects(
      readTrace(p, { format: 'msr' }, () => undefined),
      rejectsBadTrace(2),
    ),
  );
  await withFile(long.slice(0, -42), (p) =>
    assert.rejects(
      readTrace(p, { format: 'msr' }, () => undefined),
      rejectsBadTrace(2),
    ),
  );
  // exactly 1 MiB is still a line (malformed, counted)
  const edge = await withFile(`${'x'.repeat(MAX_LINE)}\r\n`, (p) => readTrace(p, { format: 'spc' }, () => undefined));
  assert.equal(edge.counters.malformed, 1);
  const r = await measured(() =>
    readTrace('/dev/zero', { format: 'msr' }, () => undefined).then(
      () => 'ended',
      (e: Error & { code?: string }) => e,
    ),
  );
  assert.ok(r.value instanceof Error && /^line 1: longer than 1048576 bytes/.test(r.value.message), String(r.value));
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.ok(r.grewMB < 64, `grew ${r.grewMB} MB`);
});

test('numbers beyond 2^53, times beyond a Date and overlong device names are malformed, not wrong', async () => {
  const text = [
    '0,99999999999999999999,512,w,0', // LBA not exact
    '0,1,512,w,1e400', // not a number
    `0,1,512,w,${'9'.repeat(400)}`, // time past any Date
    `0,${2 ** 44},512,w,1`, // 2^53 bytes: ends past 2^53
    '0,1,512,w,2', // fine
  ].join('\n');
  const r = await withFile(text, (p) => readTrace(p, { format: 'spc' }, () => undefined));
  assert.equal(r.counters.writes, 1);
  assert.equal(r.counters.malformed, 4);
  const fio = await withFile(`fio version 2 iolog\n/${'d'.repeat(300)} write 0 4096\n/f wait ${'9'.repeat(30)}\n/f write 0 1\n`, (p) => readTrace(p, { format: 'fioiolog' }, () => undefined));
  assert.equal(fio.counters.malformed, 2); // the name; the wait of 10^30 us is a number past 2^53
  assert.equal(fio.counters.writes, 1);
});

test('the paged import gives the entries a dense PB table gives (the real MSR samples, several track sizes)', async () => {
  for (const file of ['wdev_1.csv', 'hm_0_first1000writes.csv']) {
    for (const trackSize of [4096, 65536, 1 << 20]) {
      const r = await importTrace(join(sharedTraces(), file), { format: 'msr', intervalMs: 60_000, trackSize });
      // the same records through PbTable, interval by interval
      const want: ReturnType<typeof encodeEntry>[] = [];
      let t0 = NaN,
        cur = 0;
      const st: { table: PbTable | null } = { table: null };
      const dev = r.devices[0]!;
      await readTrace(join(sharedTraces(), file), { format: 'msr' }, (time, _d, write, offset, length) => {
        if (t0 !== t0) t0 = time;
        const k = Math.floor((time - t0) / 60_000);
        if (k > cur && st.table && st.table.writeCount > 0) want.push(encodeEntry(st.table.snapshot(t0 + cur * 60_000, t0 + (cur + 1) * 60_000)));
        if (k > cur) cur = k;
        st.table ??= new PbTable(dev.name, trackSize, dev.tracks);
        if (write) st.table.mark(offset, length);
      });
      if (st.table && st.table.writeCount > 0) want.push(encodeEntry(st.table.snapshot(t0 + cur * 60_000, t0 + (cur + 1) * 60_000)));
      for (const w of want) w.tracks = dev.tracks;
      assert.equal(r.entries.length, want.length, `${file} ${trackSize}`);
      assert.deepEqual(
        r.entries.map((e) => ({ ...e, data: e.data.toString('hex') })),
        want.map((e) => ({ ...e, data: e.data.toString('hex') })),
        `${file} ${trackSize}`,
      );
    }
  }
});
