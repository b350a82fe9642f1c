/**
 * Issue 3 and 4 benchmarks, two arrays on one host:
 *  - host writes to the P-VOL of an async pair (pull stopped: the journal absorbs them) vs dd;
 *  - pull + restore of the journaled data vs cp + sync of the same amount;
 *  - initial copy of a fully written volume vs cp + sync of its image;
 *  - resync after 1% of the volume changed in random 64 KiB blocks vs rsync --inplace --no-whole-file.
 * Two floors are measured beside them: two copies at once (what the secondary of a pull writes)
 * against cp, and a bare resync with a consistent image (resync-floor.ts) against rsync.
 *
 * This machine's disk and memory are shared: the same write can take 5x longer from one minute to
 * the next (memory that sat idle for a few seconds is slow to touch again). So the whole sequence
 * runs RCOPY_BENCH_ROUNDS times (default 3), each peer measured right before its rcopy step, and
 * the report compares the best time of each (best-of-N, as hyperfine's min); every round's own
 * ratio is printed too.
 * Sizes: RCOPY_BENCH_WRITE (default 1G), RCOPY_BENCH_VOLUME (default 4G).
 */
import fs from 'node:fs';
import path from 'node:path';
import { workloadBlocks } from './resync-floor.js';
import { BenchHome, GiB, ROOT, have, journalBytesFor, medianRound, randomFile, result, report, sh, sizeArg, time, type BenchResult } from './lib.js';

interface Round {
  [name: string]: { rcopy: number; peer: number };
}

function oneRound(wsize: number, vsize: number, src: string, big: string, round: number): Round {
  const out: Round = {};
  const h = new BenchHome();
  try {
    for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
    const jsize = `${Math.ceil(journalBytesFor(wsize) / (1024 * 1024))}M`;
    h.rcopy('volume', 'create', 'A:w', '--size', `${Math.ceil(wsize / GiB)}G`);
    h.rcopy('volume', 'create', 'B:w', '--size', `${Math.ceil(wsize / GiB)}G`);
    h.rcopy('journal', 'create', 'A:j1', '--size', jsize);
    h.rcopy('journal', 'create', 'B:j2', '--size', jsize);
    h.rcopy('link', 'add', 'A', 'B');
    h.rcopy('pair', 'create', 'A:w', 'B:w', '--journal', 'A:j1,B:j2', '--wait');
    // host writes: the journal absorbs the burst (the secondary pulls it afterwards), which is
    // what an async pair is for; the journal is fsynced, the P-VOL's own copy at the checkpoint
    h.rcopy('pull', 'stop', 'B:j2');
    const dd = time(() => sh('dd', [`if=${src}`, `of=${h.file('plain.bin')}`, 'bs=1M', 'conv=fsync']));
    fs.rmSync(h.file('plain.bin'));
    out.hostWrites = { peer: dd, rcopy: time(() => h.rcopy('io', 'write', 'A:w', '--file', src)) };
    // the P-VOL's own copy of those writes is in the page cache (the journal is their durable
    // copy); it becomes durable when the journal frees the entries. Synced here, timed apart: it
    // belongs to the host writes (dd's conv=fsync is in its time), and left to the kernel it
    // lands on whichever of the floors or the pull below runs first
    out.pvolSync = { peer: dd, rcopy: time(() => sh('sync', [])) };
    // pull + restore alone: the journaled data drained to the S-VOL
    // the floor under it: the secondary writes every byte twice (restore journal, then S-VOL), so
    // two copies made at once and synced are the most it can reach on this one disk
    const two = time(() => sh('sh', ['-c', `cp '${src}' '${h.file('cp1.bin')}' & cp '${src}' '${h.file('cp2.bin')}'; wait; sync '${h.file('cp1.bin')}' '${h.file('cp2.bin')}'`]));
    for (const f of ['cp1.bin', 'cp2.bin']) fs.rmSync(h.file(f));
    const cp = time(() => sh('sh', ['-c', `cp '${src}' '${h.file('cp.bin')}' && sync '${h.file('cp.bin')}'`]));
    fs.rmSync(h.file('cp.bin'));
    out.pullFloor = { peer: cp, rcopy: two };
    const pr = time(() => {
      h.rcopy('pull', 'start', 'B:j2');
      h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
    });
    out.pullRestore = { peer: cp, rcopy: pr };
    out.pullVsFloor = { peer: two, rcopy: pr };
    // the same with the pull running while the host writes (all four copies on one disk)
    out.both = {
      peer: dd + cp,
      rcopy: time(() => {
        h.rcopy('io', 'write', 'A:w', '--file', src);
        h.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
      }),
    };
    h.rcopy('pair', 'delete', 'B:w', '--yes');

    // initial copy of a fully written volume
    const vs = `${Math.round(vsize / (1024 * 1024))}M`;
    h.rcopy('volume', 'create', 'A:big', '--size', vs);
    h.rcopy('volume', 'create', 'B:big', '--size', vs);
    h.rcopy('io', 'write', 'A:big', '--file', big);
    h.rcopy('journal', 'create', 'A:j3', '--size', '256M');
    h.rcopy('journal', 'create', 'B:j4', '--size', '256M');
    const img = h.json('volume', 'show', 'A:big').path as string;
    const cpImg = time(() => sh('sh', ['-c', `cp '${img}' '${h.file('img.copy')}' && sync '${h.file('img.copy')}'`]));
    const ic = time(() => h.rcopy('pair', 'create', 'A:big', 'B:big', '--journal', 'A:j3,B:j4', '--wait', '--timeout', '30m'));
    out.initialCopy = { peer: cpImg, rcopy: ic };

    // resync after 1% changed in random 64 KiB blocks (a different 1% each round)
    h.rcopy('pair', 'split', 'B:big');
    const changed = String(Math.round(vsize / 100));
    const seed = String(42 + round);
    h.rcopy('workload', 'run', 'A:big', '--pattern', 'random', '--bs', '64k', '--bytes', changed, '--seed', seed);
    const rs = time(() => h.rcopy('pair', 'resync', 'B:big'));
    // the floor under any command: one CLI process that asks both controllers about the pair
    const floor = time(() => h.rcopy('pair', 'show', 'B:big'));
    // the fixed cost of a resync: split and resync with nothing changed (the command, both sides'
    // durable state changes, the group switch), against a bare process start
    h.rcopy('pair', 'split', 'B:big');
    const fixed = time(() => h.rcopy('pair', 'resync', 'B:big'));
    const nodeStart = time(() => sh(process.execPath, ['-e', '0']));
    const sImg = h.json('volume', 'show', 'B:big').path as string;
    h.rcopy('array', 'stop', '--all');
    // the floor under a resync that keeps a consistent image (bench/resync-floor.ts): the same
    // tracks saved, copied and synced by one bare process (the S-VOL already holds them: the
    // content stays the same, the work is done all the same)
    fs.writeFileSync(h.file('tracks.txt'), workloadBlocks(Number(seed), vsize, 64 * 1024, Number(changed)).join('\n'));
    const bare = time(() => sh(process.execPath, [path.join(ROOT, 'dist', 'bench', 'resync-floor.js'), img, sImg, h.file('floor.img'), h.file('tracks.txt'), String(64 * 1024)]));
    if (have('rsync')) {
      // the peer: the same change brought to the old image by rsync's delta algorithm
      // (-I: compare the contents even if size and time happen to match)
      out.resync = { peer: time(() => sh('rsync', ['-I', '--inplace', '--no-whole-file', img, h.file('img.copy')])), rcopy: rs };
    } else out.resync = { peer: Number.NaN, rcopy: rs };
    out.cliFloor = { peer: out.resync.peer, rcopy: floor };
    out.resyncFloor = { peer: out.resync.peer, rcopy: bare };
    out.resyncVsFloor = { peer: bare, rcopy: rs };
    out.resyncFixed = { peer: nodeStart, rcopy: fixed };
    // the copy alone: the resync less its fixed cost, against the bare resync less its process start
    out.resyncCopyVsFloor = { peer: Math.max(1e-3, bare - nodeStart), rcopy: Math.max(1e-3, rs - fixed) };
    for (const pct of morePcts()) out[`resync${pct}`] = resyncAgainstFloor(h, img, sImg, vsize, pct, round);
  } finally {
    h.cleanup();
  }
  return out;
}

/** The larger changes a resync is measured after, besides 1% (RCOPY_BENCH_RESYNC_PCTS, default 10,50). */
function morePcts(): number[] {
  return (process.env.RCOPY_BENCH_RESYNC_PCTS ?? '10,50')
    .split(',')
    .filter(Boolean)
    .map(Number)
    .filter((n) => n > 0 && n < 100);
}

/**
 * A resync after `pct`% of the tracks changed (random 64 KiB writes: -ln(1 - p) of the volume in
 * bytes changes a share p of its tracks), against the bare copy of the same tracks that keeps the
 * same consistent image (resync-floor.ts), with both controllers stopped.
 */
function resyncAgainstFloor(h: BenchHome, img: string, sImg: string, vsize: number, pct: number, round: number): { rcopy: number; peer: number } {
  const bs = 64 * 1024;
  for (const a of ['A', 'B']) h.rcopy('array', 'start', a);
  h.rcopy('pair', 'split', 'B:big');
  const bytes = Math.round((-Math.log(1 - pct / 100) * vsize) / bs) * bs;
  const seed = 1000 * pct + round;
  h.rcopy('workload', 'run', 'A:big', '--pattern', 'random', '--bs', '64k', '--bytes', String(bytes), '--seed', String(seed));
  const rcopy = time(() => h.rcopy('pair', 'resync', 'B:big'));
  h.rcopy('pair', 'wait', 'B:big', '--state', 'PAIR', '--drained', '--timeout', '10m');
  h.rcopy('array', 'stop', '--all');
  const list = h.file(`tracks-${pct}.txt`);
  fs.writeFileSync(list, workloadBlocks(seed, vsize, bs, bytes).join('\n'));
  fs.rmSync(h.file('floor.img'), { force: true });
  const peer = time(() => sh(process.execPath, [path.join(ROOT, 'dist', 'bench', 'resync-floor.js'), img, sImg, h.file('floor.img'), list, String(bs)]));
  return { rcopy, peer };
}

export function runReplication(): BenchResult[] {
  const wsize = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const vsize = sizeArg('RCOPY_BENCH_VOLUME', 4 * GiB);
  const rounds = Math.max(1, Number(process.env.RCOPY_BENCH_ROUNDS ?? 3));
  const files = new BenchHome('rcopy-bench-src-');
  const rows: Round[] = [];
  try {
    const src = files.file('src.bin');
    const big = files.file('big.bin');
    randomFile(src, wsize);
    randomFile(big, vsize);
    for (let r = 0; r < rounds; r++) {
      const row = oneRound(wsize, vsize, src, big, r);
      rows.push(row);
      console.log(
        `  round ${r + 1}: ` +
          Object.entries(row)
            .map(([k, v]) => `${k} ${(v.peer / v.rcopy).toFixed(2)}`)
            .join(', '),
      );
    }
  } finally {
    files.cleanup();
  }
  const best = (k: string, side: 'rcopy' | 'peer'): number => Math.min(...rows.map((r) => r[k]![side]));
  const perRound = (k: string): string => `rounds: ${rows.map((r) => (r[k]!.peer / r[k]!.rcopy).toFixed(2)).join(' ')}`;
  const vs = `${Math.round(vsize / (1024 * 1024))}M`;
  const w = `${Math.round(wsize / (1024 * 1024))}M`;
  const out: BenchResult[] = [];
  const add = (k: string, name: string, peer: string, target: string, note = ''): void => {
    out.push(result(name, best(k, 'rcopy'), peer, best(k, 'peer'), target, [note, perRound(k)].filter(Boolean).join('; ')));
  };
  // against a floor measured in the same round: the median round (lib.ts medianRound)
  const addVsFloor = (k: string, name: string, peer: string, target: string): void => {
    out.push(
      medianRound(
        `${name}, the median round against its own floor`,
        rows.map((r) => r[k]!),
        peer,
        target,
      ),
    );
  };
  add('hostWrites', `host writes (${w}) to an async P-VOL, journal absorbs them`, 'dd conv=fsync', '>= 0.50');
  add('pvolSync', `the P-VOL's own copy of those writes made durable (sync, after them)`, 'the same dd', '', 'informational: timed apart, before the floors and the pull');
  add('pullRestore', `pull + restore of ${w} (two arrays, one host)`, 'cp + sync', '>= 0.70');
  addVsFloor('pullVsFloor', `pull + restore of ${w} against its floor (two copies at once + sync)`, 'the two copies', '>= 0.80');
  add('pullFloor', `two copies of ${w} at once + sync: the secondary's two writes, the floor under pull + restore`, 'cp + sync', '', 'informational: the most pull + restore can reach on this disk');
  add('both', `host writes + pull + restore of ${w} until drained`, 'dd + cp', '', 'informational');
  add('initialCopy', `initial copy of a fully written ${vs} volume`, 'cp + sync', '>= 0.80');
  add('resync', `resync after 1% of ${vs} changed (random 64 KiB blocks)`, have('rsync') ? 'rsync --inplace --no-whole-file' : 'rsync (not installed)', '>= 25');
  add(
    'resyncFloor',
    'bare resync with a consistent image (bench/resync-floor.ts, one process): the floor under rcopy pair resync',
    'the same rsync',
    '',
    'informational: the most a resync that keeps the image can reach',
  );
  addVsFloor('resyncVsFloor', `resync after 1% of ${vs} changed against the bare resync`, 'bare resync', '>= 0.80');
  add('resyncFixed', 'resync with nothing changed: the fixed cost of the command (CLI, both sides made durable, group switch)', 'a bare node process start', '', 'informational');
  addVsFloor('resyncCopyVsFloor', `resync after 1% of ${vs}, less the fixed cost above (the copy itself), against the bare resync less its process start`, 'bare resync less a node start', '');
  for (const pct of morePcts()) addVsFloor(`resync${pct}`, `resync after ${pct}% of the tracks of ${vs} changed against the bare copy of the same tracks`, 'bare resync', '>= 0.80');
  add('cliFloor', '`rcopy pair show`: one CLI round trip, the floor under any command', 'the same rsync', '', 'informational: the most any command can reach');
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) report(runReplication());
