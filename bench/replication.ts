/**
 * Issue 3 and 4 benchmarks, two arrays on one host:
 *  - host writes to the P-VOL of an async pair (pull running) vs dd to a plain file;
 *  - pull + restore of journaled data vs cp of the same amount;
 *  - initial copy of a fully written volume vs cp of its image;
 *  - resync after 1% of the volume changed in random 64 KiB blocks vs rsync --inplace --no-whole-file.
 * Sizes: RCOPY_BENCH_WRITE (default 1G), RCOPY_BENCH_VOLUME (default 4G).
 */
import fs from 'node:fs';
import { BenchHome, GiB, have, randomFile, report, result, sh, sizeArg, time, type BenchResult } from './lib.js';

export function runReplication(): BenchResult[] {
  const wsize = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const vsize = sizeArg('RCOPY_BENCH_VOLUME', 4 * GiB);
  const out: BenchResult[] = [];
  const h = new BenchHome();
  try {
    const src = h.file('src.bin');
    randomFile(src, wsize);
    const dd = time(() => sh('dd', [`if=${src}`, `of=${h.file('plain.bin')}`, 'bs=1M', 'conv=fsync']));
    fs.rmSync(h.file('plain.bin'));
    for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
    const jsize = `${Math.ceil((wsize * 1.25) / (1024 * 1024))}M`;
    h.rcopy('volume', 'create', 'A:w', '--size', `${Math.ceil(wsize / GiB)}G`);
    h.rcopy('volume', 'create', 'B:w', '--size', `${Math.ceil(wsize / GiB)}G`);
    h.rcopy('journal', 'create', 'A:j1', '--size', jsize);
    h.rcopy('journal', 'create', 'B:j2', '--size', jsize);
    h.rcopy('link', 'add', 'A', 'B');
    h.rcopy('pair', 'create', 'A:w', 'B:w', '--journal', 'A:j1,B:j2', '--wait');
    // host writes: the journal absorbs the burst (the secondary pulls it afterwards), which is
    // what an async pair is for; every byte is written twice (P-VOL and journal), both fsynced
    h.rcopy('pull', 'stop', 'B:j2');
    const pw = time(() => h.rcopy('io', 'write', 'A:w', '--file', src));
    out.push(result('host writes to an async P-VOL (journal absorbs them)', pw, 'dd conv=fsync', dd, '>= 0.50'));
    // pull + restore alone: the journaled data drained to the S-VOL
    const pr = time(() => {
      h.rcopy('pull', 'start', 'B:j2');
      h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
    });
    const cp = time(() => sh('sh', ['-c', `cp '${src}' '${h.file('cp.bin')}' && sync '${h.file('cp.bin')}'`]));
    fs.rmSync(h.file('cp.bin'));
    out.push(result('pull + restore (two arrays, one host)', pr, 'cp + sync', cp, '>= 0.70'));
    // the same with the pull running while the host writes (all four copies on one disk)
    const both = time(() => {
      h.rcopy('io', 'write', 'A:w', '--file', src);
      h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
    });
    out.push(result('host writes + pull + restore until drained', both, 'dd + cp', dd + cp, '', 'informational'));
    h.rcopy('pair', 'delete', 'B:w', '--yes');
    fs.rmSync(src);

    // initial copy of a fully written volume
    const big = h.file('big.bin');
    randomFile(big, vsize);
    const vs = `${Math.round(vsize / (1024 * 1024))}M`;
    h.rcopy('volume', 'create', 'A:big', '--size', vs);
    h.rcopy('volume', 'create', 'B:big', '--size', vs);
    h.rcopy('io', 'write', 'A:big', '--file', big);
    fs.rmSync(big);
    h.rcopy('journal', 'create', 'A:j3', '--size', '256M');
    h.rcopy('journal', 'create', 'B:j4', '--size', '256M');
    const img = h.json('volume', 'show', 'A:big').path as string;
    const cpImg = time(() => sh('sh', ['-c', `cp '${img}' '${h.file('img.copy')}' && sync '${h.file('img.copy')}'`]));
    const ic = time(() => h.rcopy('pair', 'create', 'A:big', 'B:big', '--journal', 'A:j3,B:j4', '--wait', '--timeout', '30m'));
    out.push(result(`initial copy of a fully written ${vs} volume`, ic, 'cp + sync', cpImg, '>= 0.80'));

    // resync after 1% changed in random 64 KiB blocks
    h.rcopy('pair', 'split', 'B:big');
    const changed = Math.round(vsize / 100);
    h.rcopy('workload', 'run', 'A:big', '--pattern', 'random', '--bs', '64k', '--bytes', String(changed), '--seed', '42');
    const tracks = h.json('pair', 'show', 'A:big').changedTracks as number;
    const rs = time(() => h.rcopy('pair', 'resync', 'B:big'));
    if (have('rsync')) {
      // the peer: the same change brought to the old image by rsync's delta algorithm
      h.rcopy('array', 'stop', 'A');
      const rsy = time(() => sh('rsync', ['--inplace', '--no-whole-file', img, h.file('img.copy')]));
      out.push(result(`resync after 1% of ${vs} changed (${tracks} tracks)`, rs, 'rsync --inplace --no-whole-file', rsy, '>= 25'));
    } else {
      out.push(result(`resync after 1% of ${vs} changed (${tracks} tracks)`, rs, 'rsync (not installed)', Number.NaN, '>= 25', 'install rsync'));
    }
    fs.rmSync(h.file('img.copy'), { force: true });
  } finally {
    h.cleanup();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) report(runReplication());
