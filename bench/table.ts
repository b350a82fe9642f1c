/**
 * The table of one `npm run bench` run: every row the benches recorded (lib.ts `record`), with the
 * commit, the command and the machine's load, as Markdown. run.ts writes it to bench/RESULTS.md and,
 * with --readme, into the README between its two bench-table markers, so that every figure there
 * comes from one run on one commit.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { BenchRow } from './lib.js';

export interface RecordedRow extends BenchRow {
  group: string;
  load: number;
}

export interface RunInfo {
  command: string;
  started: Date;
  ended: Date;
  groups: Array<{ group: string; seconds: number; loadBefore: number; loadAfter: number; failed: boolean }>;
}

export const START = '<!-- bench-table:start (written by `npm run bench -- --readme`; do not edit by hand) -->';
export const END = '<!-- bench-table:end -->';

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The commit the run measured, and whether tracked files differed from it. */
export function commitOf(root: string): string {
  const head = git(['rev-parse', '--short=10', 'HEAD'], root) || 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no'], root) !== '';
  return dirty ? `${head} with uncommitted changes` : head;
}

export function readRows(file: string): RecordedRow[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RecordedRow);
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mark = (met: boolean | null): string => (met === null ? '' : met ? 'met' : '**not met**');

export function markdown(rows: RecordedRow[], info: RunInfo, commit: string): string {
  const minutes = ((info.ended.getTime() - info.started.getTime()) / 60_000).toFixed(0);
  const out = [
    `One run: \`${info.command}\` on commit \`${commit}\`, ${info.started.toISOString().slice(0, 16)}–${info.ended.toISOString().slice(11, 16)} UTC (${minutes} min),`,
    `${os.availableParallelism()} cores, Node ${process.version}. Ratios are peer time / rcopy time (1.0 = as fast as the peer) unless the row says`,
    'otherwise; "load" is the 1-minute load average when the row was measured. Floors are rows whose peer is the floor.',
    '',
    '| group | benchmark | rcopy | peer, same run | ratio | target | | note | load |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) out.push(`| ${[r.group, r.name, r.rcopy, r.peer, r.ratio, r.target, mark(r.met), r.note, String(r.load)].map(cell).join(' | ')} |`);
  const failed = info.groups.filter((g) => g.failed).map((g) => g.group);
  out.push('');
  out.push(`Groups: ${info.groups.map((g) => `${g.group} ${(g.seconds / 60).toFixed(1)} min (load ${g.loadBefore}→${g.loadAfter})`).join(', ')}.`);
  if (failed.length) out.push(`Failed (no rows or partial rows): ${failed.join(', ')}.`);
  return `${out.join('\n')}\n`;
}

/** Puts the table between the README's markers; refuses if they are missing. */
export function intoReadme(readme: string, table: string): void {
  const text = fs.readFileSync(readme, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readme}: the bench-table markers are missing`);
  fs.writeFileSync(readme, `${text.slice(0, a + START.length)}\n${table}${text.slice(b)}`);
}
