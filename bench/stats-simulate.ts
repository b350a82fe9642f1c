/**
 * `rcopy stats simulate` speed: generates a 10-million-line MSR Cambridge CSV trace in a temporary
 * directory, reads its writes and runs the journal simulation (100 Mb/s, 1 GiB journal, 20 ms, with
 * the busiest hour's absorbed outage) and prints lines per second for the whole; as a peer, times
 * `wc -l` on the same file and prints the ratio. Then 2 million lines in each trace layout added with
 * it (Alibaba, Tencent, FIU, CloudPhysics, Systor '17): lines per second of the reader alone, of
 * wall and of CPU time.
 * Target (issue 22): >= 1,000,000 lines/s including the simulation. The machine's load average is
 * printed before and after: on a loaded machine the absolute rate says little, the ratios to
 * `wc -l` and to the import (same file, same run) and the rate per second of the process's CPU
 * time (user + system: GC threads included) say more.
 * Usage: node dist/bench/stats-simulate.js [lines]
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWrites } from '../src/engine/stats/simulate/writes.js';
import { simulation } from '../src/engine/stats/simulate/run.js';
import { readTrace, type TraceFormat } from '../src/engine/stats/traces/reader.js';
import { importTrace } from '../src/engine/stats/traces/import.js';
import { asAlibaba, asCloudPhysics, asFiu, asSystor, asTencent, type LayoutRec } from '../test/engine/stats/traces/layouts.js';
import { record } from './lib.js';

const lines = Number(process.argv[2] ?? 10_000_000);
const dir = mkdtempSync(join(tmpdir(), 'rcopy-bench-simulate-'));

function msr(path: string, n: number): void {
  const fd = openSync(path, 'w');
  let x = 1;
  let ticks = 128166410318061000 - 60999;
  for (let done = 0; done < n;) {
    const k = Math.min(100_000, n - done);
    let chunk = '';
    for (let i = 0; i < k; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      ticks += 1000 + (x & 0xffff);
      chunk += `${ticks},src,${x & 3},${(x & 0x30000) !== 0 ? 'Write' : 'Read'},${((x >>> 8) % 1_600_000) * 4096},${4096 << ((x >>> 20) & 3)},${x & 0xfff}\n`;
    }
    writeSync(fd, chunk);
    done += k;
  }
  closeSync(fd);
}

function layout(path: string, n: number, as: (rs: LayoutRec[]) => string): void {
  const fd = openSync(path, 'w');
  let x = 7;
  let us = 1_172_167_431_000_000n;
  for (let done = 0; done < n;) {
    const rs: LayoutRec[] = [];
    for (let i = 0; i < Math.min(50_000, n - done); i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      us += BigInt(100 + (x & 0x3fff));
      rs.push({ us, device: String(x & 3), write: (x & 0x30000) !== 0, offset: ((x >>> 8) % 1_600_000) * 4096, size: 4096 << ((x >>> 20) & 3) });
    }
    const text = as(rs);
    writeSync(fd, done === 0 ? text : text.slice(/^[0-9]/.test(text) ? 0 : text.indexOf('\n') + 1)); // one header
    done += rs.length;
  }
  closeSync(fd);
}

const secs = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')} lines/s`;

try {
  const path = join(dir, 'trace.csv');
  msr(path, lines);
  const load0 = loadavg()[0]!;
  let t = process.hrtime.bigint();
  execFileSync('wc', ['-l', path]);
  const wc = secs(t);
  t = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const r = await readWrites(path, { format: 'msr' });
  const read = secs(t);
  const sim = simulation(r.log, { bandwidth: 12.5e6, journal: 2 ** 30, rpoMs: 300_000, latencyMs: 20, trackSize: 65536 });
  const all = secs(t);
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6; // (a loaded machine stretches the wall time, much less the CPU time)
  if (r.counters.lines !== lines || r.counters.malformed !== 0) throw new Error(`bad read: ${JSON.stringify(r.counters)}`);
  console.log(`trace: ${lines.toLocaleString('en')} MSR lines, ${r.log.length.toLocaleString('en')} writes; peak journal ${(sim.result.peak.share * 100).toFixed(1)}%`);
  console.log(
    `rcopy stats simulate: ${all.toFixed(2)} s (read ${read.toFixed(2)} s, simulation ${(all - read).toFixed(2)} s), ${rate(lines, all)}; CPU ${cpu.toFixed(2)} s: ${rate(lines, cpu)} of CPU time`,
  );
  console.log(`wc -l (peer):         ${wc.toFixed(2)} s, ${rate(lines, wc)}`);
  t = process.hrtime.bigint();
  await importTrace(path, { format: 'msr', intervalMs: 60_000, trackSize: 65536 });
  const imp = secs(t);
  console.log(`stats import (peer):  ${imp.toFixed(2)} s, ${rate(lines, imp)}`);
  console.log(`ratio simulate / wc -l time: ${(all / wc).toFixed(1)}x; simulate / import: ${(all / imp).toFixed(2)}x; target >= 1,000,000 lines/s: ${lines / all >= 1e6 ? 'met' : 'NOT met'}`);
  record({
    name: `stats simulate, ${(lines / 1e6).toFixed(0)} M MSR lines (read + simulation + outage search)`,
    rcopy: `${all.toFixed(2)} s (read ${read.toFixed(2)}, simulation ${(all - read).toFixed(2)}; CPU ${cpu.toFixed(2)} s)`,
    peer: `stats import ${imp.toFixed(2)} s; wc -l ${wc.toFixed(2)} s`,
    ratio: `${(lines / all / 1e6).toFixed(2)} M lines/s`,
    target: '>= 1 M lines/s',
    met: lines / all >= 1e6,
    note: `lines/s, not a ratio; ${(lines / cpu / 1e6).toFixed(2)} M lines per CPU-second`,
  });
  console.log(`load average (1 min) before ${load0.toFixed(1)}, after ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
  rmSync(path);
  const n = Math.min(2_000_000, lines);
  const layouts: Array<[TraceFormat, (rs: LayoutRec[]) => string]> = [
    ['alibaba', asAlibaba],
    ['tencent', asTencent],
    ['fiu', (rs) => asFiu(rs)],
    ['cloudphysics', asCloudPhysics],
    ['systor', asSystor],
  ];
  for (const [format, as] of layouts) {
    const p = join(dir, format);
    layout(p, n, as);
    t = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const c = await readTrace(p, { format }, () => undefined);
    const s = secs(t);
    const cu = process.cpuUsage(c0);
    const cs = (cu.user + cu.system) / 1e6;
    if (c.counters.malformed !== 0) throw new Error(`${format}: ${JSON.stringify(c.counters.firstMalformed)}`);
    console.log(
      `read ${format.padEnd(12)} ${n.toLocaleString('en')} lines: ${s.toFixed(2)} s, ${rate(c.counters.lines, s)}${c.counters.lines / s >= 1e6 ? '' : ' (below 1,000,000)'}; CPU ${cs.toFixed(2)} s: ${rate(c.counters.lines, cs)} of CPU time`,
    );
    record({
      name: `read a ${format} trace, ${(n / 1e6).toFixed(0)} M lines`,
      rcopy: `${s.toFixed(2)} s (CPU ${cs.toFixed(2)} s)`,
      peer: '',
      ratio: `${(c.counters.lines / s / 1e6).toFixed(2)} M lines/s`,
      target: '>= 1 M lines/s',
      met: c.counters.lines / s >= 1e6,
      note: `lines/s of wall time; ${(c.counters.lines / cs / 1e6).toFixed(2)} M lines per CPU-second`,
    });
    rmSync(p);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
