/** rcopy check: Nagios/Icinga exit codes and performance data on real controllers. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { homeTest, waitFor, type TestHome } from '../helpers.js';
import { assertSchema } from './ops-schema.js';
import { twoSites } from './sites.js';

const PERF = /^'[^']+'=-?\d+(\.\d+)?(s|%|B|)?(;-?[\d.]*){0,4}$/;

async function check(h: TestHome, ...args: string[]): Promise<{ code: number; lines: string[]; json: any }> {
  const r = await h.run(['check', ...args]);
  const j = await h.run(['check', ...args, '--json']);
  assert.equal(j.code, r.code, `text and --json agree on the exit code\n${r.stdout}\n${j.stdout}`);
  assertSchema('check', j.json());
  return { code: r.code, lines: r.stdout.trim().split('\n'), json: j.json() };
}

function perfOf(line: string): string[] {
  const i = line.indexOf(' | ');
  assert.ok(i > 0, `performance data after ' | ' in: ${line}`);
  const rest = line.slice(i + 3);
  const items = rest.match(/'(?:[^']|'')*'=\S*/g) ?? [];
  assert.equal(items.join(' '), rest, `performance data is 'label'=value items separated by spaces: ${rest}`);
  return items;
}

homeTest('check: healthy 0, journal over the mark 1, suspended pair 2, dead peer 2; bad thresholds UNKNOWN 3', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');

  const ok = await check(h);
  assert.equal(ok.code, 0, ok.lines.join('\n'));
  assert.match(ok.lines[0]!, /^RCOPY OK - 1 pair\(s\) healthy \| /);
  assert.equal(ok.lines.length, 1, 'no finding lines');
  const perf = perfOf(ok.lines[0]!);
  for (const p of perf) assert.match(p, PERF);
  assert.ok(perf.includes("'rpo B:v'=0s;60;300;0"), perf.join(' '));
  assert.ok(
    perf.some((p) => p.startsWith("'journal A:j1'=") && p.endsWith('%;80;95;0;100')),
    perf.join(' '),
  );
  assert.equal(ok.json.schemaVersion, 1);
  assert.equal(ok.json.status, 'OK');
  assert.deepEqual(ok.json.findings, []);

  // journal over the warning mark: pulls stopped, 4 MiB in a 64 MiB journal (over 5%)
  await h.ok('pull', 'stop', 'B:j2');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '4M', '--seed', '1');
  const warn = await check(h, '--journal-warn', '5%', '--journal-crit', '90%', '--rpo-warn', '1h', '--rpo-crit', '2h');
  assert.equal(warn.code, 1, warn.lines.join('\n'));
  assert.match(warn.lines[0]!, /^RCOPY WARNING - 1 warning \| /);
  assert.match(warn.lines[1]!, /^WARNING - journal A:j1 is [\d.]+% full/);
  assert.deepEqual(
    warn.json.findings.map((f: { kind: string; status: string }) => [f.kind, f.status]),
    [['journal', 'WARNING']],
  );
  // the same journal past the critical mark
  assert.equal((await check(h, '--journal-warn', '2%', '--journal-crit', '5%', '--rpo-warn', '1h', '--rpo-crit', '2h')).code, 2);
  await h.ok('pull', 'start', 'B:j2');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  assert.equal((await check(h)).code, 0);

  // a suspended pair is critical
  await h.ok('pair', 'split', 'B:v');
  const split = await check(h, 'A');
  assert.equal(split.code, 2, split.lines.join('\n'));
  assert.ok(
    split.lines.some((l) => /^CRITICAL - pair A:v -> B:v is PSUS\/SSUS/.test(l)),
    split.lines.join('\n'),
  );
  await h.ok('pair', 'resync', 'B:v');
  assert.equal((await check(h)).code, 0);

  // a peer whose controller died (kill -9; nothing starts it again: check never starts a controller)
  const st = await h.ok('array', 'status', 'A', '--json');
  process.kill(st.pid, 'SIGKILL');
  await waitFor(() => {
    try {
      process.kill(st.pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 30_000);
  const dead = await check(h, 'B');
  assert.equal(dead.code, 2, dead.lines.join('\n'));
  assert.ok(
    dead.lines.some((l) => /^CRITICAL - array A does not answer/.test(l)),
    dead.lines.join('\n'),
  );
  assert.ok(dead.json.findings.some((f: { kind: string; subject: string }) => f.kind === 'array' && f.subject === 'A'));
  assert.equal(h.pids().length, 1, 'check started no controller');

  // bad arguments: UNKNOWN with a stable error code, exit 3
  const bad = await h.run(['check', '--rpo-warn', 'soon']);
  assert.equal(bad.code, 3);
  assert.match(bad.stdout, /^RCOPY UNKNOWN - ERR_RCOPY_BAD_DURATION/);
  const none = await h.run(['check', 'nosuch', '--json']);
  assert.equal(none.code, 3);
  assert.equal(none.json().error.code, 'ERR_RCOPY_NO_ARRAY');
  assertSchema('check', none.json());
});

homeTest('check: a backup that failed its last verify is CRITICAL; --backup-verify-age warns of one never verified', async (h) => {
  await h.ok('array', 'create', 'a', '--durability', 'none');
  await h.ok('volume', 'create', 'a:src', '--size', '4M');
  await h.ok('volume', 'create', 'a:bk', '--size', '4M');
  await h.ok('io', 'write', 'a:src', '--pattern', 'random', '--seed', '1', '--length', '1M');
  await h.ok('backup', 'create', 'a:src', '--to', 'a:bk');
  // never verified: OK by default, a warning with --backup-verify-age
  assert.equal((await check(h, 'a')).code, 0);
  const old = await check(h, 'a', '--backup-verify-age', '1d');
  assert.equal(old.code, 1, old.lines.join('\n'));
  assert.match(old.lines[1]!, /^WARNING - backup a:bk-000001 of src was never verified/);
  assert.equal((await h.ok('backup', 'verify', 'a:bk-000001', '--json')).ok, true);
  assert.equal((await check(h, 'a', '--backup-verify-age', '1d')).code, 0);
  const shown = await h.ok('backup', 'show', 'a:bk-000001', '--json');
  assert.equal(shown.lastVerify.ok, true);
  // a byte flipped in the backup image while the controller is stopped: verify fails, check is CRITICAL
  const img = (await h.ok('volume', 'show', 'a:bk', '--json')).path as string;
  await h.ok('array', 'stop', 'a');
  const fd = fs.openSync(img, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 100);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 100);
  fs.closeSync(fd);
  assert.equal((await h.run(['backup', 'verify', 'a:bk-000001'])).code, 3);
  const bad = await check(h, 'a');
  assert.equal(bad.code, 2, bad.lines.join('\n'));
  assert.match(bad.lines[0]!, /^RCOPY CRITICAL - 1 critical/);
  assert.match(bad.lines[1]!, /^CRITICAL - backup a:bk-000001 of src failed its last verify \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/);
  assert.deepEqual(
    bad.json.findings.map((f: any) => [f.status, f.kind, f.subject]),
    [['CRITICAL', 'backup', 'a:bk-000001']],
  );
  await h.fails(3, 'ERR_RCOPY_BAD_DURATION', 'check', 'a', '--backup-verify-age', 'soon');
});
