/**
 * Issue 2 benchmarks: volume writes through the controller vs dd to a plain file (sequential and
 * random), io checksum vs sha256sum of the image, and rcopy --version vs a bare node start.
 * Sizes: RCOPY_BENCH_WRITE (default 1G). Arrays use durability fsync (every batch).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BIN, BenchHome, GiB, have, randomFile, report, result, sh, sizeArg, time, type BenchResult } from './lib.js';

export function runCore(): BenchResult[] {
  const size = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const h = new BenchHome();
  const out: BenchResult[] = [];
  try {
    const src = h.file('src.bin');
    randomFile(src, size);
    h.rcopy('array', 'create', 'A', '--durability', 'fsync');
    const vsize = `${Math.ceil((size * 2) / GiB)}G`;
    h.rcopy('volume', 'create', 'A:seq', '--size', vsize);
    h.rcopy('volume', 'create', 'A:rnd', '--size', vsize);
    h.rcopy('array', 'start', 'A');
    const dd = time(() => sh('dd', [`if=${src}`, `of=${h.file('plain.bin')}`, 'bs=1M', 'conv=fsync']));
    const seq = time(() => h.rcopy('io', 'write', 'A:seq', '--file', src));
    out.push(result('sequential volume write (fsync)', seq, 'dd conv=fsync', dd, '>= 0.70'));
    const bytes = Math.min(size, 512 * 1024 * 1024);
    const rnd = h.json('workload', 'run', 'A:rnd', '--pattern', 'random', '--bs', '1M', '--depth', '4', '--bytes', String(bytes));
    let peerName = 'dd conv=fsync (sequential)';
    let peer = (dd * bytes) / size;
    if (have('fio')) {
      peer = time(() =>
        sh('fio', [
          '--name=r',
          `--filename=${h.file('fio.bin')}`,
          '--rw=randwrite',
          '--bs=1M',
          `--size=${bytes}`,
          '--ioengine=psync',
          '--numjobs=1',
          '--end_fsync=1',
          '--fsync=1',
          '--output=/dev/null',
        ]),
      );
      peerName = 'fio randwrite 1M, fsync each';
    }
    out.push(result('random 1 MiB volume writes (workload)', rnd.seconds, peerName, peer, '>= 0.70'));
    fs.rmSync(h.file('plain.bin'), { force: true });
    fs.rmSync(h.file('fio.bin'), { force: true });
    const img = h.json('volume', 'show', 'A:seq').path as string;
    const sha = time(() => sh('sha256sum', [img]));
    const sum = time(() => h.rcopy('io', 'checksum', 'A:seq'));
    out.push(result(`io checksum of a ${vsize} volume (half written)`, sum, 'sha256sum', sha, '>= 0.80'));
    const med = (cmd: string[], n = 15, env: NodeJS.ProcessEnv = process.env): number => {
      const ts: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        spawnSync(cmd[0]!, cmd.slice(1), { env });
        ts.push((performance.now() - t0) / 1000);
      }
      return ts.sort((a, b) => a - b)[Math.floor(n / 2)]!;
    };
    const nodeStart = med([process.execPath, '-e', '0']);
    const ver = med([BIN, '--version']);
    out.push(result('rcopy --version (median of 15)', ver, 'node -e 0', nodeStart, '>= 0.67 (within 1.5x)'));
    // one command that asks a running controller, as bin/rcopy starts it (from the startup snapshot,
    // scripts/snapshot.mjs) against the same started from the module files
    const show = [BIN, 'volume', 'show', 'A:seq', '--json'];
    const fromSnapshot = med(show, 15, h.env);
    const fromModules = med(show, 15, { ...h.env, RCOPY_NO_SNAPSHOT: '1' });
    out.push(
      result(
        'rcopy volume show (a running controller), median of 15: started from the startup snapshot',
        fromSnapshot,
        'from the module files',
        fromModules,
        '',
        'informational: the CLI part of every command',
      ),
    );
  } finally {
    h.cleanup();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) report(runCore());
