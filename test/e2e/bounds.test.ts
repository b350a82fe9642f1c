/**
 * End-to-end: bounded work from small input through the real binary (issue 15). Each case was
 * unbounded or an internal error before: `--trace /dev/zero` never ended; an SPC length near 2^48
 * took 57 s and 1.1 GB; a runbook that runs itself nested without end; 50,000 vars took over a
 * minute; `--interval 2147483648ms` overflowed the timers; a report with a 1 ms window ran for
 * ever; a missing directory or a directory as --chart/--out/--file was ERR_RCOPY_INTERNAL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type TestHome, TRACES, homeTest } from '../helpers.js';

/** Runs rcopy with a time limit; returns the result and how long it took. */
async function timed(h: TestHome, args: string[], limitMs: number) {
  const t0 = Date.now();
  const r = await h.run(args, { timeoutMs: limitMs });
  return { ...r, ms: Date.now() - t0 };
}

function expectError(r: { code: number; stdout: string; stderr: string }, exit: number, code: string, ...parts: Array<string | RegExp>): void {
  const text = r.stdout + r.stderr;
  assert.equal(r.code, exit, text);
  assert.ok(text.includes(code), `expected ${code} in:\n${text}`);
  assert.ok(!text.includes('ERR_RCOPY_INTERNAL'), text);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(text.includes(p), `expected '${p}' in:\n${text}`);
    else assert.match(text, p);
  }
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  assert.ok(lines.length <= 1, `one line expected:\n${r.stderr}`);
}

homeTest('stats import: /dev/zero stops at line 1; an SPC length near 2^48 is refused with its line (exit 3)', { timeout: 300_000 }, async (h) => {
  const dir = h.tempDir();
  await h.ok('array', 'create', 'a1', '--serial', '10001');
  const zero = await timed(h, ['stats', 'import', 'a1:z', '--trace', '/dev/zero', '--format', 'msr'], 60_000);
  expectError(zero, 3, 'ERR_RCOPY_BAD_TRACE', 'line 1: longer than 1048576 bytes');
  assert.ok(zero.ms < 30_000, `took ${zero.ms} ms`);

  const spc = path.join(dir, 'huge.spc');
  fs.writeFileSync(spc, `0,0,${2 ** 48 - 65536},w,0.5\n`);
  const strict = await timed(h, ['stats', 'import', 'a1:s', '--trace', spc, '--format', 'spc', '--strict'], 60_000);
  expectError(strict, 3, 'ERR_RCOPY_BAD_TRACE', /line 1: malformed spc record \(length 281474976645120 is longer than 268435456 bytes/);
  assert.ok(strict.ms < 30_000, `took ${strict.ms} ms`);
  const lax = await timed(h, ['stats', 'import', 'a1:s', '--trace', spc, '--format', 'spc'], 60_000);
  expectError(lax, 3, 'ERR_RCOPY_BAD_TRACE', 'nothing to import', 'line 1 (length 281474976645120');

  // a given device size: records past it are counted with their line, the rest imported
  const blk = path.join(dir, 'blk.txt');
  fs.writeFileSync(blk, '8,0 0 1 0.1 5 Q W 0 + 8 [x]\n8,0 0 2 0.2 5 Q W 4194304 + 8 [x]\n');
  const j = await h.ok('stats', 'import', 'a1:b', '--trace', blk, '--format', 'blkparse', '--device-size', '1G', '--json');
  assert.equal(j.writes, 1);
  assert.equal(j.malformed, 1);
  assert.equal(j.firstMalformed.line, 2);
  assert.match(j.firstMalformed.reason, /past the end of device 'dev8_0' \(1073741824 bytes\)/);
  assert.deepEqual(j.devices, [{ name: 'dev8_0', tracks: 16384, trackSize: 65536 }]);
});

homeTest('runbooks: one that runs itself stops at 8 levels naming the chain; 50,000 vars and /dev/zero are refused fast', { timeout: 300_000 }, async (h) => {
  const dir = h.tempDir();
  const self = path.join(dir, 'self.yaml');
  fs.writeFileSync(self, 'steps:\n  - run: run ${runbook_dir}/self.yaml\n');
  const r = await timed(h, ['run', self], 240_000);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /ERR_RCOPY_RUNBOOK runbooks nest more than 8 deep: self\.yaml( -> self\.yaml){8}/);
  const j = (await h.run(['run', self, '--json'], { timeoutMs: 240_000 })).json();
  assert.equal(j.ok, false);
  assert.match(j.failedStep.error, /nest more than 8 deep/);

  const many = path.join(dir, 'vars.yaml');
  fs.writeFileSync(many, `vars:\n${Array.from({ length: 50_000 }, (_, i) => `  v${i}: x`).join('\n')}\nsteps:\n  - run: array list\n`);
  const v = await timed(h, ['run', many, '--dry-run'], 120_000);
  expectError(v, 2, 'ERR_RCOPY_RUNBOOK', 'vars.yaml:2: vars: 50000 variables, more than a runbook may have (1000)');
  assert.ok(v.ms < 30_000, `took ${v.ms} ms`);

  const zero = await timed(h, ['run', '/dev/zero', '--dry-run'], 60_000);
  expectError(zero, 2, 'ERR_RCOPY_RUNBOOK', 'more than a runbook may have (1048576 bytes, 1 MiB)');

  const deep = path.join(dir, 'deep.yaml');
  fs.writeFileSync(deep, `steps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
  expectError(await timed(h, ['run', deep, '--dry-run'], 60_000), 2, 'ERR_RCOPY_RUNBOOK', 'deep.yaml:1: brackets nested more than 64 deep');

  const big = path.join(dir, 'big.yaml');
  fs.writeFileSync(big, 'steps:\n  - run: volume show x:${b}${b}${b}\n');
  expectError(await timed(h, ['run', big, '--dry-run', '--var', `b=${'y'.repeat(70_000)}`], 60_000), 2, 'ERR_RCOPY_RUNBOOK', '--var b: a value of 70000 characters, more than 65536');
  expectError(await timed(h, ['run', big, '--dry-run', '--var', `b=${'y'.repeat(60_000)}`], 60_000), 2, 'ERR_RCOPY_RUNBOOK', 'is longer than 131072 characters once its variables are filled in');
});

homeTest('options: durations past what a timer holds name the option; reports and output paths are bounded', { timeout: 300_000 }, async (h) => {
  const dir = h.tempDir();
  const bad = '2147483648ms';
  for (const args of [
    ['pull', 'start', 'a1:j2', '--interval', bad],
    ['pair', 'wait', 'a1:v', '--timeout', bad],
    ['journal', 'set', 'a1:j', '--blockade-watch', '25d'],
    ['journal', 'create', 'a1:j', '--size', '64M', '--overflow-watch', bad],
    ['link', 'add', 'a1', 'a2', '--latency', bad],
    ['workload', 'run', 'a1:v', '--duration', bad],
  ]) {
    const flag = args.find((a) => a.startsWith('--') && a !== '--size')!;
    expectError(await h.run(args), 2, 'ERR_RCOPY_BAD_DURATION', `invalid ${flag} '`, 'the longest a timer can wait');
  }
  await h.ok('array', 'create', 'a1', '--serial', '10001');
  await h.ok('volume', 'create', 'a1:v', '--size', '4M');
  await h.ok('stats', 'define', 'a1:g', '--volumes', 'v');
  expectError(await h.run(['stats', 'start', 'a1:g', '--interval', bad]), 2, 'ERR_RCOPY_BAD_DURATION', "invalid --interval '2147483648ms'");
  expectError(await h.run(['stats', 'define', 'a1:h', '--volumes', 'v', '--interval', '30d']), 2, 'ERR_RCOPY_BAD_DURATION', "invalid --interval '30d'");
  const status = await h.ok('stats', 'list', 'a1', '--json');
  assert.deepEqual(
    status.map((g: { group: string }) => g.group),
    ['g'],
    'a refused define changes nothing',
  );

  await h.ok('stats', 'import', 'a1:t', '--trace', path.join(TRACES, 'wdev_1.csv'), '--format', 'msr');
  // a report window is no timer: a month is fine; a 1 ms window over a week is refused at once
  await h.ok('stats', 'report', 'a1:t', '--window', '30d', '--json');
  const tiny = await timed(h, ['stats', 'report', 'a1:t', '--window', '1ms'], 60_000);
  expectError(tiny, 2, 'ERR_RCOPY_OUT_OF_RANGE', '--window 1ms places', 'at most 1,000,000');
  expectError(await h.run(['stats', 'report', 'a1:t', '--window', '10m', '--to', '99999999999']), 2, 'ERR_RCOPY_OUT_OF_RANGE', '--window 10m places');
  expectError(await h.run(['stats', 'report', 'a1:t', '--window', '10m', '--from', '99999999999999999']), 2, 'ERR_RCOPY_BAD_INPUT', 'past the year 275760');

  const missing = path.join(dir, 'no', 'such', 'chart.svg');
  expectError(await h.run(['stats', 'report', 'a1:t', '--window', '10m', '--chart', missing]), 2, 'ERR_RCOPY_BAD_PATH', `--chart '${missing}'`, 'does not exist');
  expectError(await h.run(['stats', 'report', 'a1:t', '--window', '10m', '--chart', dir]), 2, 'ERR_RCOPY_BAD_PATH', `--chart '${dir}': is a directory`);
  expectError(await h.run(['io', 'read', 'a1:v', '--length', '512', '--out', dir]), 2, 'ERR_RCOPY_BAD_PATH', `--out '${dir}': is a directory`);
  expectError(await h.run(['io', 'read', 'a1:v', '--length', '512', '--out', missing]), 2, 'ERR_RCOPY_BAD_PATH', `--out '${missing}'`);
  expectError(await h.run(['io', 'write', 'a1:v', '--file', dir]), 2, 'ERR_RCOPY_BAD_PATH', `--file '${dir}': is a directory`);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing was written');
});
