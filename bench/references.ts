/**
 * Issue 7 benchmarks: references instead of data (DESIGN.md §2.4), two arrays on one host.
 *  - a duplicate-heavy workload (one random file written at many offsets, as a VM clone or a file
 *    copy does, plus zero blocks) pulled over a shaped link: bytes on the link and time until
 *    drained, with references and without;
 *  - a workload without duplicates (random data) over an unlimited link: pull + restore time with
 *    references (every block fingerprinted, nothing found) and without. Target: under 10% slower.
 * Each measurement: the primary's journal absorbs the workload with the pull stopped, then the
 * pull is started and timed until the pair is drained. Runs alternate on/off; the best of each counts
 * (the median is printed too: on a shared machine single runs vary by far more than 10%).
 *  - issue 23: the same duplicate-heavy pull right after a restart of both controllers (the file
 *    was sent before the restart; its copies are written after it), and a resync whose changed
 *    tracks are copies of tracks the S-VOL holds unchanged: bytes on the link with references on
 *    and off, in the same run.
 * Sizes: RCOPY_BENCH_DUP_FILE (default 4M), RCOPY_BENCH_DUP_COPIES (default 24),
 * RCOPY_BENCH_UNIQUE (default 512M), RCOPY_BENCH_RUNS (default 3), RCOPY_BENCH_BANDWIDTH (50MB/s),
 * RCOPY_BENCH_RESYNC_COPY (default 32M: the tracks copied while split).
 */
import { BenchHome, GiB, MiB, randomFile, report, result, sizeArg, time, type BenchResult } from './lib.js';
import { runAfterRestart, runResyncCopies } from './references-restart.js';

interface Run {
  seconds: number;
  logicalBytes: number;
  dataBytes: number;
  referenceBytes: number;
  referenceWireBytes: number;
}

function setup(h: BenchHome, volBytes: number, journalBytes: number, bandwidth: string | null): void {
  for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
  const vs = `${Math.ceil(volBytes / MiB)}M`;
  h.rcopy('volume', 'create', 'A:v', '--size', vs);
  h.rcopy('volume', 'create', 'B:v', '--size', vs);
  h.rcopy('journal', 'create', 'A:j1', '--size', `${Math.ceil(journalBytes / MiB)}M`);
  h.rcopy('journal', 'create', 'B:j2', '--size', `${Math.ceil(journalBytes / MiB)}M`);
  h.rcopy('link', 'add', 'A', 'B', ...(bandwidth ? ['--bandwidth', bandwidth] : []));
  h.rcopy('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--wait');
}

/** Writes the workload with the pull stopped, then times pull + restore until drained. */
function measure(h: BenchHome, refs: boolean, write: () => void): Run {
  h.rcopy('pull', 'stop', 'B:j2');
  write();
  const before = h.json('pull', 'status', 'B:j2');
  const seconds = time(() => {
    h.rcopy('pull', 'start', 'B:j2', refs ? '--references' : '--no-references');
    h.rcopy('pair', 'wait', 'B:v', '--drained', '--timeout', '30m');
  });
  const after = h.json('pull', 'status', 'B:j2');
  const a = h.json('io', 'checksum', 'A:v').sha256;
  const b = h.json('io', 'checksum', 'B:v').sha256;
  if (a !== b) throw new Error(`S-VOL differs from P-VOL after the pull (references ${refs ? 'on' : 'off'})`);
  const d = (k: string): number => (after[k] as number) - (before[k] as number);
  return { seconds, logicalBytes: d('logicalBytes'), dataBytes: d('dataBytes'), referenceBytes: d('referenceBytes'), referenceWireBytes: d('referenceWireBytes') };
}

function mb(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

export function runReferences(): BenchResult[] {
  const only = process.env.RCOPY_BENCH_REFS_ONLY; // 'restart' (the issue 23 rows only)
  if (only === 'restart') return [...runAfterRestart(), ...runResyncCopies()];
  const fileBytes = sizeArg('RCOPY_BENCH_DUP_FILE', 4 * MiB);
  const copies = Number(process.env.RCOPY_BENCH_DUP_COPIES ?? 24);
  const unique = sizeArg('RCOPY_BENCH_UNIQUE', 512 * MiB);
  const runs = Number(process.env.RCOPY_BENCH_RUNS ?? 3);
  const bandwidth = process.env.RCOPY_BENCH_BANDWIDTH ?? '50MB/s';
  const out: BenchResult[] = [];

  // ------------------------------------------------ duplicate-heavy, shaped link
  {
    const h = new BenchHome();
    try {
      const zeros = 8 * MiB;
      const vol = Math.max(GiB / 4, copies * fileBytes + zeros + 8 * MiB);
      setup(h, vol, copies * fileBytes + zeros + 64 * MiB, bandwidth);
      const src = h.file('clone.bin');
      let gen = 0;
      const workload = (): void => {
        // a fresh file each run: its first copy is new data, the others are duplicates
        randomFile(src, fileBytes);
        for (let i = 0; i < copies; i++) h.rcopy('io', 'write', 'A:v', '--file', src, '--offset', String(i * fileBytes));
        h.rcopy('io', 'write', 'A:v', '--pattern', 'zero', '--offset', String(copies * fileBytes + (gen++ % 2) * MiB), '--length', String(zeros - MiB));
      };
      const on: Run[] = [];
      const off: Run[] = [];
      for (let i = 0; i < runs; i++) {
        on.push(measure(h, true, workload));
        off.push(measure(h, false, workload));
      }
      const best = (rs: Run[]): Run => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const bOn = best(on);
      const bOff = best(off);
      console.log(
        `  duplicate-heavy (${copies} copies of a ${mb(fileBytes)} file + ${mb(zeros - MiB)} zeros, link ${bandwidth}):\n` +
          `    references on:  ${bOn.seconds.toFixed(2)} s, logical ${mb(bOn.logicalBytes)}, data on the link ${mb(bOn.dataBytes)}, references ${mb(bOn.referenceBytes)} (descriptors ${mb(bOn.referenceWireBytes)})\n` +
          `    references off: ${bOff.seconds.toFixed(2)} s, logical ${mb(bOff.logicalBytes)}, data on the link ${mb(bOff.dataBytes)}\n` +
          `    link bytes saved: ${(100 * (1 - (bOn.dataBytes + bOn.referenceWireBytes) / bOff.dataBytes)).toFixed(1)}%`,
      );
      out.push(
        result(
          `duplicate-heavy pull over ${bandwidth} (${mb(bOn.dataBytes + bOn.referenceWireBytes)} vs ${mb(bOff.dataBytes)} on the link)`,
          bOn.seconds,
          'references off',
          bOff.seconds,
          '> 1',
          'time with references on vs off',
        ),
      );
    } finally {
      h.cleanup();
    }
  }

  // ------------------------------------------------ no duplicates, unlimited link
  {
    const h = new BenchHome();
    try {
      setup(h, unique + 64 * MiB, unique + 128 * MiB, null);
      const src = h.file('unique.bin');
      const workload = (): void => {
        randomFile(src, unique);
        h.rcopy('io', 'write', 'A:v', '--file', src);
      };
      const on: number[] = [];
      const off: number[] = [];
      measure(h, false, workload); // warm-up: the first run also allocates the S-VOL's blocks
      for (let i = 0; i < runs; i++) {
        off.push(measure(h, false, workload).seconds);
        on.push(measure(h, true, workload).seconds);
      }
      const bOn = Math.min(...on);
      const bOff = Math.min(...off);
      const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      console.log(
        `  no duplicates (${mb(unique)} random): pull + restore with references ${on.map((x) => x.toFixed(2)).join('/')} s, without ${off.map((x) => x.toFixed(2)).join('/')} s\n` +
          `    cost of hashing: best ${(100 * (bOn / bOff - 1)).toFixed(1)}%, median ${(100 * (median(on) / median(off) - 1)).toFixed(1)}%`,
      );
      out.push(result(`no duplicates: pull + restore of ${mb(unique)} (cost of hashing)`, bOn, 'references off', bOff, '>= 0.91', 'under 10% slower'));
    } finally {
      h.cleanup();
    }
  }
  out.push(...runAfterRestart(), ...runResyncCopies());
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) report(runReferences());
