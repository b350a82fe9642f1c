/**
 * Appends 512 MiB of 1 MiB records to a journal and syncs, then writes the same amount with
 * `dd if=/dev/zero of=FILE bs=1M count=512 conv=fsync`, in the same run on the same file system, and
 * prints the ratio (journal time / dd time; 1.0 = raw speed). Each side runs twice; the best counts.
 *   node dist/bench/journal-append.js [dir]
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JournalFile } from '../src/engine/journal/journal-file.js';
import { record } from './lib.js';

const MiB = 1024 * 1024;
const COUNT = 512;

async function journalRun(dir: string, pool: Buffer[]): Promise<number> {
  const file = path.join(dir, 'bench.jnl');
  fs.rmSync(file, { force: true });
  const j = await JournalFile.create(file, (COUNT + 8) * (MiB + 512)); // preallocated; not timed
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) await j.append([{ volumeId: 1, offset: i * MiB, data: pool[i % pool.length]! }]);
  await j.sync();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await j.close();
  fs.rmSync(file, { force: true });
  return secs;
}

/** dd into a new file (the brief's reference), or over an existing one of the same size: the
 *  journal overwrites a preallocated file, so the second is the like-for-like figure. */
function ddRun(dir: string, overwrite: boolean): number {
  const file = path.join(dir, 'bench.dd');
  const dd = (conv: string) => spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${COUNT}`, `conv=${conv}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.rmSync(file, { force: true });
  if (overwrite) dd('fsync');
  const t0 = process.hrtime.bigint();
  const r = dd(overwrite ? 'notrunc,fsync' : 'fsync');
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`dd failed: ${r.stderr?.toString() ?? r.error}`);
  return secs;
}

async function main(): Promise<void> {
  const base = process.argv[2] ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'rcopy-bench-'));
  try {
    const pool = Array.from({ length: 16 }, () => randomFillSync(Buffer.allocUnsafe(MiB)));
    const dd: number[] = [];
    const ddo: number[] = [];
    const jr: number[] = [];
    for (let round = 0; round < 3; round++) {
      dd.push(ddRun(dir, false));
      ddo.push(ddRun(dir, true));
      jr.push(await journalRun(dir, pool));
    }
    const d = Math.min(...dd);
    const o = Math.min(...ddo);
    const j = Math.min(...jr);
    const show = (name: string, xs: number[], best: number) => console.log(`${name.padEnd(38)} ${xs.map((s) => s.toFixed(2)).join(' / ')} s  (best ${(COUNT / best).toFixed(0)} MiB/s)`);
    show(`dd ${COUNT} MiB into a new file + fsync:`, dd, d);
    show(`dd ${COUNT} MiB over a file + fsync:`, ddo, o);
    show(`journal ${COUNT} x 1 MiB append + sync:`, jr, j);
    console.log(`ratio journal/dd (new file):      ${(j / d).toFixed(2)}  (1.00 = raw write speed, lower is faster)`);
    record({
      name: `journal append, ${COUNT} x 1 MiB + sync`,
      rcopy: `${j.toFixed(3)} s`,
      peer: `dd into a new file + fsync ${d.toFixed(3)} s (over a file ${o.toFixed(3)} s)`,
      ratio: (d / j).toFixed(2),
      target: '',
      met: null,
      note: `rounds ${jr.map((x, i) => (dd[i]! / x).toFixed(2)).join(', ')}`,
    });
    console.log(`ratio journal/dd (overwrite):     ${(j / o).toFixed(2)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
