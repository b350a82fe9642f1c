import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTrace, TraceParser, type TraceFormat } from '../../../../src/engine/stats/traces/reader.js';
import { testdir } from '../helpers.js';

interface Rec {
  time: number;
  device: string;
  write: boolean;
  offset: number;
  length: number;
}

async function read(text: string | Buffer, format: TraceFormat, opts: { strict?: boolean; name?: string; blkparseAction?: 'Q' | 'C' } = {}) {
  const t = testdir();
  try {
    const path = join(t.dir, opts.name ?? 'trace');
    writeFileSync(path, text);
    const recs: Rec[] = [];
    let devices: string[] = [];
    const res = await readTrace(path, { format, strict: opts.strict, blkparseAction: opts.blkparseAction }, (time, d, write, offset, length) => {
      recs.push({ time, device: String(d), write, offset, length });
    });
    devices = res.devices;
    for (const r of recs) r.device = devices[Number(r.device)]!;
    return { recs, ...res };
  } finally {
    t.cleanup();
  }
}

test('msr: 100 ns ticks since 1601 become epoch ms; device is host_disk; header skipped', async () => {
  const text =
    'Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime\r\n' +
    '128166410318060999,wdev,1,Write,3165323264,4096,1189\r\n' +
    '128166410318061023,wdev,1,Read,3154124800,512,1166\r\n' +
    '128166410418099705,hm,0,Write,0,65536,1143'; // no final newline
  const { recs, counters, devices } = await read(text, 'msr');
  assert.equal(counters.lines, 4);
  assert.equal(counters.writes, 2);
  assert.equal(counters.reads, 1);
  assert.equal(counters.malformed, 0);
  assert.deepEqual(devices, ['wdev_1', 'hm_0']);
  assert.ok(Math.abs(recs[0]!.time - 1172167431806.0999) < 1e-3);
  assert.equal(new Date(Math.floor(recs[0]!.time)).toISOString(), '2007-02-22T18:03:51.806Z');
  assert.deepEqual(
    recs.map((r) => [r.device, r.write, r.offset, r.length]),
    [
      ['wdev_1', true, 3165323264, 4096],
      ['wdev_1', false, 3154124800, 512],
      ['hm_0', true, 0, 65536],
    ],
  );
});

test('blkparse: Q actions only, W in rwbs is a write, sectors of 512 bytes, summary ignored', async () => {
  const text =
    [
      '  8,0    3        1     0.000000000   697  Q   W 223490 + 8 [kjournald]',
      '  8,0    3        2     0.000001000   697  G   W 223490 + 8 [kjournald]',
      '  8,0    3        3     0.000009000   697  C   W 223490 + 8 [0]',
      '  8,16   0        4     1.500000000   700  Q  RA 100 + 16 [cat]',
      '  8,16   0        5     2.250000000   700  Q  WS 0 + 1 [sync]',
      '  8,0    1        6     2.500000000   701  Q FWS [jbd2/sda1-8]',
      '  8,0    1        7     2.600000000   701  Q  DS 1000 + 2048 [fstrim]',
      '',
      'CPU0 (sda):',
      ' Reads Queued:           0,        0KiB\t Writes Queued:           1,        4KiB',
      'Total (sda):',
    ].join('\n') + '\n';
  const { recs, counters, devices } = await read(text, 'blkparse');
  assert.deepEqual(devices, ['dev8_0', 'dev8_16']);
  assert.equal(counters.malformed, 0, JSON.stringify(counters.firstMalformed));
  assert.equal(counters.writes, 2);
  assert.equal(counters.reads, 1);
  assert.equal(counters.other, 4); // G, C, flush, discard
  assert.deepEqual(
    recs.map((r) => [r.time, r.device, r.write, r.offset, r.length]),
    [
      [0, 'dev8_0', true, 223490 * 512, 4096],
      [1500, 'dev8_16', false, 51200, 8192],
      [2250, 'dev8_16', true, 0, 512],
    ],
  );
  const c = await read(text, 'blkparse', { blkparseAction: 'C' });
  assert.equal(c.counters.writes, 1);
  assert.ok(Math.abs(c.recs[0]!.time - 0.009) < 1e-12);
});

test('spc: ASU,LBA,Size,Opcode,Timestamp with LBA in 512-byte blocks', async () => {
  const text = '0,303567,3584,w,0.000000\n1,55590,3072,r,0.000000\n0,1,512,W,1.250,extra\n';
  const { recs, counters, devices } = await read(text, 'spc');
  assert.deepEqual(devices, ['asu0', 'asu1']);
  assert.equal(counters.writes, 2);
  assert.equal(counters.reads, 1);
  assert.deepEqual(
    recs.map((r) => [r.time, r.device, r.write, r.offset, r.length]),
    [
      [0, 'asu0', true, 303567 * 512, 3584],
      [0, 'asu1', false, 55590 * 512, 3072],
      [1250, 'asu0', true, 512, 512],
    ],
  );
});

test('fio iolog v2: time from wait lines; v3: leading timestamp in ms', async () => {
  const v2 = 'fio version 2 iolog\n/dev/sdb add\n/dev/sdb open\n/dev/sdb write 0 4096\n/dev/sdb wait 1500000\n/dev/sdb read 8192 4096\n/dev/sdb write 65536 131072\n/dev/sdb close\n';
  const a = await read(v2, 'fioiolog');
  assert.deepEqual(a.devices, ['/dev/sdb']);
  assert.equal(a.counters.malformed, 0, JSON.stringify(a.counters.firstMalformed));
  assert.equal(a.counters.other, 4);
  assert.deepEqual(
    a.recs.map((r) => [r.time, r.write, r.offset, r.length]),
    [
      [0, true, 0, 4096],
      [1500, false, 8192, 4096],
      [1500, true, 65536, 131072],
    ],
  );
  const v3 = 'fio version 3 iolog\n0 /dev/sdc add\n0 /dev/sdc open\n12 /dev/sdc write 4096 4096\n70000 /dev/sdc write 0 512\n70001 /dev/sdc close\n';
  const b = await read(v3, 'fioiolog');
  assert.deepEqual(
    b.recs.map((r) => [r.time, r.device, r.write, r.offset]),
    [
      [12, '/dev/sdc', true, 4096],
      [70000, '/dev/sdc', true, 0],
    ],
  );
  const nohead = await read('/f write 0 1\n', 'fioiolog');
  assert.equal(nohead.counters.writes, 1);
});

test('garbage and negative sizes are counted as malformed, never fatal unless strict', async () => {
  const text =
    '128166410318060999,wdev,1,Write,0,4096,1\ngarbage here\n128166410318060999,wdev,1,Write,0,-4096,1\n128166410318060999,wdev,1,Write,-1,4096,1\n128166410318060999,wdev,1,Flush,0,4096,1\n128166410318060999,wdev,1,Write,x,4096,1\n128166410318060999,wdev,1\n';
  const { counters } = await read(text, 'msr');
  assert.equal(counters.writes, 1);
  assert.equal(counters.malformed, 6);
  assert.deepEqual(counters.firstMalformed, { line: 2, text: 'garbage here' });
  await assert.rejects(read(text, 'msr', { strict: true }), (e: Error & { code?: string }) => e.code === 'ERR_RCOPY_BAD_TRACE' && /line 2/.test(e.message));
  const blk = await read('8,0 0 1 0.1 5 Q W -5 + 8 [x]\n8,0 0 1 0.1 5 Q W 5 + -8 [x]\n', 'blkparse');
  assert.equal(blk.counters.malformed, 2);
  const spc = await read('0,-1,512,w,0\n0,1,512,q,0\n', 'spc');
  assert.equal(spc.counters.malformed, 2);
  const fio = await read('fio version 2 iolog\n/f write 0 -1\n/f jump 0 1\n', 'fioiolog');
  assert.equal(fio.counters.malformed, 2);
  await assert.rejects(read('fio version 2 iolog\n/f write 0 1\n/f write x 1\n', 'fioiolog', { strict: true }), /line 3/);
});

test('gzip is detected by magic; a truncated gzip is reported as ERR_RCOPY_BAD_TRACE', async () => {
  const lines = Array.from({ length: 20000 }, (_, i) => `${128166410318061000 + i * 10000},wdev,1,Write,${i * 4096},4096,1`).join('\n') + '\n';
  const gz = gzipSync(lines);
  const ok = await read(gz, 'msr', { name: 'trace.csv.gz' });
  assert.equal(ok.gzip, true);
  assert.equal(ok.counters.writes, 20000);
  await assert.rejects(read(gz.subarray(0, Math.floor(gz.length / 2)), 'msr', { name: 'cut.gz' }), (e: Error & { code?: string }) => e.code === 'ERR_RCOPY_BAD_TRACE' && /gzip/.test(e.message));
  await assert.rejects(
    readTrace('/nonexistent/trace', { format: 'msr' }, () => {}),
    { code: 'ERR_RCOPY_BAD_TRACE' },
  );
});

test('lines split across chunks are parsed whole', () => {
  const recs: number[] = [];
  const p = new TraceParser({ format: 'spc' }, (_t, _d, _w, off) => {
    recs.push(off);
  });
  const text = Buffer.from('0,1,512,w,0\n0,2,512,w,0\n0,3,512,w,0\n');
  for (let i = 0; i < text.length; i += 5) p.push(text.subarray(i, i + 5));
  p.end();
  assert.deepEqual(recs, [512, 1024, 1536]);
  assert.equal(p.counters.malformed, 0);
});

test('a trace mixing more devices than the parser keeps keys of names each record right', async () => {
  // 20 devices in turn, then back and forth: the raw keys kept are overwritten in turn
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    const d = i < 100 ? i % 20 : (i * 7) % 20;
    lines.push(`${12816641031806 + i}0000,h${d},${d % 3},Write,${i * 4096},4096,1`);
  }
  const r = await read(lines.join('\n') + '\n', 'msr');
  assert.equal(r.recs.length, 200);
  assert.equal(r.devices.length, 20);
  for (let i = 0; i < 200; i++) {
    const d = i < 100 ? i % 20 : (i * 7) % 20;
    assert.equal(r.recs[i]!.device, `h${d}_${d % 3}`, `record ${i}`);
  }
});
