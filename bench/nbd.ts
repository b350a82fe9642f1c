/**
 * Issue 17: NBD exports against nbdkit, the reference NBD server, on the same disk in the same run.
 * `nbdcopy --flush` of a random image (RCOPY_BENCH_NBD, default 2G) into:
 *  - `nbdkit file` of a plain file (the peer);
 *  - an rcopy export of a plain volume (target: at least 80% of nbdkit's throughput);
 *  - an rcopy export of the P-VOL of an async pair, pull stopped so the journal absorbs the copy as
 *    it absorbs any burst: every byte is journaled too (target: at least 50%).
 * Both ends are durable when nbdcopy returns (--flush; rcopy's arrays use --durability fsync, their
 * default: every write is durable before it completes). nbdcopy picks its connections itself (both
 * servers advertise CAN_MULTI_CONN). The sequence runs RCOPY_BENCH_ROUNDS times (default 3), nbdkit
 * right before each rcopy step; the report compares the best times, every round's ratio beside.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BenchHome, GiB, MiB, have, randomFile, result, report, sh, sizeArg, time, type BenchResult } from './lib.js';

type Round = Record<'plain' | 'pvol', { rcopy: number; peer: number }>;

function nbdcopy(src: string, uri: string): number {
  return time(() => sh('nbdcopy', ['--flush', src, uri]));
}

let runs = 0;

/** nbdcopy into `nbdkit file` of a fresh plain file of the same size. */
function intoNbdkit(h: BenchHome, src: string, size: number): number {
  const n = (runs += 1);
  const file = h.file(`nbdkit-${n}.img`);
  const sock = h.file(`nbdkit-${n}.sock`);
  const pid = h.file(`nbdkit-${n}.pid`);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
  // nbdkit writes its pid file once it accepts connections
  const kit = spawn('nbdkit', ['-f', '-U', sock, '-P', pid, 'file', `file=${file}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    spawnSync('sh', ['-c', `until [ -e '${pid}' ]; do sleep 0.02; done`], { timeout: 30_000 });
    if (!fs.existsSync(pid)) throw new Error('nbdkit did not start');
    return nbdcopy(src, `nbd+unix:///?socket=${sock}`);
  } finally {
    kit.kill();
    for (const f of [file, pid, sock]) fs.rmSync(f, { force: true });
  }
}

function uriOf(h: BenchHome, ref: string): string {
  return h.json<{ uri: string }>('export', 'start', ref).uri;
}

function oneRound(src: string, size: number): Round {
  const h = new BenchHome();
  try {
    const vs = `${Math.ceil(size / MiB)}M`;
    h.rcopy('array', 'create', 'A');
    h.rcopy('volume', 'create', 'A:v', '--size', vs);
    const plainPeer = intoNbdkit(h, src, size);
    const plain = nbdcopy(src, uriOf(h, 'A:v'));
    h.rcopy('export', 'stop', 'A:v');
    h.rcopy('volume', 'delete', 'A:v', '--yes');

    h.rcopy('array', 'create', 'B');
    h.rcopy('volume', 'create', 'A:p', '--size', vs);
    h.rcopy('volume', 'create', 'B:p', '--size', vs);
    // under the high-water mark (80%): the pair stays PAIR, no PFUL
    const js = `${Math.ceil((size * 1.5) / MiB)}M`;
    h.rcopy('journal', 'create', 'A:j1', '--size', js);
    h.rcopy('journal', 'create', 'B:j2', '--size', js);
    h.rcopy('link', 'add', 'A', 'B');
    h.rcopy('pair', 'create', 'A:p', 'B:p', '--journal', 'A:j1,B:j2', '--wait');
    h.rcopy('pull', 'stop', 'B:j2');
    const pvolPeer = intoNbdkit(h, src, size);
    const pvol = nbdcopy(src, uriOf(h, 'A:p'));
    const journaled = h.json<{ primary: { journalUsedPct: number } | null }>('pair', 'show', 'A:p').primary?.journalUsedPct;
    console.log(`  round: plain ${plain.toFixed(2)} s (nbdkit ${plainPeer.toFixed(2)} s), P-VOL ${pvol.toFixed(2)} s (nbdkit ${pvolPeer.toFixed(2)} s), journal ${journaled ?? '?'}% used`);
    return { plain: { rcopy: plain, peer: plainPeer }, pvol: { rcopy: pvol, peer: pvolPeer } };
  } finally {
    h.cleanup();
  }
}

function main(): void {
  const missing = ['nbdcopy', 'nbdkit'].filter((t) => !have(t));
  if (missing.length) {
    console.log(`skipped: not installed: ${missing.join(', ')} (.ci/run installs libnbd-bin and nbdkit)`);
    return;
  }
  const size = sizeArg('RCOPY_BENCH_NBD', 2 * GiB);
  const rounds = Number(process.env.RCOPY_BENCH_ROUNDS ?? 3);
  const h = new BenchHome('rcopy-bench-src-');
  try {
    const src = h.file('src.img');
    randomFile(src, size);
    const all: Round[] = [];
    for (let i = 0; i < rounds; i++) all.push(oneRound(src, size));
    const best = (k: keyof Round, side: 'rcopy' | 'peer'): number => Math.min(...all.map((r) => r[k][side]));
    const each = (k: keyof Round): string => `rounds ${all.map((r) => (r[k].peer / r[k].rcopy).toFixed(2)).join(', ')}`;
    const gib = (size / GiB).toFixed(size % GiB ? 2 : 0);
    const results: BenchResult[] = [
      result(`nbdcopy ${gib} GiB into an export of a plain volume, best of ${rounds}`, best('plain', 'rcopy'), 'nbdkit file', best('plain', 'peer'), '>= 0.80', each('plain')),
      result(`nbdcopy ${gib} GiB into an export of an async P-VOL (journaled), best of ${rounds}`, best('pvol', 'rcopy'), 'nbdkit file', best('pvol', 'peer'), '>= 0.50', each('pvol')),
    ];
    report(results);
  } finally {
    h.cleanup();
  }
}

main();
