/**
 * `rcopy check`: health findings for monitoring (Nagios/Icinga plugin conventions). Pure: the CLI
 * gathers what the controllers say (CheckInput) and this module decides. Each kind of finding is
 * one FindingSource in SOURCES; a new kind of record (e.g. DR drills, once rcopy keeps them) adds
 * its data to CheckInput and one source to SOURCES, and nothing else changes.
 *
 * Status: the worst finding's (OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3, the plugin exit codes).
 */
import { rpoOf, type RpoSide } from './rpo.js';

export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
export const STATUS_EXIT: Record<Status, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export interface Thresholds {
  rpoWarnSeconds: number;
  rpoCritSeconds: number;
  /** Percent (0-100) of the master journal in use. */
  journalWarnPct: number;
  journalCritPct: number;
  /** A good backup never verified, or last verified longer ago than this, is a warning; null: not checked. */
  backupVerifyAgeSeconds: number | null;
}

export const DEFAULT_THRESHOLDS: Thresholds = { rpoWarnSeconds: 60, rpoCritSeconds: 300, journalWarnPct: 80, journalCritPct: 95, backupVerifyAgeSeconds: null };

/** One side of a pair as its controller describes it (the fields of server/methods.ts PairView used here). */
export interface CheckSide extends RpoSide {
  id: string;
  pvol: string;
  svol: string;
  group: string;
  journal: string;
  reason: string | null;
  journalUsedPct: number | null;
}

export interface CheckInput {
  now: number;
  /** Arrays looked at; `answered` false: the controller is not running or did not answer. */
  arrays: Array<{ name: string; answered: boolean; error: string | null; pairs: number }>;
  pairs: Array<{ id: string; p: CheckSide | null; s: CheckSide | null }>;
  /** Restore journals' pulls (ARRAY:JOURNAL) that currently fail. */
  pulls: Array<{ journal: string; lastError: string | null; failingSince: number | null }>;
  /** Backups of the arrays looked at, with their last verify (null: never verified). */
  backups: Array<{ id: string; source: string; state: string; error: string | null; lastVerify: { time: number; ok: boolean } | null }>;
}

export interface Finding {
  status: Status;
  kind: 'array' | 'pair-state' | 'rpo' | 'journal' | 'pull' | 'backup';
  subject: string;
  message: string;
}

export interface PerfDatum {
  label: string;
  value: number;
  uom: '' | 's' | '%' | 'B';
  warn: number | null;
  crit: number | null;
  min: number | null;
  max: number | null;
}

export type FindingSource = (input: CheckInput, t: Thresholds) => Finding[];

const SUSPENDED = new Set(['PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS']);

const arrayFindings: FindingSource = (input) =>
  input.arrays
    .filter((a) => !a.answered && a.pairs > 0)
    .map((a) => ({ status: 'CRITICAL', kind: 'array', subject: a.name, message: `array ${a.name} does not answer (${a.error ?? 'no controller'}); ${a.pairs} pair(s) there are not checked` }));

function pairFindings(input: CheckInput): Finding[] {
  const out: Finding[] = [];
  for (const x of input.pairs) {
    const either = (x.s ?? x.p)!;
    const name = `${either.pvol} -> ${either.svol}`;
    const sides = [x.p, x.s].filter((v): v is CheckSide => !!v);
    const bad = sides.find((v) => SUSPENDED.has(v.state));
    if (bad) out.push({ status: 'CRITICAL', kind: 'pair-state', subject: x.id, message: `pair ${name} is ${x.p?.state ?? '?'}/${x.s?.state ?? '?'}${bad.reason ? ` (${bad.reason})` : ''}` });
    else if (sides.some((v) => v.state === 'PFUL')) out.push({ status: 'WARNING', kind: 'pair-state', subject: x.id, message: `pair ${name} is PFUL: its master journal is over the high-water mark` });
  }
  return out;
}

function rpoFindings(input: CheckInput, t: Thresholds): Finding[] {
  const out: Finding[] = [];
  for (const x of input.pairs) {
    const r = rpoOf(x.p, x.s, input.now);
    if (r.rpoSeconds === null) continue;
    const status: Status = r.rpoSeconds >= t.rpoCritSeconds ? 'CRITICAL' : r.rpoSeconds >= t.rpoWarnSeconds ? 'WARNING' : 'OK';
    const either = (x.s ?? x.p)!;
    if (status !== 'OK')
      out.push({
        status,
        kind: 'rpo',
        subject: x.id,
        message: `pair ${either.pvol} -> ${either.svol}: RPO ${r.rpoSeconds.toFixed(1)}s (consistent at ${r.consistencyTime ?? 'unknown'}, ${r.entriesBehind} entries behind)`,
      });
  }
  return out;
}

/** Each master journal once (the P side's view of any of its pairs). */
function masterJournals(input: CheckInput): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of input.pairs) if (x.p && x.p.journalUsedPct !== null) out.set(x.p.journal, x.p.journalUsedPct);
  return out;
}

const journalFindings: FindingSource = (input, t) =>
  [...masterJournals(input)].flatMap(([j, pct]): Finding[] => {
    const status: Status = pct >= t.journalCritPct ? 'CRITICAL' : pct >= t.journalWarnPct ? 'WARNING' : 'OK';
    return status === 'OK' ? [] : [{ status, kind: 'journal', subject: j, message: `journal ${j} is ${pct}% full (warning at ${t.journalWarnPct}%, critical at ${t.journalCritPct}%)` }];
  });

const pullFindings: FindingSource = (input) =>
  input.pulls
    .filter((p) => p.failingSince !== null)
    .map((p) => ({
      status: 'WARNING',
      kind: 'pull',
      subject: p.journal,
      message: `the pull of ${p.journal} fails since ${new Date(p.failingSince!).toISOString()}: ${p.lastError ?? 'unknown error'}`,
    }));

/** A failed backup (warning); a good one whose last verify failed (critical: its data is not what was copied); with
 *  a verify age, a good one never verified or verified too long ago (warning). */
function backupFindings(input: CheckInput, t: Thresholds): Finding[] {
  const out: Finding[] = [];
  for (const b of input.backups) {
    const v = b.lastVerify;
    if (b.state === 'failed') out.push({ status: 'WARNING', kind: 'backup', subject: b.id, message: `backup ${b.id} of ${b.source} failed${b.error ? `: ${b.error}` : ''}` });
    else if (b.state !== 'good') continue;
    else if (v && !v.ok)
      out.push({ status: 'CRITICAL', kind: 'backup', subject: b.id, message: `backup ${b.id} of ${b.source} failed its last verify (${new Date(v.time).toISOString()}): its checksum does not match` });
    else if (t.backupVerifyAgeSeconds !== null && (!v || input.now - v.time > t.backupVerifyAgeSeconds * 1000))
      out.push({
        status: 'WARNING',
        kind: 'backup',
        subject: b.id,
        message: `backup ${b.id} of ${b.source} ${v ? `was last verified ${new Date(v.time).toISOString()}` : 'was never verified'} (--backup-verify-age ${t.backupVerifyAgeSeconds}s)`,
      });
  }
  return out;
}

/** Every kind of finding, in the order they are printed. Add a source here for a new kind. */
export const SOURCES: FindingSource[] = [arrayFindings, pairFindings, rpoFindings, journalFindings, pullFindings, backupFindings];

function perfData(input: CheckInput, t: Thresholds): PerfDatum[] {
  const out: PerfDatum[] = [];
  for (const x of input.pairs) {
    const r = rpoOf(x.p, x.s, input.now);
    const svol = (x.s ?? x.p)!.svol;
    if (r.rpoSeconds !== null) out.push({ label: `rpo ${svol}`, value: r.rpoSeconds, uom: 's', warn: t.rpoWarnSeconds, crit: t.rpoCritSeconds, min: 0, max: null });
    if (r.bytesBehind !== null) out.push({ label: `behind ${svol}`, value: r.bytesBehind, uom: 'B', warn: null, crit: null, min: 0, max: null });
  }
  for (const [j, pct] of masterJournals(input)) out.push({ label: `journal ${j}`, value: pct, uom: '%', warn: t.journalWarnPct, crit: t.journalCritPct, min: 0, max: 100 });
  return out;
}

const RANK: Status[] = ['OK', 'WARNING', 'UNKNOWN', 'CRITICAL'];

export interface CheckResult {
  status: Status;
  exitCode: number;
  findings: Finding[];
  perfdata: PerfDatum[];
  pairs: number;
}

export function evaluate(input: CheckInput, t: Thresholds): CheckResult {
  const findings = SOURCES.flatMap((src) => src(input, t));
  const status = findings.reduce<Status>((w, f) => (RANK.indexOf(f.status) > RANK.indexOf(w) ? f.status : w), 'OK');
  return { status, exitCode: STATUS_EXIT[status], findings, perfdata: perfData(input, t), pairs: input.pairs.length };
}

/** A number as performance data prints it: no exponent, at most 3 decimals. */
const num = (v: number | null): string => (v === null ? '' : String(Math.round(v * 1000) / 1000));

/** The standard performance-data text: 'label'=value[UOM];warn;crit;min;max, space separated. */
export function formatPerfData(perf: PerfDatum[]): string {
  return perf.map((d) => `'${d.label.replace(/'/g, "''").replace(/=/g, '_')}'=${num(d.value)}${d.uom};${num(d.warn)};${num(d.crit)};${num(d.min)};${num(d.max)}`.replace(/;+$/, '')).join(' ');
}

/** The plugin's output: a summary line with the performance data, then one line per finding. */
export function formatCheck(r: CheckResult): string {
  const counts = (['CRITICAL', 'WARNING', 'UNKNOWN'] as Status[]).map((s) => [s, r.findings.filter((f) => f.status === s).length] as const).filter(([, n]) => n > 0);
  const summary = counts.length ? counts.map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ') : `${r.pairs} pair(s) healthy`;
  const perf = formatPerfData(r.perfdata);
  return [`RCOPY ${r.status} - ${summary}${perf ? ` | ${perf}` : ''}`, ...r.findings.map((f) => `${f.status} - ${f.message}`)].join('\n');
}
