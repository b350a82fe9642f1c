/**
 * Write-path cost of PB bits: host write throughput of a workload run inside the controller, with
 * and without a running collection on the volume, on the same array in the same run, alternating
 * (without, with, without, with, ...) so drift hits both sides alike. Durability `none`, 4 KiB
 * random writes: the case where a per-write hook weighs most. Prints the median of each side and the
 * cost as a percentage. Target (issue 6): under 5%.
 * Usage: node dist/bench/stats-writepath.js [seconds per run, default 4] [pairs, default 3]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { record } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'rcopy');
const secs = Number(process.argv[2] ?? 4);
const pairs = Number(process.argv[3] ?? 3);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-bench-wp-'));
const env = { ...process.env, RCOPY_HOME: home, NO_COLOR: '1', CI: 'true' };

function rcopy(...args: string[]): any {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`rcopy ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  rcopy('array', 'create', 'bench', '--durability', 'none');
  rcopy('volume', 'create', 'bench:v1', '--size', '256M');
  rcopy('io', 'write', 'bench:v1', '--pattern', 'random', '--length', '256M'); // every track allocated: steady state
  rcopy('stats', 'define', 'bench:g', '--volumes', 'v1', '--interval', '1m');
  const run = () => rcopy('workload', 'run', 'bench:v1', '--pattern', 'random', '--bs', '4k', '--depth', '8', '--duration', `${secs}s`, '--seed', '1', '--json');
  run(); // warm-up: allocates tracks, warms the page cache
  const without: number[] = [];
  const withPb: number[] = [];
  for (let i = 0; i < pairs; i++) {
    without.push(run().iops);
    rcopy('stats', 'start', 'bench:g');
    withPb.push(run().iops);
    rcopy('stats', 'stop', 'bench:g');
  }
  const a = median(without);
  const b = median(withPb);
  const cost = (1 - b / a) * 100;
  const list = rcopy('stats', 'list', 'bench', '--json');
  console.log(`4 KiB random host writes in the controller, durability none, ${pairs} x ${secs} s per side`);
  console.log(`without collection: ${without.map((x) => Math.round(x)).join(', ')} IOPS (median ${Math.round(a)})`);
  console.log(`with PB bits:       ${withPb.map((x) => Math.round(x)).join(', ')} IOPS (median ${Math.round(b)})`);
  console.log(`ratio with/without: ${(b / a).toFixed(3)}; write-path cost ${cost.toFixed(1)}% (target < 5%: ${cost < 5 ? 'met' : 'NOT met'}; single-run noise is ~several %)`);
  record({
    name: 'PB bits on the write path: 4 KiB random host writes in the controller (durability none), median IOPS',
    rcopy: `${Math.round(b)} IOPS with collection`,
    peer: `${Math.round(a)} IOPS without`,
    ratio: (b / a).toFixed(3),
    target: 'cost < 5%',
    met: cost < 5,
    note: `cost ${cost.toFixed(1)}%; rounds with ${withPb.map((x) => Math.round(x)).join(', ')}, without ${without.map((x) => Math.round(x)).join(', ')}`,
  });
  console.log(`entries stored: ${list[0].entries}`);
  // the hook alone, in process: what one PB-bit mark adds to a write
  const { PbTable } = await import('../src/engine/stats/pb-table.js');
  const t = new PbTable('v1', 65536, 4096);
  const byVol = new Map([['v1', [t]]]);
  const N = 5_000_000;
  let x = 1;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const ts = byVol.get('v1');
    if (ts !== undefined) for (let j = 0; j < ts.length; j++) ts[j]!.mark((x % 65536) * 4096, 4096);
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`hook alone: ${ns.toFixed(1)} ns per write = ${((ns * b) / 1e7).toFixed(3)}% of a write at ${Math.round(b)} IOPS`);
} finally {
  spawnSync(process.execPath, [BIN, 'array', 'stop', '--all'], { env });
  fs.rmSync(home, { recursive: true, force: true });
}
