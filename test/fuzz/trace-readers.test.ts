/**
 * Fuzz target: the trace readers (src/engine/stats/traces/) and the trace import (traces/import.ts).
 * Real inputs — the MSR samples in test/fixtures/traces, and their first records rewritten as
 * blkparse, SPC and fio iolog v2/v3 — are mutated by a seeded PRNG (mutate.ts) and read in process.
 * For every input: the import either returns or throws an RcopyError ERR_RCOPY_BAD_TRACE (never
 * another exception), within a time bound and with memory kept flat; reading it in random chunks
 * gives exactly what reading it whole gives; the counters and entries are consistent.
 * A few thousand inputs in `npm test` (about 15 s at most), 50,000 with RCOPY_SOAK=1.
 * A failure prints the seed that replays it (RCOPY_FUZZ_SEED, RCOPY_FUZZ_ONLY).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { RcopyError } from '../../src/errors.js';
import { MAX_LINE, TraceParser, type TraceFormat } from '../../src/engine/stats/traces/reader.js';
import { importTrace, MAX_IMPORT_TRACKS } from '../../src/engine/stats/traces/import.js';
import { TRACES, withDir } from '../helpers.js';
import { asAlibaba, asCloudPhysics, asFiu, asSystor, asTencent, type LayoutRec } from '../engine/stats/traces/layouts.js';
import { excerpt, fuzzConfig, inputRng, int, mutate, pick, type Rand } from './mutate.js';

interface Rec {
  ticks: bigint;
  host: string;
  disk: string;
  write: boolean;
  offset: number;
  size: number;
}

/** The first records of a real MSR trace. */
function msrRecords(file: string, n: number): Rec[] {
  return fs
    .readFileSync(path.join(TRACES, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, n)
    .map((l) => {
      const f = l.split(',');
      return { ticks: BigInt(f[0]!), host: f[1]!, disk: f[2]!, write: f[3] === 'Write', offset: Number(f[4]), size: Number(f[5]) };
    });
}

/** Real records in every format the readers know. */
function seeds(): Record<TraceFormat, Buffer[]> {
  const a = msrRecords('wdev_1.csv', 200);
  const b = msrRecords('hm_0_first1000writes.csv', 200);
  const out: Record<TraceFormat, Buffer[]> = { msr: [], blkparse: [], spc: [], fioiolog: [], alibaba: [], tencent: [], fiu: [], cloudphysics: [], systor: [] };
  for (const file of ['wdev_1.csv', 'hm_0_first1000writes.csv']) {
    const text = fs.readFileSync(path.join(TRACES, file));
    out.msr.push(text.subarray(0, text.indexOf(10, 16_000) + 1)); // a few hundred whole lines
  }
  out.msr.push(
    Buffer.from(
      `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime\r\n${a
        .slice(0, 50)
        .map((x) => `${x.ticks},${x.host},${x.disk},${x.write ? 'Write' : 'Read'},${x.offset},${x.size},1\r\n`)
        .join('')}`,
    ),
  );
  for (const recs of [a, b]) {
    const t0 = recs[0]!.ticks;
    const sec = (x: Rec) => Number(x.ticks - t0) / 1e7;
    out.blkparse.push(
      Buffer.from(
        recs
          .map(
            (x, i) =>
              `  8,${x.disk}    ${i % 4}  ${i + 1}  ${sec(x).toFixed(9)}  697  Q  ${x.write ? 'WS' : 'R'} ${Math.floor(x.offset / 512)} + ${Math.ceil(x.size / 512)} [kworker]\n  8,${x.disk}    ${i % 4}  ${i + 1}  ${sec(x).toFixed(9)}  697  C  ${x.write ? 'W' : 'R'} ${Math.floor(x.offset / 512)} + ${Math.ceil(x.size / 512)} [0]\n`,
          )
          .join('') + 'CPU0 (sda):\n Reads Queued:  0\nTotal (sda):\n',
      ),
    );
    out.spc.push(Buffer.from(recs.map((x) => `${x.disk},${Math.floor(x.offset / 512)},${x.size},${x.write ? 'w' : 'r'},${sec(x).toFixed(6)}\n`).join('')));
    out.fioiolog.push(
      Buffer.from(
        `fio version 2 iolog\n/dev/sd${x0(recs)} add\n/dev/sd${x0(recs)} open\n${recs.map((x, i) => `${i % 7 === 0 ? `/dev/sd${x0(recs)} wait 1500\n` : ''}/dev/sd${x0(recs)} ${x.write ? 'write' : 'read'} ${x.offset} ${x.size}\n`).join('')}/dev/sd${x0(recs)} close\n`,
      ),
    );
    out.fioiolog.push(Buffer.from(`fio version 3 iolog\n${recs.map((x) => `${Math.floor(sec(x) * 1000)} /dev/sdc ${x.write ? 'write' : 'read'} ${x.offset} ${x.size}\n`).join('')}`));
    const lay: LayoutRec[] = recs.map((x) => ({
      us: (x.ticks - 116444736000000000n) / 10n,
      device: x.disk,
      write: x.write,
      offset: Math.floor(x.offset / 512) * 512,
      size: Math.ceil(x.size / 512) * 512,
    }));
    out.alibaba.push(Buffer.from(asAlibaba(lay)));
    out.tencent.push(Buffer.from(asTencent(lay)));
    out.fiu.push(Buffer.from(asFiu(lay)));
    out.cloudphysics.push(Buffer.from(asCloudPhysics(lay)));
    out.systor.push(Buffer.from(asSystor(lay)));
  }
  return out;
}
const x0 = (recs: Rec[]) => (recs[0]!.host === 'hm' ? 'b' : 'c');

const TOKENS = [
  ',',
  ' ',
  '\t',
  '\r',
  '\r\n',
  '\n',
  '\n\n',
  '\0',
  '-',
  '+',
  '.',
  '[x]',
  'W',
  'R',
  'Q',
  'C',
  'CPU0',
  'Total',
  'write',
  'read',
  'wait',
  'fio version 3 iolog\n',
  'fio version 9 iolog\n',
  '\u00e9\u{1F600}',
  '\xff\xfe',
  ',,,,',
  '0,0,0,w,0',
];

/** Counters and records of `input` read with the given chunking; or the error thrown. */
function readChunked(input: Buffer, format: TraceFormat, strict: boolean, cut: (len: number) => number): { records: number; sum: number; devices: string[]; counters: unknown } | { error: string } {
  let records = 0,
    sum = 0;
  const p = new TraceParser({ format, strict }, (time, dev, write, offset, length) => {
    records++;
    sum = (sum + time * 3 + dev * 5 + (write ? 7 : 0) + offset / 4096 + length) % 1e12;
  });
  try {
    for (let at = 0; at < input.length;) {
      const n = Math.max(1, Math.min(input.length - at, cut(input.length - at)));
      p.push(input.subarray(at, at + n));
      at += n;
    }
    p.end();
  } catch (e) {
    if (!(e instanceof RcopyError)) throw e;
    return { error: `${e.code} ${e.message}` };
  }
  return { records, sum, devices: p.devices, counters: p.counters };
}

test('fuzz: trace readers and import: RcopyError or a result, bounded, whatever the bytes', { timeout: 600_000 }, async () => {
  const cfg = fuzzConfig(2000, 50_000);
  const all = seeds();
  const formats = Object.keys(all) as TraceFormat[];
  const others = formats.flatMap((f) => all[f]);
  const rssStart = process.memoryUsage().rss;
  const t0 = Date.now();
  let done = 0,
    parsed = 0,
    refused = 0,
    maxMs = 0;
  await withDir('rcopy-fuzz-trace-', async (dir) => {
    for (let i = cfg.only ?? 0; i < (cfg.only !== null ? cfg.only + 1 : cfg.count); i++) {
      if (Date.now() - t0 > cfg.budgetMs) break;
      const r: Rand = inputRng(cfg.seed, i);
      const format = pick(r, formats);
      const strict = r() < 0.3;
      let input = mutate(pick(r, all[format]), r, { tokens: TOKENS, others, longLine: MAX_LINE });
      if (r() < 0.05) {
        input = gzipSync(input);
        if (r() < 0.5) input = mutate(input, r, { tokens: TOKENS, others, longLine: 1000 }); // damaged gzip
      }
      const where = `seed ${cfg.seed} input ${i} (replay: RCOPY_FUZZ_SEED=${cfg.seed} RCOPY_FUZZ_ONLY=${i}), ${format}${strict ? ' strict' : ''}, ${input.length} bytes: ${excerpt(input)}`;
      // through a file (streams, gunzip) one time in ten, else from memory
      let source: string | Buffer = input;
      if (input[0] === 0x1f || i % 10 === 0) {
        source = path.join(dir, 'trace');
        fs.writeFileSync(source, input);
      }
      const s = performance.now();
      let result;
      try {
        result = await importTrace(source, { format, strict, intervalMs: pick(r, [1, 1000, 60_000]), trackSize: pick(r, [512, 4096, 65536, 1 << 20]) });
        parsed++;
      } catch (e) {
        assert.ok(e instanceof RcopyError, `not an RcopyError: ${(e as Error)?.stack}\n${where}`);
        assert.equal(e.code, 'ERR_RCOPY_BAD_TRACE', `${e.code} ${e.message}\n${where}`);
        assert.equal(e.exitCode, 3, where);
        assert.ok(!e.message.includes('\n') && e.message.length < 600, `not one line: ${e.message}\n${where}`);
        refused++;
      }
      const ms = performance.now() - s;
      maxMs = Math.max(maxMs, ms);
      assert.ok(ms < 5000, `took ${Math.round(ms)} ms\n${where}`);
      if (result) {
        const c = result.counters;
        assert.ok(c.writes + c.reads + c.other + c.malformed <= c.lines, `counters ${JSON.stringify(c)}\n${where}`);
        assert.ok(result.entries.length <= c.writes, where);
        let total = 0;
        for (const d of result.devices) total += d.tracks;
        assert.ok(total <= MAX_IMPORT_TRACKS, `devices of ${total} tracks\n${where}`);
        for (const e of result.entries) assert.ok(e.count <= e.tracks && e.end > e.start && Number.isFinite(e.start), `entry ${JSON.stringify({ ...e, data: e.data.length })}\n${where}`);
        if (c.malformed > 0) assert.ok(c.firstMalformed && c.firstMalformed.line >= 1 && c.firstMalformed.line <= c.lines, where);
      }
      // the same bytes in random chunks read exactly as whole (plain inputs only)
      if (input[0] !== 0x1f && input.length < 4 * MAX_LINE) {
        const whole = readChunked(input, format, strict, (n) => n);
        const bits = readChunked(input, format, strict, (n) => 1 + int(r, Math.min(n, r() < 0.5 ? 16 : 70_000)));
        assert.deepEqual(bits, whole, `chunked read differs\n${where}`);
      }
      const rss = process.memoryUsage().rss;
      assert.ok(rss - rssStart < 512 * 2 ** 20, `memory grew by ${Math.round((rss - rssStart) / 2 ** 20)} MB\n${where}`);
      done++;
    }
  });
  console.log(`trace fuzz: seed ${cfg.seed}, ${done} inputs (${parsed} imported, ${refused} refused) in ${((Date.now() - t0) / 1000).toFixed(1)} s, slowest ${Math.round(maxMs)} ms`);
  assert.ok(done >= Math.min(cfg.count, 300) || cfg.only !== null, `only ${done} inputs ran in the time budget`);
});
