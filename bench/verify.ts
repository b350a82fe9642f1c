/**
 * Online verify against sha256sum, in the same run on the same file system: `rcopy pair verify` of
 * a fully written pair (P-VOL and S-VOL of VERIFY_SIZE, default 4 GiB) vs `sha256sum` of both image
 * files (target: at least as fast, ratio >= 1). The pair is idle; both sides run twice, the best
 * counts. The page cache is warm for both (the images were just written and read).
 *   node dist/bench/verify.js          (VERIFY_SIZE=512M for a quick run)
 */
import { spawnSync } from 'node:child_process';
import { BenchHome, GiB, MiB, report, result, sizeArg, time, type BenchResult } from './lib.js';

const SIZE = sizeArg('VERIFY_SIZE', 4 * GiB);

function main(): void {
  const h = new BenchHome('rcopy-bench-verify-');
  const results: BenchResult[] = [];
  try {
    console.log(`verify: pair of ${SIZE / MiB} MiB volumes, home ${h.dir}`);
    for (const a of ['p', 's']) {
      h.rcopy('array', 'create', a, '--durability', 'none');
      h.rcopy('volume', 'create', `${a}:v`, '--size', String(SIZE));
      h.rcopy('journal', 'create', `${a}:j`, '--size', '256M');
    }
    h.rcopy('link', 'add', 'p', 's');
    const fill = time(() => h.rcopy('workload', 'run', 'p:v', '--pattern', 'seq', '--bs', '1M', '--bytes', String(SIZE), '--depth', '4'));
    console.log(`  filled p:v in ${fill.toFixed(2)} s`);
    const copy = time(() => h.rcopy('pair', 'create', 'p:v', 's:v', '--journal', 'p:j,s:j', '--wait', '--timeout', '1h'));
    console.log(`  initial copy in ${copy.toFixed(2)} s`);
    const imgs = ['p', 's'].map((a) => h.json<{ path: string }>('volume', 'show', `${a}:v`).path);
    spawnSync('sync');
    const sha = (): number =>
      time(() => {
        const r = spawnSync('sha256sum', imgs, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`);
        const sums = r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ')[0]);
        if (sums[0] !== sums[1]) throw new Error('the images differ');
      });
    const verify = (): number =>
      time(() => {
        const r = h.json<{ differingTracks: number; pairs: Array<{ compared: number; tracks: number }> }>('pair', 'verify', 's:v');
        if (r.differingTracks !== 0 || r.pairs[0]!.compared !== r.pairs[0]!.tracks) throw new Error(`verify: ${JSON.stringify(r)}`);
      });
    const v = Math.min(verify(), verify());
    const s = Math.min(sha(), sha());
    results.push(result(`pair verify of ${SIZE / GiB} GiB (both sides) vs sha256sum of both images`, v, 'sha256sum', s, '>= 1'));
    report(results);
  } finally {
    h.cleanup();
  }
}

main();
