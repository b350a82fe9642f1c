/**
 * The readers of the Alibaba, Tencent CBS, FIU, CloudPhysics (CSV) and Systor '17 traces, on small
 * files written from their published column layouts (layouts.ts) with the records of the real MSR
 * sample wdev_1: every record comes back with its time, device, offset and length, plain or gzipped;
 * malformed lines are counted, and with strict the first one fails naming its line; a trace of
 * several devices gives the writes of one with `device`; FIU digests give the duplicate estimate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTrace, type TraceFormat } from '../../../../src/engine/stats/traces/reader.js';
import { readWrites } from '../../../../src/engine/stats/simulate/writes.js';
import { sharedTraces, testdir } from '../helpers.js';
import { asAlibaba, asCloudPhysics, asFiu, asSystor, asTencent, type LayoutRec } from './layouts.js';

/** wdev_1's records, on two devices (alternating), sector-aligned. */
function records(): LayoutRec[] {
  return readFileSync(join(sharedTraces(), 'wdev_1.csv'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l, i) => {
      const f = l.split(',');
      return {
        us: (BigInt(f[0]!) - 116444736000000000n) / 10n,
        device: String(i % 2 === 0 ? 7 : 9),
        write: f[3] === 'Write',
        offset: Math.floor(Number(f[4]) / 512) * 512,
        size: Math.ceil(Number(f[5]) / 512) * 512,
      };
    });
}

interface Got {
  time: number;
  dev: string;
  write: boolean;
  offset: number;
  length: number;
}

async function read(format: TraceFormat, text: string | Buffer, strict = false) {
  const t = testdir();
  try {
    const p = join(t.dir, 'trace');
    writeFileSync(p, text);
    const got: Got[] = [];
    let devices: string[] = [];
    const r = await readTrace(p, { format, strict }, (time, dev, write, offset, length) => {
      got.push({ time, dev: devices[dev] ?? String(dev), write, offset, length });
    });
    devices = r.devices;
    for (const g of got) g.dev = devices[Number(g.dev)]!;
    return { ...r, got };
  } finally {
    t.cleanup();
  }
}

const CASES: Array<{ format: TraceFormat; text: (rs: LayoutRec[]) => string; dev: (d: string) => string; timeUnitMs: number; bad: string }> = [
  { format: 'alibaba', text: asAlibaba, dev: (d) => d, timeUnitMs: 0.001, bad: '7,X,0,4096,1172167431000000' },
  { format: 'tencent', text: asTencent, dev: (d) => d, timeUnitMs: 1000, bad: '1172167431,0,8,2,7' },
  { format: 'systor', text: asSystor, dev: (d) => `lun${d}`, timeUnitMs: 0.001, bad: '1172167431.5,0.1,W,7,-4096,4096' },
  { format: 'cloudphysics', text: asCloudPhysics, dev: () => 'disk', timeUnitMs: 0.001, bad: '2,1172167431000000,0x2a,4096' },
  { format: 'fiu', text: (rs) => asFiu(rs), dev: (d) => `8_${d}`, timeUnitMs: 0.001, bad: '1172167431000000000 1 p 0 8 W 8 7 nothex' },
];

for (const c of CASES) {
  test(`${c.format}: every record of its published layout, plain and gzipped; bad lines counted, strict names the line`, async () => {
    const rs = records();
    const text = c.text(rs);
    for (const input of [text, gzipSync(text)]) {
      const r = await read(c.format, input);
      assert.equal(r.counters.malformed, 0, JSON.stringify(r.counters.firstMalformed));
      assert.equal(r.got.length, rs.length);
      assert.equal(r.counters.writes, rs.filter((x) => x.write).length);
      for (let i = 0; i < rs.length; i += 97) {
        const want = rs[i]!;
        const g = r.got[i]!;
        assert.equal(g.write, want.write);
        assert.equal(g.offset, want.offset);
        assert.equal(g.length, want.size);
        assert.equal(g.dev, c.dev(want.device));
        const wantMs = Number(want.us) / 1000;
        assert.ok(Math.abs(g.time - wantMs) <= c.timeUnitMs, `${c.format} time ${g.time} vs ${wantMs}`);
      }
    }
    // a malformed line in the middle: counted, the rest read; strict fails naming it
    const lines = text.split('\n');
    const at = Math.floor(lines.length / 2);
    lines.splice(at, 0, c.bad);
    const bad = lines.join('\n');
    const r = await read(c.format, bad);
    assert.equal(r.counters.malformed, 1);
    assert.equal(r.counters.firstMalformed?.line, at + 1);
    assert.equal(r.got.length, rs.length);
    await assert.rejects(read(c.format, bad, true), (e: Error & { code?: string }) => e.code === 'ERR_RCOPY_BAD_TRACE' && e.message.startsWith(`line ${at + 1}:`));
  });
}

test('--device: the writes of one device of a trace that mixes two', async () => {
  const rs = records();
  const r = await readWrites(Buffer.from(asAlibaba(rs)), { format: 'alibaba', device: '9' });
  assert.equal(r.log.length, rs.filter((x, i) => x.write && i % 2 === 1).length);
  assert.deepEqual(r.devices.sort(), ['7', '9']);
  await assert.rejects(readWrites(Buffer.from(asAlibaba(rs)), { format: 'alibaba', device: '8' }), /no device '8'/);
});

test('cloudphysics: SCSI opcodes other than READ/WRITE count as other; fiu: repeated digests estimate what references save', async () => {
  const cp = await read('cloudphysics', 'version,time,op,size,lbn\n2,100,0x12,36,0\n2,200,0x2A,4096,8\n2,300,0x88,8192,16\n2,400,0x35,0,0\n');
  assert.deepEqual([cp.counters.writes, cp.counters.reads, cp.counters.other], [1, 1, 2]);
  assert.deepEqual(
    cp.got.map((g) => [g.time, g.offset, g.length, g.write]),
    [
      [0.2, 4096, 4096, true],
      [0.3, 8192, 8192, false],
    ],
  );
  const rs = records().filter((x) => x.write);
  // content = offset: a write to an offset written before repeats its content
  const seen = new Set<number>();
  let dups = 0,
    dupBytes = 0;
  for (const x of rs) {
    if (seen.has(x.offset)) {
      dups++;
      dupBytes += x.size;
    }
    seen.add(x.offset);
  }
  const fiu = await read('fiu', asFiu(rs));
  assert.ok(dups > 0);
  assert.equal(fiu.counters.duplicateWrites, dups);
  assert.equal(fiu.counters.duplicateBytes, dupBytes);
  let n = 0;
  const unique = await read(
    'fiu',
    asFiu(rs, () => `${n++}`),
  );
  assert.equal(unique.counters.duplicateWrites, 0);
});
