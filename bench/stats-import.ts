/**
 * Trace import speed: generates a 10-million-line MSR Cambridge CSV trace in a temporary directory,
 * imports it (64 KiB tracks, one-minute intervals) and prints lines per second; as a peer, times
 * `wc -l` on the same file and prints the ratio. Target (DESIGN.md §6): >= 1,000,000 lines/s.
 * Usage: node dist/bench/stats-import.js [lines]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTrace } from '../src/engine/stats/traces/import.js';
import { record } from './lib.js';

const lines = Number(process.argv[2] ?? 10_000_000);
const dir = mkdtempSync(join(tmpdir(), 'rcopy-bench-import-'));
try {
  const path = join(dir, 'trace.csv');
  const fd = openSync(path, 'w');
  let x = 1;
  let ticks = 128166410318061000 - 60999; // a real MSR start, 100 ns units since 1601
  const disks = ['0', '1', '2', '3'];
  for (let done = 0; done < lines;) {
    const n = Math.min(100_000, lines - done);
    let chunk = '';
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      ticks += 1000 + (x & 0xffff); // ~0.1-6.6 ms apart: ~9 hours for 10M lines
      const write = (x & 0x30000) !== 0; // 3/4 writes
      const offset = ((x >>> 8) % 1_600_000) * 4096;
      chunk += `${ticks},src,${disks[x & 3]},${write ? 'Write' : 'Read'},${offset},${4096 << ((x >>> 20) & 3)},${x & 0xfff}\n`;
    }
    writeSync(fd, chunk);
    done += n;
  }
  closeSync(fd);
  const bytes = statSync(path).size;

  let t = process.hrtime.bigint();
  execFileSync('wc', ['-l', path]);
  const wcSec = Number(process.hrtime.bigint() - t) / 1e9;

  t = process.hrtime.bigint();
  const r = await importTrace(path, { format: 'msr', intervalMs: 60_000, trackSize: 65536 });
  const sec = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.counters.lines !== lines || r.counters.malformed !== 0) throw new Error(`bad import: ${JSON.stringify(r.counters)}`);

  console.log(`trace: ${lines.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB, ${r.devices.length} devices, ${r.entries.length} entries`);
  console.log(`rcopy stats import: ${sec.toFixed(2)} s, ${Math.round(lines / sec).toLocaleString('en')} lines/s, ${(bytes / 1e6 / sec).toFixed(0)} MB/s`);
  console.log(`wc -l (peer):       ${wcSec.toFixed(2)} s, ${Math.round(lines / wcSec).toLocaleString('en')} lines/s`);
  const rate = lines / sec;
  record({
    name: `trace import, ${(lines / 1e6).toFixed(0)} M MSR lines (rcopy stats import)`,
    rcopy: `${sec.toFixed(2)} s`,
    peer: `wc -l ${wcSec.toFixed(2)} s`,
    ratio: `${(rate / 1e6).toFixed(2)} M lines/s`,
    target: '>= 1 M lines/s',
    met: rate >= 1e6,
    note: `the figure is lines/s, not a ratio; wc -l took ${(wcSec / sec).toFixed(3)} of the import's time`,
  });
  console.log(`ratio import / wc -l time: ${(sec / wcSec).toFixed(1)}x; target >= 1,000,000 lines/s: ${lines / sec >= 1e6 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
