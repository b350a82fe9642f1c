/**
 * How bin/rcopy starts: from the startup snapshot (dist/rcopy.blob, scripts/snapshot.mjs) when the
 * node on PATH built it and it is newer than the module files, else from the module files; both
 * ways give the same output, exit statuses and errors, and a runbook's steps start the way their
 * runbook did.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, homeTest, runProcess, type TestHome } from '../helpers.js';

const BLOB = path.join(ROOT, 'dist', 'rcopy.blob');
const SNAPSHOT = `rcopy: started from the startup snapshot ${BLOB}\n`;
const MODULES = 'rcopy: started from the module files\n';

/** Runs `argv` (bin/rcopy as a user runs it, or `node bin/rcopy`) with the startup traced. */
function traced(h: TestHome, argv: string[], env: NodeJS.ProcessEnv = {}) {
  return runProcess(argv, { env: { ...h.env, RCOPY_STARTUP_TRACE: '1', ...env }, label: argv.join(' ') });
}

homeTest('bin/rcopy starts from the startup snapshot; node bin/rcopy and RCOPY_NO_SNAPSHOT=1 from the module files, with the same results', async (h) => {
  assert.ok(fs.existsSync(BLOB), 'npm run build made no startup snapshot (see the warning of scripts/snapshot.mjs)');
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '16M');
  const ways: Array<{ argv: string[]; env?: NodeJS.ProcessEnv; from: string }> = [
    { argv: [BIN], from: SNAPSHOT },
    { argv: [process.execPath, BIN], from: MODULES },
    { argv: [BIN], env: { RCOPY_NO_SNAPSHOT: '1' }, from: MODULES },
  ];
  const commands = [
    ['--version'],
    ['volume', 'show', 'A:v', '--json'],
    ['volume', 'list', '--format', 'yaml'],
    ['help', 'pair', 'resync'],
    // a usage error (exit 2) and an error with a code (exit 3 for a name that is not there)
    ['volume', 'create', 'A:x', '--size'],
    ['volume', 'show', 'A:nope'],
  ];
  for (const args of commands) {
    const results = [];
    for (const w of ways) {
      const r = await traced(h, [...w.argv, ...args], w.env);
      assert.ok(r.stderr.startsWith(w.from), `${w.argv.join(' ')} ${args.join(' ')}: ${r.stderr}`);
      results.push({ code: r.code, stdout: r.stdout, stderr: r.stderr.slice(w.from.length) });
    }
    assert.deepEqual(results[1], results[0], args.join(' '));
    assert.deepEqual(results[2], results[0], args.join(' '));
  }
  const bad = await traced(h, [BIN, 'volume', 'show', 'A:nope']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /ERR_RCOPY_\w+/);
});

homeTest('bin/rcopy through a symbolic link (as npx runs it) and from another directory starts from the snapshot', async (h) => {
  const dir = h.tempDir();
  const link = path.join(dir, 'rcopy');
  fs.symlinkSync(BIN, link);
  const r = await runProcess(['sh', '-c', `cd / && exec "$0" --version`, link], { env: { ...h.env, RCOPY_STARTUP_TRACE: '1' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, SNAPSHOT);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

homeTest('a node on PATH other than the one that built the snapshot, or module files newer than it: bin/rcopy starts from the module files', async (h) => {
  const bin = h.tempDir();
  // another node: a different file that runs the same program
  fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o700 });
  const other = await traced(h, [BIN, 'array', 'list', '--json'], { PATH: `${bin}:${process.env.PATH ?? ''}` });
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stderr, MODULES);
  assert.deepEqual(JSON.parse(other.stdout), []);
  // module files rebuilt after the snapshot (tsc alone): the snapshot is stale and not used
  const main = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const blobTime = fs.statSync(BLOB).mtime;
  const was = fs.statSync(main);
  fs.utimesSync(main, was.atime, new Date(blobTime.getTime() + 2000));
  try {
    const stale = await traced(h, [BIN, '--version']);
    assert.equal(stale.stderr, MODULES);
  } finally {
    fs.utimesSync(main, was.atime, was.mtime);
  }
  const again = await traced(h, [BIN, '--version']);
  assert.equal(again.stderr, SNAPSHOT);
});

homeTest("a runbook's steps start the way the runbook did", async (h) => {
  const book = path.join(h.tempDir(), 'book.yaml');
  fs.writeFileSync(book, ['name: startup', 'steps:', '  - run: array list', ''].join('\n'));
  for (const w of [
    { argv: [BIN], from: SNAPSHOT },
    { argv: [process.execPath, BIN], from: MODULES },
  ]) {
    const r = await traced(h, [...w.argv, 'run', book, '--json', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.startsWith(w.from), r.stderr);
    const steps = (JSON.parse(r.stdout) as { steps: Array<{ stderr?: string }> }).steps;
    assert.equal(steps.length, 1, r.stdout);
    assert.equal(steps[0]!.stderr, w.from, `the step of a runbook run by ${w.argv.join(' ')}`);
  }
});
