/**
 * Shared by the benchmarks: a throw-away RCOPY_HOME, running rcopy and peer tools, timing, and
 * printing results as ratios against the peer measured in the same run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'rcopy');
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface BenchResult {
  name: string;
  rcopy: number; // seconds
  peer: number; // seconds
  peerName: string;
  ratio: number; // peer time / rcopy time (1 = as fast as the peer; >1 faster)
  target?: string;
  note?: string;
  /** What rcopy and peer are in, ' s' (seconds) unless said: a row of ratios says 'x' (a slowdown factor). */
  unit?: string;
}

export class BenchHome {
  readonly dir: string;
  constructor(prefix = 'rcopy-bench-') {
    const base = process.env.RCOPY_BENCH_DIR ?? os.tmpdir();
    this.dir = fs.mkdtempSync(path.join(base, prefix));
  }
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, RCOPY_HOME: path.join(this.dir, 'home'), NO_COLOR: '1', CI: 'true' };
  }
  rcopy(...args: string[]): string {
    const r = spawnSync(BIN, args, { env: this.env, encoding: 'utf8', maxBuffer: 64 * MiB });
    if (r.status !== 0) throw new Error(`rcopy ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  json<T = any>(...args: string[]): T {
    return JSON.parse(this.rcopy(...args, '--json')) as T;
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }
  cleanup(): void {
    spawnSync(process.execPath, [BIN, 'array', 'stop', '--all'], { env: this.env });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Seconds taken by fn. */
/**
 * The journal ring for a bench that writes `bytes`: 1.25 times the data, plus two pull batches
 * (16 MiB each). A batch the secondary holds when its pull stops stays in the primary's journal,
 * so with small writes 1.25x alone filled the journal (PFUS) and a drained wait never ended.
 */
export function journalBytesFor(bytes: number): number {
  return Math.ceil(bytes * 1.25) + 2 * 16 * MiB;
}

export function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

export function dropCaches(): void {
  spawnSync('sync');
}

/** Makes a file of random data (incompressible, no holes). */
export function randomFile(file: string, bytes: number): void {
  sh('sh', ['-c', `head -c ${bytes} /dev/urandom > '${file}'`]);
}

export function report(results: BenchResult[]): void {
  const rows = results.map((r) => ({
    benchmark: r.name,
    rcopy: `${r.rcopy.toFixed(3)}${r.unit ?? ' s'}`,
    peer: `${r.peerName} ${r.peer.toFixed(3)}${r.unit ?? ' s'}`,
    ratio: r.ratio.toFixed(2),
    target: r.target ?? '',
    note: r.note ?? '',
  }));
  const head = Object.keys(rows[0] ?? {}) as Array<keyof (typeof rows)[number]>;
  const width = head.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i]!)).join('  ');
  console.log(line(head as string[]));
  for (const r of rows) console.log(line(head.map((h) => String(r[h]))));
}

/**
 * A row timed against a peer; `met` judges a target that is not about the ratio (bytes, say).
 * `unit`: what rcopy and peer are in, ' s' (seconds) unless said: a row of ratios says 'x' (a slowdown factor).
 */
export function result(name: string, rcopy: number, peerName: string, peer: number, target?: string, note?: string, met?: boolean, unit = ' s'): BenchResult {
  const r = { name, rcopy, peer, peerName, ratio: peer / rcopy, target, note, unit };
  console.log(`  ${name}: rcopy ${rcopy.toFixed(3)}${unit}, ${peerName} ${peer.toFixed(3)}${unit}, ratio ${(peer / rcopy).toFixed(2)}${target ? ` (target ${target})` : ''}`);
  const fmt = (v: number): string => (unit === ' s' ? secs(v) : `${v.toFixed(3)}${unit}`);
  record({ name, rcopy: fmt(rcopy), peer: `${peerName} ${fmt(peer)}`, ratio: (peer / rcopy).toFixed(2), target: target ?? '', met: met ?? judge(target, peer / rcopy), note: note ?? '' });
  return r;
}

/**
 * A row against a peer measured in the same round: the round whose own ratio is the median (the
 * lower one of an even count) with its own figures, every round's ratio and the best of each side
 * beside it. The best time of each side would pair a lucky peer round (a floor varies more than
 * rcopy from round to round) with another round's rcopy time.
 */
export function medianRound(name: string, rounds: ReadonlyArray<{ rcopy: number; peer: number }>, peerName: string, target: string, unit = ' s'): BenchResult {
  const ratio = (r: { rcopy: number; peer: number }): number => r.peer / r.rcopy;
  const at = [...rounds].sort((a, b) => ratio(a) - ratio(b))[Math.floor((rounds.length - 1) / 2)]!;
  const best = Math.min(...rounds.map((r) => r.peer)) / Math.min(...rounds.map((r) => r.rcopy));
  const note = `rounds: ${rounds.map((r) => ratio(r).toFixed(2)).join(' ')}; best of each side: ${best.toFixed(2)}`;
  return result(name, at.rcopy, peerName, at.peer, target, note, undefined, unit);
}

/** One row of the table `npm run bench` writes (bench/run.ts): every figure as it is shown. */
export interface BenchRow {
  name: string;
  rcopy: string;
  peer: string;
  ratio: string;
  target: string;
  met: boolean | null; // null: informational, or a target the figure does not judge
  note: string;
}

const secs = (s: number): string => (s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(1)} s`);

/** Whether a ratio meets a target written as '>= 0.80', '> 1', '<= 3' (its first number); null if none. */
export function judge(target: string | undefined, value: number): boolean | null {
  const m = /^\s*(>=|>|<=|<)\s*([\d.]+)/.exec(target ?? '');
  if (!m) return null;
  const t = Number(m[2]);
  return m[1] === '>=' ? value >= t : m[1] === '>' ? value > t : m[1] === '<=' ? value <= t : value < t;
}

/**
 * Adds a row to the run's table: bench/run.ts sets RCOPY_BENCH_RESULTS (a JSON-lines file) and
 * RCOPY_BENCH_GROUP; a bench run on its own only prints. The load average is taken here, at the
 * moment the figure is known.
 */
export function record(row: BenchRow): void {
  const file = process.env.RCOPY_BENCH_RESULTS;
  if (!file) return;
  fs.appendFileSync(file, `${JSON.stringify({ group: process.env.RCOPY_BENCH_GROUP ?? '', load: Number(os.loadavg()[0]!.toFixed(1)), ...row })}\n`);
}

export function sizeArg(name: string, dflt: number): number {
  const v = process.env[name];
  if (!v) return dflt;
  const m = /^(\d+)([MG])?$/i.exec(v);
  if (!m) throw new Error(`${name}=${v}: use e.g. 512M or 4G`);
  return Number(m[1]) * (m[2]?.toUpperCase() === 'G' ? GiB : m[2] ? MiB : 1);
}
