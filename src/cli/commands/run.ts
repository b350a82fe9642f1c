/** rcopy run RUNBOOK.yaml [--dry-run] [--var key=value ...] [--verbose] */
import fs from 'node:fs';
import { E } from '../../errors.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { LIMITS, runbookError } from '../runbook/model.js';
import { parseRunbook } from '../runbook/parse.js';
import { checkNesting, checkRunbook, executeRunbook, type StepResult } from '../runbook/exec.js';
import { need } from '../ui.js';
import { progress } from '../render/progress.js';

type Args = Array<string | string[] | undefined>;

/** --var key=value (repeatable) as a map. */
export function parseVars(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (Array.isArray(list) ? list : list === undefined ? [] : [list]) as string[]) {
    const i = kv.indexOf('=');
    if (i <= 0) throw E.usage(`invalid --var '${kv}'`, 'use --var name=value');
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Reads at most LIMITS.bytes + 1 bytes: a runbook larger than that (or /dev/zero) is refused. */
function readRunbook(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw E.notFound('runbook file', file, code === 'ENOENT' ? 'give the path of a YAML runbook; samples/ has some' : (e as Error).message);
  }
  try {
    const buf = Buffer.alloc(LIMITS.bytes + 1);
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = fs.readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        throw E.notFound('runbook file', file, (e as Error).message);
      }
      if (got === 0) break;
      n += got;
      if (n > LIMITS.bytes) throw runbookError(`${file}: more than a runbook may have (${LIMITS.bytes} bytes, 1 MiB)`, 'split it into several runbooks');
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function result(r: StepResult): string {
  if (r.ok) return 'OK';
  return `FAILED (exit ${r.exitCode})${r.continued ? ', continued' : ''}`;
}

export async function run(ctx: CliContext, [fileArg]: Args, opts: CommandOpts): Promise<Output> {
  const file = await need(ctx, fileArg as string | undefined, { name: 'the runbook file', message: 'Runbook (YAML file):' });
  checkNesting(file);
  const text = readRunbook(file);
  const rb = await parseRunbook(text, file, parseVars(opts.var), ctx.home);
  const plan = await checkRunbook(rb);

  if (opts.dryRun) {
    const lines = [`${rb.name}: ${plan.length} step(s), checked; nothing was run${rb.description ? `\n${rb.description.trim()}` : ''}`];
    for (const p of plan) {
      lines.push(`${String(p.index).padStart(3)}. ${p.name}`);
      if (p.command && p.command !== `rcopy ${p.name}`) lines.push(`       ${p.command}`);
      if (p.wait) lines.push(`       then ${p.wait}`);
      if (p.expect) lines.push(`       expect ${p.expect}`);
      if (p.onError === 'continue') lines.push('       on error: continue');
    }
    return { data: { runbook: rb.name, file, dryRun: true, vars: rb.vars, steps: plan, ok: true }, text: lines.join('\n') };
  }

  const bar = await progress(ctx, rb.name, 'items');
  let report;
  try {
    report = await executeRunbook(rb, { keepOutput: !!opts.verbose, onStep: (s, n) => bar.update(n, rb.steps.length, `step ${s.index}: ${s.name}`) });
  } finally {
    bar.stop();
  }
  const lines: string[] = [];
  for (const r of report.steps) {
    lines.push(`${String(r.index).padStart(3)}. ${r.name}  ${r.seconds.toFixed(2)}s  ${result(r)}`);
    if (r.command !== `rcopy ${r.name}`) lines.push(`       ${r.command}`);
    if (r.waited) lines.push(`       then ${r.waited}`);
    if (r.error) lines.push(`       ${r.error}`);
    if (opts.verbose) {
      for (const l of `${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd().split('\n')) if (l) lines.push(`       | ${l}`);
    }
  }
  const ran = report.steps.length;
  if (report.failed) {
    const f = report.failed;
    lines.push(`${rb.name}: stopped at step ${f.index} '${f.name}' (exit ${f.exitCode}) after ${ran} of ${rb.steps.length} step(s), ${report.seconds.toFixed(1)}s`);
  } else {
    const cont = report.steps.filter((r) => r.continued).length;
    lines.push(`${rb.name}: ${ran} step(s) done in ${report.seconds.toFixed(1)}s${cont ? ` (${cont} failed and continued)` : ''}`);
  }
  return {
    data: {
      runbook: rb.name,
      file,
      steps: report.steps.map((r) => ({
        index: r.index,
        name: r.name,
        command: r.command,
        ...(r.waited ? { wait: r.waited } : {}),
        exitCode: r.exitCode,
        seconds: r.seconds,
        ok: r.ok,
        ...(r.continued ? { continued: true } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(opts.verbose ? { stdout: r.stdout, stderr: r.stderr } : {}),
      })),
      ok: report.ok,
      ...(report.failed ? { failedStep: { index: report.failed.index, name: report.failed.name, exitCode: report.failed.exitCode, error: report.failed.error } } : {}),
      seconds: report.seconds,
    },
    text: lines.join('\n'),
    exitCode: report.failed ? report.failed.exitCode : 0,
  };
}
