/**
 * Backups against cp, in the same run on the same file system (DESIGN.md §6):
 *  1. a full backup of a fully written volume vs `cp` of its image file (target: at least 80% of
 *     cp's throughput, i.e. ratio >= 0.8). The backup goes into a fresh backup volume each run.
 *  2. an incremental backup after 1% of the volume's tracks changed vs that full backup (target: at
 *     most 3% of its time, issue 23).
 * Three rounds (RCOPY_BENCH_ROUNDS), each: cp, a full backup, 1% changed, an incremental; the best
 * of each counts and every round's ratio is printed. The arrays use `--durability none` (cp does not fsync
 * either); pass `--durability fsync` to include the final flush of the backup volume.
 * rcopy figures are the time of the `rcopy backup create` command (process start and the call to
 * the controller included); the controller's own copy time is printed alongside, and so is the time
 * of one bare CLI round trip right after (`rcopy volume show`: a process start, a call, a reply),
 * the part of any command that does not depend on the backup (row "floor: one CLI round trip").
 *   node dist/bench/backup.js [--size 4G] [--durability none|fsync]     (or BACKUP_SIZE=512M)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BenchHome, GiB, MiB, report, result, sizeArg, time, type BenchResult } from './lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function parseSizeText(v: string): number {
  const m = /^(\d+)([MG])?$/i.exec(v);
  if (!m) throw new Error(`--size ${v}: use e.g. 512M or 4G`);
  return Number(m[1]) * (m[2]?.toUpperCase() === 'G' ? GiB : m[2] ? MiB : 1);
}

const SIZE = arg('--size') ? parseSizeText(arg('--size')!) : sizeArg('BACKUP_SIZE', 4 * GiB);
const DURABILITY = arg('--durability') ?? 'none';

/** Seconds for a cp of the image into a fresh file (removed after). */
function cpOnce(img: string, copy: string): number {
  fs.rmSync(copy, { force: true });
  spawnSync('sync');
  const s = time(() => {
    const r = spawnSync('cp', ['--sparse=never', '--reflink=never', img, copy]);
    if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  });
  fs.rmSync(copy, { force: true });
  return s;
}

function main(): void {
  const h = new BenchHome('rcopy-bench-backup-');
  const results: BenchResult[] = [];
  try {
    console.log(`backup: volume ${SIZE / MiB} MiB, durability ${DURABILITY}, home ${h.dir}`);
    h.rcopy('array', 'create', 'b', '--durability', DURABILITY);
    h.rcopy('volume', 'create', 'b:src', '--size', String(SIZE));
    const img = h.json<{ path: string }>('volume', 'show', 'b:src').path;
    const fill = time(() => h.rcopy('workload', 'run', 'b:src', '--pattern', 'seq', '--bs', '1M', '--bytes', String(SIZE), '--depth', '4'));
    console.log(`  filled b:src (${SIZE / MiB} MiB of random data) in ${fill.toFixed(2)} s`);
    spawnSync('sync');

    const cpRun = (): number => cpOnce(img, h.file('copy.img'));
    let full: any = null;
    const fullRun = (): number => {
      // a fresh backup volume each time: the first backup into it
      const list = h.json<any[]>('backup', 'list', 'b');
      for (const b of list) h.rcopy('backup', 'delete', b.id, '--yes');
      if (h.json<any[]>('volume', 'list', 'b').some((v) => v.name === 'bk')) h.rcopy('volume', 'delete', 'b:bk', '--yes');
      h.rcopy('volume', 'create', 'b:bk', '--size', String(SIZE));
      spawnSync('sync');
      let out: any;
      const s = time(() => {
        out = h.json('backup', 'create', 'b:src', '--to', 'b:bk');
      });
      full = out;
      console.log(`  full backup: ${(out.bytesCopied / MiB).toFixed(0)} MiB in ${s.toFixed(3)} s (controller ${out.seconds} s)`);
      return s;
    };
    // three rounds: cp, a full backup into a fresh backup volume, 1% of the tracks changed (random
    // 64 KiB writes), an incremental; each round's incremental is compared with its own full
    const rounds = Number(process.env.RCOPY_BENCH_ROUNDS ?? 3);
    const cps: number[] = [];
    const fulls: number[] = [];
    const incs: number[] = [];
    const ctl: Array<[number, number]> = [];
    const trips: number[] = [];
    let inc: any = null;
    for (let i = 0; i < rounds; i++) {
      cps.push(cpRun());
      fulls.push(fullRun());
      h.rcopy('workload', 'run', 'b:src', '--pattern', 'random', '--bs', '64k', '--bytes', String(Math.round(SIZE / 100 / 65536) * 65536), '--seed', String(11 + i));
      spawnSync('sync');
      incs.push(
        time(() => {
          inc = h.json('backup', 'create', 'b:src', '--to', 'b:bk', '--incremental');
        }),
      );
      ctl.push([inc.seconds, full.seconds]);
      trips.push(time(() => h.json('volume', 'show', 'b:src')));
      console.log(
        `  incremental: ${inc.tracksCopied} tracks, ${(inc.bytesCopied / MiB).toFixed(1)} MiB in ${incs[i]!.toFixed(3)} s (controller ${inc.seconds} s): ` +
          `${((100 * incs[i]!) / fulls[i]!).toFixed(2)}% of this round's full (controller ${((100 * inc.seconds) / full.seconds).toFixed(2)}%); ` +
          `a bare CLI round trip right after ${trips[i]!.toFixed(3)} s (${((100 * trips[i]!) / fulls[i]!).toFixed(2)}%)`,
      );
    }
    const cpBest = Math.min(...cps);
    const fullBest = Math.min(...fulls);
    const incBest = Math.min(...incs);
    results.push(result('full backup vs cp', fullBest, 'cp', cpBest, '>= 0.80', `${(SIZE / fullBest / 1e9).toFixed(2)} GB/s; rounds ${cps.map((c, i) => (c / fulls[i]!).toFixed(2)).join(', ')}`));
    // here the "peer" is the full backup: ratio = full time / incremental time (33.3 = 3% of the cost)
    results.push(
      result(
        'incremental (1% changed) vs full backup',
        incBest,
        'full backup',
        fullBest,
        '>= 33.3 (at most 3% of a full)',
        `best ${((100 * incBest) / fullBest).toFixed(2)}% of a full; rounds ${incs.map((x, i) => `${((100 * x) / fulls[i]!).toFixed(2)}%`).join(', ')}; ` +
          `in the controller ${ctl.map(([x, y]) => `${((100 * x) / y).toFixed(2)}%`).join(', ')}`,
      ),
    );
    const tripBest = Math.min(...trips);
    results.push(
      result(
        'floor: one CLI round trip (rcopy volume show) vs full backup',
        tripBest,
        'full backup',
        fullBest,
        undefined,
        `best ${((100 * tripBest) / fullBest).toFixed(2)}% of a full; rounds ${trips.map((x, i) => `${((100 * x) / fulls[i]!).toFixed(2)}%`).join(', ')}`,
      ),
    );
    report(results);
  } finally {
    h.cleanup();
  }
}

main();
