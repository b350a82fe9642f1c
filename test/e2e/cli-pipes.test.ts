/**
 * The command line in a pipe: a closed stdout ends any command quietly with status 0 (as `head`
 * expects), and `io read` streams its hex dump (its memory does not grow with the length read).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, homeTest, type TestHome } from '../helpers.js';

/** Runs `rcopy ARGS | head ...` in bash; returns rcopy's own exit status and stderr. */
function piped(h: TestHome, args: string[], head: string[]): { code: number; stderr: string; out: string } {
  const dir = h.tempDir();
  const err = path.join(dir, 'stderr');
  const script = `"$@" 2>${JSON.stringify(err)} | head ${head.join(' ')}; exit \${PIPESTATUS[0]}`;
  const r = spawnSync('bash', ['-c', script, 'bash', process.execPath, BIN, ...args], { env: h.env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stderr: fs.readFileSync(err, 'utf8'), out: r.stdout };
}

/** Runs rcopy with its stdout closed before it writes anything. */
function closedStdout(h: TestHome, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

homeTest('rcopy --help | head -1, and --help with stdout closed: exit 0, nothing on stderr', async (h) => {
  const r = piped(h, ['--help'], ['-1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.out, /^Usage: rcopy/);
  for (const args of [['--help'], ['help', 'pair', 'resync'], ['array', 'list']]) {
    const c = await closedStdout(h, args);
    assert.deepEqual(c, { code: 0, stderr: '' }, args.join(' '));
  }
});

homeTest('io read | head -c 10 ends quietly; a 16 MiB hex dump streams with a small peak RSS', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '32M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '3', '--length', '16M');
  const r = piped(h, ['io', 'read', 'A:v', '--length', '16M'], ['-c', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.out, '0000000000');
  const raw = piped(h, ['io', 'read', 'A:v', '--length', '16M', '--out', '-'], ['-c', '10']);
  assert.deepEqual([raw.code, raw.stderr, raw.out.length > 0], [0, '', true]);

  const dir = h.tempDir();
  const out = path.join(dir, 'dump');
  const rss = path.join(dir, 'rss');
  const t = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rss, process.execPath, BIN, 'io', 'read', 'A:v', '--length', '16M'], {
    env: h.env,
    stdio: ['ignore', fs.openSync(out, 'w'), 'pipe'],
    timeout: 300_000,
  });
  assert.equal(t.status, 0, String(t.stderr));
  // every line of the dump is there: 16 MiB / 16 bytes a line, 78 characters each with the newline
  assert.equal(fs.statSync(out).size, ((16 * 1024 * 1024) / 16) * 78);
  const peakKiB = Number(fs.readFileSync(rss, 'utf8').trim().split('\n').pop());
  // whole-dump-in-memory took over 600 MB; streaming stays near Node's own footprint
  process.stdout.write(`# io read of 16 MiB as a hex dump: peak RSS ${peakKiB} KiB\n`);
  assert.ok(peakKiB > 0 && peakKiB < 200 * 1024, `peak RSS ${peakKiB} KiB`);
});
