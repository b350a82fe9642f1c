/**
 * Issue 20: the cost of a running drill to pull + restore, two arrays on one host, same run.
 * Each round journals the same data on the primary (pull stopped) and times the pull + restore
 * until drained, three times after two untimed drains (so every drain overwrites written blocks, of
 * the S-VOL and of both journals):
 *   plain   no drill (the peer);
 *   worst   an untouched drill started right before: every track the restore overwrites is still
 *           shared with the view, so each one is kept first (read from the S-VOL, written to the
 *           keep store, one fdatasync per batch);
 *   steady  a further drain with that drill still running: every track is kept already, nothing
 *           to copy (the steady state of an untouched drill);
 *   after   a plain drain again once the drill has stopped: the steady state's peer, next to it in
 *           time (the plain drain before the drill was the slower of the two in most rounds, loaded).
 * Then, in the same round on the same disk, the design's floor (bench/drill-floor.ts, one bare
 * process): the same bytes appended to a journal and written onto an S-VOL image, durable as the
 * arrays make them, without the keep, with it, and with it overlapped with the batch before. The rows: the worst case against the plain drain
 * (target: under 25% slower, ratio >= 0.75), the floor's own ratio, rcopy's worst-case ratio
 * against the floor's (the median round with its own figures, best of each side beside it), and
 * the steady state against the plain drain after it (about 1). Every round's ratios are printed, with the
 * secondary controller's CPU seconds per drain.
 * RCOPY_BENCH_ROUNDS (default 3), size RCOPY_BENCH_WRITE (default 1G).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BenchHome, GiB, ROOT, journalBytesFor, medianRound, randomFile, report, sizeArg, time, type BenchResult } from './lib.js';

interface Round {
  plain: number;
  /** a plain drain again once the drill has stopped: the peer of the steady state, next to it in time */
  after: number;
  worst: number;
  steady: number;
  floorPlain: number;
  floorDrill: number;
  /** the floor with each batch's keep run while the batch before it is written (the best schedule) */
  floorOverlap: number;
  /** the secondary controller's CPU seconds in each drain */
  cpu: { plain: number; worst: number; steady: number; after: number };
}

/** utime + stime of a process, in seconds (Linux; 0 elsewhere). */
function cpuOf(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

function rcopyRound(h: BenchHome, wsize: number, src: string): Omit<Round, 'floorPlain' | 'floorDrill' | 'floorOverlap'> {
  for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
  const jsize = `${Math.ceil(journalBytesFor(wsize) / (1024 * 1024))}M`;
  const vsize = `${Math.ceil(wsize / (1024 * 1024))}M`;
  h.rcopy('volume', 'create', 'A:w', '--size', vsize);
  h.rcopy('volume', 'create', 'B:w', '--size', vsize);
  h.rcopy('journal', 'create', 'A:j1', '--size', jsize);
  h.rcopy('journal', 'create', 'B:j2', '--size', jsize);
  h.rcopy('link', 'add', 'A', 'B');
  h.rcopy('pair', 'create', 'A:w', 'B:w', '--journal', 'A:j1,B:j2', '--wait');
  const pid = h.json<{ pid: number }>('array', 'start', 'B').pid;
  const drain = (): { s: number; cpu: number } => {
    h.rcopy('pull', 'stop', 'B:j2');
    h.rcopy('io', 'write', 'A:w', '--file', src);
    const c0 = cpuOf(pid);
    const s = time(() => {
      h.rcopy('pull', 'start', 'B:j2');
      h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
    });
    return { s, cpu: cpuOf(pid) - c0 };
  };
  // untimed: the S-VOL written, and both journals (rings of 1.25 times the data plus two batches, sparse when
  // made) written all round, so every timed drain overwrites written blocks
  drain();
  drain();
  const plain = drain();
  h.rcopy('pull', 'stop', 'B:j2');
  h.rcopy('drill', 'start', 'B:w', '--name', 'bench');
  h.rcopy('pull', 'start', 'B:j2');
  const worst = drain();
  const steady = drain();
  h.rcopy('drill', 'stop', 'B:bench');
  const after = drain();
  h.rcopy('array', 'stop', '--all');
  return { plain: plain.s, worst: worst.s, steady: steady.s, after: after.s, cpu: { plain: plain.cpu, worst: worst.cpu, steady: steady.cpu, after: after.cpu } };
}

function oneRound(wsize: number, src: string): Round {
  const h = new BenchHome();
  try {
    const r = rcopyRound(h, wsize, src);
    // the floor, on the same disk right after (the controllers stopped)
    const floor = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'drill-floor.js'), h.dir, String(wsize), 'plain,drill,overlap'], { encoding: 'utf8' })) as Record<
      'plain' | 'drill' | 'overlap',
      number
    >;
    return { ...r, floorPlain: floor.plain, floorDrill: floor.drill, floorOverlap: floor.overlap };
  } finally {
    h.cleanup();
  }
}

const f2 = (n: number): string => n.toFixed(2);

export function runDrill(): BenchResult[] {
  const wsize = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const rounds = Math.max(1, Number(process.env.RCOPY_BENCH_ROUNDS ?? 3));
  const files = new BenchHome('rcopy-bench-src-');
  const rows: Round[] = [];
  try {
    const src = files.file('src.bin');
    randomFile(src, wsize);
    for (let i = 0; i < rounds; i++) {
      const r = oneRound(wsize, src);
      rows.push(r);
      console.log(
        `  round ${i + 1}: rcopy plain ${f2(r.plain)}s, worst ${f2(r.worst)}s (${f2(r.plain / r.worst)}), steady ${f2(r.steady)}s, plain after it ${f2(r.after)}s (${f2(r.after / r.steady)}); ` +
          `floor plain ${f2(r.floorPlain)}s, drill ${f2(r.floorDrill)}s (${f2(r.floorPlain / r.floorDrill)}), overlapped ${f2(r.floorOverlap)}s (${f2(r.floorPlain / r.floorOverlap)}); rcopy/floor ${f2(r.plain / r.worst / (r.floorPlain / r.floorDrill))}; ` +
          `secondary CPU plain/worst/steady/after ${f2(r.cpu.plain)}/${f2(r.cpu.worst)}/${f2(r.cpu.steady)}/${f2(r.cpu.after)}s`,
      );
    }
  } finally {
    files.cleanup();
  }
  const w = `${Math.round(wsize / (1024 * 1024))}M`;
  return drillRows(rows, w);
}

/** The rows against a peer of the same round: the median round with its own figures (lib.ts medianRound). */
function drillRows(rows: Round[], w: string): BenchResult[] {
  type Side = (r: Round) => number;
  const row = (name: string, mine: Side, peerName: string, peer: Side, target: string, unit = ' s'): BenchResult =>
    medianRound(
      `${name}, the median round`,
      rows.map((r) => ({ rcopy: mine(r), peer: peer(r) })),
      peerName,
      target,
      unit,
    );
  return [
    row(
      `pull + restore of ${w} with an untouched drill, worst case (every overwritten track kept first)`,
      (r) => r.worst,
      'the same without a drill',
      (r) => r.plain,
      '>= 0.75',
    ),
    row(
      `the floor (bench/drill-floor.ts, one bare process): journal append + S-VOL write of ${w} with the keep (read old tracks, write, fdatasync per batch)`,
      (r) => r.floorDrill,
      'the same without the keep',
      (r) => r.floorPlain,
      '',
    ),
    row(
      `the floor with each batch's keep done while the batch before it is written (the best schedule: what no design that keeps the S-VOL a flat image beats on this disk)`,
      (r) => r.floorOverlap,
      'the floor without the keep',
      (r) => r.floorPlain,
      '',
    ),
    // slowdown factors: rcopy's worst/plain against the floor's drill/plain (ratio = rcopy's ratio / the floor's)
    row(
      `rcopy's worst-case ratio against the floor's (slowdown with a drill, rcopy vs floor)`,
      (r) => r.worst / r.plain,
      'floor',
      (r) => r.floorDrill / r.floorPlain,
      '>= 0.85',
      'x',
    ),
    row(
      `pull + restore of ${w} with the drill still running, steady state (every track kept already)`,
      (r) => r.steady,
      'the same once the drill stopped',
      (r) => r.after,
      '>= 0.90',
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(runDrill());
