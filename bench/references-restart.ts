/**
 * Issue 23 benchmarks of references (bench/references.ts runs them; `RCOPY_BENCH_REFS_ONLY=restart`
 * runs only these): bytes on the link with references on and off, in the same run, best of
 * RCOPY_BENCH_RUNS rounds (each round's figures printed).
 *  - after a restart: a file is written and pulled, both controllers are stopped and started, then
 *    the file is written RCOPY_BENCH_DUP_COPIES times elsewhere with the pull stopped, and the pull
 *    is timed until drained. With references the primary's index comes back from its file.
 *  - a resync whose changed tracks are copies of unchanged ones: RCOPY_BENCH_RESYNC_COPY of random
 *    data is written and pulled, the pair split, the same data written at another offset, and
 *    `pair resync` timed (references on, or --no-references).
 */
import { BenchHome, MiB, randomFile, result, sizeArg, time, type BenchResult } from './lib.js';

function setup(h: BenchHome, volBytes: number, journalBytes: number, bandwidth: string): void {
  for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
  h.rcopy('volume', 'create', 'A:v', '--size', `${Math.ceil(volBytes / MiB)}M`);
  h.rcopy('volume', 'create', 'B:v', '--size', `${Math.ceil(volBytes / MiB)}M`);
  h.rcopy('journal', 'create', 'A:j1', '--size', `${Math.ceil(journalBytes / MiB)}M`);
  h.rcopy('journal', 'create', 'B:j2', '--size', `${Math.ceil(journalBytes / MiB)}M`);
  h.rcopy('link', 'add', 'A', 'B', '--bandwidth', bandwidth);
  h.rcopy('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--wait');
}

function mb(n: number): string {
  return n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(1)} MiB`;
}

interface Bytes {
  seconds: number;
  logical: number;
  link: number;
}

function restartBoth(h: BenchHome): void {
  h.rcopy('array', 'stop', 'A');
  h.rcopy('array', 'stop', 'B');
  h.rcopy('array', 'start', 'A');
  h.rcopy('array', 'start', 'B');
}

function checkEqual(h: BenchHome, what: string): void {
  if (h.json('io', 'checksum', 'A:v').sha256 !== h.json('io', 'checksum', 'B:v').sha256) throw new Error(`S-VOL differs from P-VOL after ${what}`);
}

function line(label: string, r: Bytes[]): string {
  return `    ${label}: ${r.map((x) => `${x.seconds.toFixed(2)} s ${mb(x.link)}`).join(', ')} on the link (logical ${mb(r[0]!.logical)} each)`;
}

function best(rs: Bytes[]): Bytes {
  return rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

/**
 * Runs `round` with references on and off, alternating, `runs` times each; prints every round
 * under `heading` and returns the row named by `title` (best of each side) with its link bytes.
 */
function onAgainstOff(runs: number, round: (refs: boolean) => Bytes, heading: string, title: (on: Bytes, off: Bytes) => string): BenchResult[] {
  const on: Bytes[] = [];
  const off: Bytes[] = [];
  for (let i = 0; i < runs; i++) {
    on.push(round(true));
    off.push(round(false));
  }
  const bOn = best(on);
  const bOff = best(off);
  console.log(`  ${heading}:`);
  console.log(line('references on ', on));
  console.log(line('references off', off));
  const note = `link bytes ${(100 * (bOn.link / bOff.link)).toFixed(1)}% of references off (every round: ${on.every((o, i) => o.link < off[i]!.link) ? 'fewer' : 'NOT fewer'}); ratio = time`;
  return [
    result(
      title(bOn, bOff),
      bOn.seconds,
      'references off',
      bOff.seconds,
      'fewer link bytes than references off',
      note,
      on.every((o, i) => o.link < off[i]!.link),
    ),
  ];
}

export function runAfterRestart(): BenchResult[] {
  const fileBytes = sizeArg('RCOPY_BENCH_DUP_FILE', 4 * MiB);
  const copies = Number(process.env.RCOPY_BENCH_DUP_COPIES ?? 24);
  const runs = Number(process.env.RCOPY_BENCH_RUNS ?? 3);
  const bandwidth = process.env.RCOPY_BENCH_BANDWIDTH ?? '50MB/s';
  const h = new BenchHome();
  try {
    const slot = (copies + 1) * fileBytes;
    setup(h, 2 * runs * slot + 8 * MiB, slot + 64 * MiB, bandwidth);
    const src = h.file('clone.bin');
    let base = 0;
    const round = (refs: boolean): Bytes => {
      const flag = refs ? '--references' : '--no-references';
      randomFile(src, fileBytes);
      h.rcopy('pull', 'start', 'B:j2', flag);
      h.rcopy('io', 'write', 'A:v', '--file', src, '--offset', String(base));
      h.rcopy('pair', 'wait', 'B:v', '--drained', '--timeout', '30m');
      restartBoth(h);
      h.rcopy('pull', 'stop', 'B:j2');
      for (let i = 1; i <= copies; i++) h.rcopy('io', 'write', 'A:v', '--file', src, '--offset', String(base + i * fileBytes));
      base += slot;
      const before = h.json('pull', 'status', 'B:j2');
      const seconds = time(() => {
        h.rcopy('pull', 'start', 'B:j2', flag);
        h.rcopy('pair', 'wait', 'B:v', '--drained', '--timeout', '30m');
      });
      const after = h.json('pull', 'status', 'B:j2');
      checkEqual(h, `the pull after a restart (references ${refs ? 'on' : 'off'})`);
      const d = (k: string): number => (after[k] as number) - (before[k] as number);
      return { seconds, logical: d('logicalBytes'), link: d('dataBytes') + d('referenceWireBytes') };
    };
    return onAgainstOff(
      runs,
      round,
      `duplicate-heavy pull right after a restart of both controllers (${copies} copies of a ${mb(fileBytes)} file sent before it, link ${bandwidth})`,
      (on, off) => `duplicate-heavy pull right after a restart of both controllers, ${mb(on.logical)} logical over ${bandwidth} (${mb(on.link)} vs ${mb(off.link)} on the link)`,
    );
  } finally {
    h.cleanup();
  }
}

export function runResyncCopies(): BenchResult[] {
  const bytes = sizeArg('RCOPY_BENCH_RESYNC_COPY', 32 * MiB);
  const runs = Number(process.env.RCOPY_BENCH_RUNS ?? 3);
  const bandwidth = process.env.RCOPY_BENCH_BANDWIDTH ?? '50MB/s';
  const h = new BenchHome();
  try {
    setup(h, 4 * runs * bytes + 8 * MiB, 2 * bytes + 64 * MiB, bandwidth);
    const src = h.file('tracks.bin');
    let base = 0;
    const round = (refs: boolean): Bytes => {
      randomFile(src, bytes);
      h.rcopy('io', 'write', 'A:v', '--file', src, '--offset', String(base));
      h.rcopy('pair', 'wait', 'B:v', '--drained', '--timeout', '30m');
      h.rcopy('pair', 'split', 'B:v');
      h.rcopy('io', 'write', 'A:v', '--file', src, '--offset', String(base + bytes));
      base += 2 * bytes;
      const seconds = time(() => h.rcopy('pair', 'resync', 'B:v', ...(refs ? [] : ['--no-references'])));
      const rs = h.json('pair', 'show', 'B:v').resync;
      h.rcopy('pair', 'wait', 'B:v', '--drained', '--timeout', '30m');
      checkEqual(h, `the resync (references ${refs ? 'on' : 'off'})`);
      return { seconds, logical: rs.logicalBytes, link: rs.dataBytes + (rs.referenceWireBytes ?? 0) };
    };
    return onAgainstOff(
      runs,
      round,
      `resync whose ${mb(bytes)} of changed tracks are copies of tracks the S-VOL holds unchanged (link ${bandwidth})`,
      (on, off) => `resync of ${mb(on.logical)} of changed tracks that are copies of unchanged ones, over ${bandwidth} (${mb(on.link)} vs ${mb(off.link)} on the link)`,
    );
  } finally {
    h.cleanup();
  }
}
