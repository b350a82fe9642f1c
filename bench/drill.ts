/**
 * Issue 20: the cost of a running drill to pull + restore, two arrays on one host, same run.
 * Each round journals the same data twice on the primary (pull stopped) and times the pull +
 * restore until drained: once with no drill (the peer), once with an untouched drill running on
 * the group (the drill started right before, so every track the restore overwrites is still
 * shared with the view: the worst case, each one is kept first). Best of RCOPY_BENCH_ROUNDS
 * (default 3). Size: RCOPY_BENCH_WRITE (default 1G). Target: under 25% slower (ratio >= 0.75).
 */
import { BenchHome, GiB, randomFile, report, result, sizeArg, time, type BenchResult } from './lib.js';

function oneRound(wsize: number, src: string): { plain: number; drill: number } {
  const h = new BenchHome();
  try {
    for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
    const jsize = `${Math.ceil((wsize * 1.25) / (1024 * 1024))}M`;
    const vsize = `${Math.ceil(wsize / (1024 * 1024))}M`;
    h.rcopy('volume', 'create', 'A:w', '--size', vsize);
    h.rcopy('volume', 'create', 'B:w', '--size', vsize);
    h.rcopy('journal', 'create', 'A:j1', '--size', jsize);
    h.rcopy('journal', 'create', 'B:j2', '--size', jsize);
    h.rcopy('link', 'add', 'A', 'B');
    h.rcopy('pair', 'create', 'A:w', 'B:w', '--journal', 'A:j1,B:j2', '--wait');
    const drain = (): number => {
      h.rcopy('pull', 'stop', 'B:j2');
      h.rcopy('io', 'write', 'A:w', '--file', src);
      return time(() => {
        h.rcopy('pull', 'start', 'B:j2');
        h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
      });
    };
    drain(); // the S-VOL written once: both timed runs overwrite written tracks
    const plain = drain();
    h.rcopy('pull', 'stop', 'B:j2');
    h.rcopy('drill', 'start', 'B:w', '--name', 'bench');
    h.rcopy('pull', 'start', 'B:j2');
    const drill = drain();
    h.rcopy('drill', 'stop', 'B:bench');
    return { plain, drill };
  } finally {
    h.cleanup();
  }
}

export function runDrill(): BenchResult[] {
  const wsize = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const rounds = Math.max(1, Number(process.env.RCOPY_BENCH_ROUNDS ?? 3));
  const files = new BenchHome('rcopy-bench-src-');
  const rows: Array<{ plain: number; drill: number }> = [];
  try {
    const src = files.file('src.bin');
    randomFile(src, wsize);
    for (let r = 0; r < rounds; r++) {
      const row = oneRound(wsize, src);
      rows.push(row);
      console.log(`  round ${r + 1}: pull + restore ${row.plain.toFixed(2)}s without a drill, ${row.drill.toFixed(2)}s with one (${(row.plain / row.drill).toFixed(2)})`);
    }
  } finally {
    files.cleanup();
  }
  const w = `${Math.round(wsize / (1024 * 1024))}M`;
  const best = (k: 'plain' | 'drill'): number => Math.min(...rows.map((r) => r[k]));
  return [
    result(
      `pull + restore of ${w} with an untouched drill running (every overwritten track kept first)`,
      best('drill'),
      'the same without a drill',
      best('plain'),
      '>= 0.75',
      `rounds: ${rows.map((r) => (r.plain / r.drill).toFixed(2)).join(' ')}`,
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(runDrill());
