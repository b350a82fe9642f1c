/**
 * Running a runbook (see model.ts for its format). Before anything runs, every step's command is
 * parsed by the same commander program tree as the command line, with the actions replaced, so an
 * unknown command or option is reported with its line and nothing has changed. Each step then runs
 * the real rcopy binary as a child process (same environment, so the same RCOPY_HOME), without a
 * terminal: a step never prompts.
 *
 * Nesting: each child gets RCOPY_RUNBOOK_CHAIN, the JSON list of the runbooks that are running
 * (outermost first, this one last); `rcopy run` refuses to start a runbook when the chain already
 * holds LIMITS.nesting of them, naming the chain (a runbook that runs itself stops at 8 levels).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import { RcopyError } from '../../errors.js';
import { newProgram } from '../program-factory.js';
import { selfCommand } from '../start.js';
import { parseDuration } from '../../units.js';
import { LIMITS, runbookError, type JsonCheck, type Runbook, type Scalar, type Step } from './model.js';
import { expand, showCommand, substitute, wordTooLong } from './words.js';

/** The environment variable that carries the chain of running runbooks to nested `rcopy run`s. */
export const CHAIN_ENV = 'RCOPY_RUNBOOK_CHAIN';

/** The runbooks running around this process (outermost first), from RCOPY_RUNBOOK_CHAIN. */
export function runbookChain(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env[CHAIN_ENV];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* not ours: treat as too deep rather than as none */
  }
  return Array.from({ length: LIMITS.nesting }, () => '?');
}

/** Refuses to start `file` when LIMITS.nesting runbooks already run around it. */
export function checkNesting(file: string, chain: string[] = runbookChain()): void {
  if (chain.length < LIMITS.nesting) return;
  const names = [...chain, path.resolve(file)].map((f) => path.basename(f));
  throw runbookError(
    `runbooks nest more than ${LIMITS.nesting} deep: ${names.join(' -> ')}`,
    'a runbook that runs itself (or a chain that comes back to itself) never ends; run the inner runbook on its own',
  );
}

export interface StepResult {
  index: number;
  name: string;
  command: string;
  /** The `rcopy pair wait` that followed the command. */
  waited?: string;
  exitCode: number;
  seconds: number;
  ok: boolean;
  /** The step failed and `on-error: continue` let the run go on. */
  continued?: boolean;
  /** Why the step failed: the command's error, or the expectation that did not hold. */
  error?: string;
  stdout?: string;
  stderr?: string;
}

export interface PlannedStep {
  index: number;
  name: string;
  command?: string;
  wait?: string;
  expect?: string;
  onError: 'stop' | 'continue';
}

interface Resolved {
  leaf: Command;
}

/** Parses `words` against a fresh program tree without running any action. */
async function resolve(words: string[]): Promise<Resolved | { error: string }> {
  const program = newProgram();
  let leaf: Command | undefined;
  let err = '';
  const visit = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: () => undefined, writeErr: (s) => void (err += s), outputError: (s, write) => write(s) });
    if (c.commands.length === 0) c.action(() => void (leaf = c));
    c.commands.forEach(visit);
  };
  visit(program);
  try {
    await program.parseAsync(words, { from: 'user' });
  } catch (e) {
    if (e instanceof RcopyError) return { error: `${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}` }; // an option's parser refused its value
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') {
      if (words.includes('--help') || words.includes('-h')) return { leaf: program };
      return { error: `'${words.join(' ')}' is a group of commands, not a command (see rcopy help ${words[0] ?? ''})` };
    }
    const lines = err.split('\n');
    const i = lines.findIndex((l) => l.startsWith('error:'));
    const mean = lines[i + 1]?.startsWith('(Did you mean') ? ` ${lines[i + 1]!.replace(/^\(Did/, '(did')}` : '';
    return { error: `${(i >= 0 ? lines[i]! : e.message).replace(/^error: /, '')}${mean}` };
  }
  if (!leaf) return { error: `'${words.join(' ')}' is not a command` };
  return { leaf };
}

/** The longest run of leading words that names a command, for a hint. */
async function deepest(words: string[]): Promise<string> {
  let c = newProgram();
  const path: string[] = [];
  for (const w of words) {
    const next = c.commands.find((x) => x.name() === w);
    if (!next) break;
    path.push(w);
    c = next;
  }
  return path.join(' ');
}

const hasJson = (c: Command): boolean => c.options.some((o) => o.long === '--json');

/** The words of a step's run with the values known so far; unknown (saved) values stay as ${name}. */
function planWords(words: string[], vars: Record<string, string>): string[] {
  return words.map((w) => {
    const out = expand(w, (n, ref) => vars[n] ?? ref);
    if (out.length > LIMITS.word) throw wordTooLong(w);
    return out;
  });
}

function waitWords(w: NonNullable<Step['wait']>, vars: Record<string, string>): string[] {
  const args = ['pair', 'wait', ...(w.pair !== undefined ? [w.pair] : ['--group', w.group!]), '--state', w.state];
  if (w.timeout) args.push('--timeout', w.timeout);
  if (w.drained) args.push('--drained');
  return planWords(args, vars);
}

/**
 * Checks that every step's command (and its wait) is one rcopy understands. Throws
 * ERR_RCOPY_RUNBOOK with the step's line otherwise. Returns the plan.
 */
export async function checkRunbook(rb: Runbook): Promise<PlannedStep[]> {
  const plan: PlannedStep[] = [];
  for (const step of rb.steps) {
    const where = `${rb.file}:${step.line}: step ${step.index} (${step.name})`;
    const p: PlannedStep = { index: step.index, name: planWords([step.name], rb.vars)[0]!, onError: step.onError };
    if (step.run) {
      const words = planWords(step.run, rb.vars);
      const r = await resolve(words);
      if ('error' in r) throw runbookError(`${where}: ${r.error}`, `see rcopy help ${await deepest(words)}`);
      if ((step.expect?.json.length || step.save.length) && !hasJson(r.leaf) && !words.includes('--json')) {
        throw runbookError(`${where}: expect.json and save need a command that prints JSON, and '${r.leaf.name()}' has no --json`);
      }
      p.command = showCommand(words);
      if (!step.named) p.name = p.command.replace(/^rcopy /, '');
    }
    if (step.wait) {
      const words = waitWords(step.wait, rb.vars);
      const r = await resolve(words);
      if ('error' in r) throw runbookError(`${where}: wait: ${r.error}`, 'wait runs rcopy pair wait; see rcopy help pair wait');
      p.wait = showCommand(words);
    }
    if (step.expect) {
      const parts: string[] = [];
      if (step.expect.exit !== undefined) parts.push(`exit ${step.expect.exit}`);
      for (const c of step.expect.json) parts.push(`${c.path} ${c.op === 'eq' ? '=' : c.op} ${JSON.stringify(c.value)}`);
      p.expect = parts.join(', ');
    }
    plan.push(p);
  }
  return plan;
}

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runChild(args: string[], timeoutMs: number | undefined, env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolveP) => {
    const [cmd, argv] = selfCommand(args);
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t =
      timeoutMs !== undefined && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, timeoutMs)
        : undefined;
    child.on('error', (e) => {
      stderr += `${e.message}\n`;
    });
    child.on('close', (code) => {
      if (t) clearTimeout(t);
      resolveP({ code: timedOut ? 5 : (code ?? 1), stdout, stderr, timedOut });
    });
  });
}

/** The one-line error a failed rcopy printed (text on stderr, or {"error":...} under --json). */
function errorLine(r: ChildResult): string {
  try {
    const j = JSON.parse(r.stdout) as { error?: { code?: string; message?: string }; failedStep?: { error?: string } };
    if (j?.error?.message) return `${j.error.code ?? ''} ${j.error.message}`.trim();
    if (typeof j?.failedStep?.error === 'string') return j.failedStep.error; // a nested rcopy run
  } catch {
    /* not JSON */
  }
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.find((l) => l.startsWith('rcopy:')) ?? lines[lines.length - 1] ?? '').replace(/^rcopy: (error )?/, '');
}

/** A field of a JSON value by path: `a.b.0.c` or `a.b[0].c`; arrays have `length`. */
export function getPath(value: unknown, p: string): { found: boolean; value: unknown } {
  let cur: unknown = value;
  for (const seg of p
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '')) {
    if (Array.isArray(cur)) {
      if (seg === 'length') cur = cur.length;
      else if (/^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
      else return { found: false, value: undefined };
    } else if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else return { found: false, value: undefined };
  }
  return { found: true, value: cur };
}

/** Why a check fails, or null when it holds. Numbers and numeric strings compare as numbers. */
export function checkField(json: unknown, c: JsonCheck, vars: Record<string, string>): string | null {
  const want: Scalar = typeof c.value === 'string' ? substitute(c.value, vars) : c.value;
  const got = getPath(json, c.path);
  const show = (v: unknown): string => JSON.stringify(v) ?? 'undefined';
  if (c.op === 'exists') return got.found === Boolean(want) ? null : `${c.path} ${got.found ? 'exists' : 'is missing'}`;
  if (!got.found) return `${c.path} is missing from the JSON result`;
  const v = got.value;
  const num = (x: unknown): number => (typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN);
  const same = (): boolean => {
    if (v === want) return true;
    if ((typeof v === 'number' || typeof want === 'number') && !Number.isNaN(num(v)) && num(v) === num(want)) return true;
    return typeof v !== 'object' && v !== null && want !== null && String(v) === String(want);
  };
  switch (c.op) {
    case 'eq':
      return same() ? null : `${c.path} is ${show(v)}, expected ${show(want)}`;
    case 'ne':
      return same() ? `${c.path} is ${show(v)}, expected anything else` : null;
    case 'matches':
      return new RegExp(String(want)).test(typeof v === 'string' ? v : show(v)) ? null : `${c.path} is ${show(v)}, expected to match /${String(want)}/`;
    default: {
      const a = num(v);
      const b = num(want);
      const ok = c.op === 'gt' ? a > b : c.op === 'gte' ? a >= b : c.op === 'lt' ? a < b : a <= b;
      const sym = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[c.op];
      return ok ? null : `${c.path} is ${show(v)}, expected ${sym} ${show(want)}`;
    }
  }
}

/** Runs one step: its command, its expectations, its saves, then its wait. */
async function runStep(step: Step, vars: Record<string, string>, keepOutput: boolean, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const t0 = Date.now();
  const res: StepResult = { index: step.index, name: planWords([step.name], vars)[0]!, command: '', exitCode: 0, seconds: 0, ok: true };
  const done = (exitCode: number, error?: string): StepResult => {
    res.exitCode = exitCode;
    res.ok = error === undefined;
    if (error !== undefined) res.error = error;
    res.seconds = Math.round((Date.now() - t0) / 10) / 100;
    return res;
  };
  if (step.run) {
    let words = step.run.map((w) => substitute(w, vars));
    if (!step.named) res.name = showCommand(words).replace(/^rcopy /, '');
    const needJson = (step.expect?.json.length ?? 0) > 0 || step.save.length > 0;
    // a nested `rcopy run` reports in JSON, so its failed step's reason reaches this step's error
    const wantJson = needJson || words[0] === 'run';
    if (wantJson && !words.includes('--json') && !words.some((w, i) => w === '--format' && words[i + 1] === 'json')) words = [...words, '--json'];
    res.command = showCommand(words);
    const r = await runChild(words, step.timeoutMs, env);
    if (keepOutput) {
      res.stdout = r.stdout;
      res.stderr = r.stderr;
    }
    if (r.timedOut) return done(5, `timed out after ${(step.timeoutMs! / 1000).toFixed(0)}s`);
    const wantExit = step.expect?.exit ?? 0;
    if (r.code !== wantExit) {
      const why = r.code === 0 ? `exited 0, expected ${wantExit}` : errorLine(r) || `exited ${r.code}`;
      return done(r.code === 0 ? 1 : r.code, wantExit === 0 ? why : `${why} (expected exit ${wantExit})`);
    }
    if (needJson) {
      let json: unknown;
      try {
        json = JSON.parse(r.stdout);
      } catch {
        return done(1, 'the command did not print JSON');
      }
      for (const c of step.expect?.json ?? []) {
        const why = checkField(json, c, vars);
        if (why) return done(1, `expected: ${why}`);
      }
      for (const s of step.save) {
        const got = getPath(json, s.path);
        if (!got.found || got.value === null || typeof got.value === 'object') return done(1, `save ${s.name}: ${s.path} is ${got.found ? 'not a single value' : 'missing from the JSON result'}`);
        const value = String(got.value);
        if (value.length > LIMITS.varBytes) return done(1, `save ${s.name}: ${s.path} is ${value.length} characters, more than a variable holds (${LIMITS.varBytes})`);
        vars[s.name] = value;
      }
    }
  }
  if (step.wait) {
    const words = waitWords(step.wait, vars);
    if (!res.command) res.command = showCommand(words);
    else res.waited = showCommand(words);
    const timeoutMs = step.wait.timeout ? parseDuration(substitute(step.wait.timeout, vars)) + 30_000 : step.timeoutMs;
    const r = await runChild(words, timeoutMs, env);
    if (keepOutput) {
      res.stdout = (res.stdout ?? '') + r.stdout;
      res.stderr = (res.stderr ?? '') + r.stderr;
    }
    const what = planWords([step.wait.pair ?? `group ${step.wait.group}`, step.wait.state], vars);
    if (r.code !== 0) return done(r.code, `wait for ${what[0]} to reach ${what[1]}: ${errorLine(r) || `exited ${r.code}`}`);
  }
  return done(0);
}

export interface RunReport {
  steps: StepResult[];
  ok: boolean;
  failed?: StepResult;
  seconds: number;
}

/** Runs the steps in order, stopping at the first failed step unless it says on-error: continue. */
export async function executeRunbook(rb: Runbook, opts: { keepOutput?: boolean; onStep?: (step: Step, done: number) => void } = {}): Promise<RunReport> {
  const t0 = Date.now();
  const vars = { ...rb.vars };
  const steps: StepResult[] = [];
  const env = { ...process.env, [CHAIN_ENV]: JSON.stringify([...runbookChain(), path.resolve(rb.file)]) };
  let failed: StepResult | undefined;
  for (const step of rb.steps) {
    opts.onStep?.(step, steps.length);
    let r: StepResult;
    try {
      r = await runStep(step, vars, !!opts.keepOutput, env);
    } catch (e) {
      if (!(e instanceof RcopyError)) throw e;
      // a word grew past its limit once a saved value was filled in: the step fails, usage
      r = { index: step.index, name: step.name, command: '', exitCode: e.exitCode, seconds: 0, ok: false, error: e.message };
    }
    steps.push(r);
    if (!r.ok) {
      if (step.onError === 'continue') r.continued = true;
      else {
        failed = r;
        break;
      }
    }
  }
  return { steps, ok: failed === undefined, failed, seconds: Math.round((Date.now() - t0) / 10) / 100 };
}
