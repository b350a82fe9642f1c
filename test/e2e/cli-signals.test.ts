/**
 * Ctrl-C and SIGTERM: the work a command started in a controller stops there, the command says
 * what was done and exits 130 (through a real terminal with tmux, and with kill -INT of the child);
 * rcopy jobs lists that work and workload stop / jobs stop stop it from elsewhere.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, TRACES as ROOT_TRACES, homeTest, sleep, waitFor, type TestHome } from '../helpers.js';
import { inTerminal, skipNoTmux } from './cli-terminal.js';
import { livePid } from '../../src/engine/array/controller-process.js';

async function paired(h: TestHome, size = '64M'): Promise<void> {
  for (const a of ['A', 'B']) {
    await h.ok('array', 'create', a);
    await h.ok('volume', 'create', `${a}:v`, '--size', size);
    await h.ok('journal', 'create', `${a}:j`, '--size', '256M');
  }
  await h.ok('link', 'add', 'A', 'B');
  await h.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait');
}

const lastSeq = async (h: TestHome): Promise<number> => (await h.ok('pair', 'show', 'A:v', '--json')).primary.lastSeq as number;

/** rcopy as a child process that the test signals; resolves with its status and output. */
function child(h: TestHome, args: string[], env: NodeJS.ProcessEnv = {}) {
  const c = spawn(process.execPath, [BIN, ...args], { env: { ...h.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => (stdout += d));
  c.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => c.on('close', (code) => r({ code, stdout, stderr })));
  return { proc: c, done };
}

homeTest('Ctrl-C on a workload in a terminal: it stops in the controller within a second, exit 130', { skip: skipNoTmux }, async (h) => {
  await paired(h);
  await inTerminal(h, ['workload', 'run', 'A:v', '--duration', '120s', '--rate', '10MB/s'], async (t) => {
    const s0 = await lastSeq(h);
    await waitFor(async () => (await lastSeq(h)) > s0 + 20, 60_000);
    t.keys('C-c');
    const { code, screen } = await t.exit();
    assert.equal(code, 130, screen);
    assert.match(screen, /workload stopped in the controller \(interrupted \(Ctrl-C\)\) after \d+ ops/);
    assert.doesNotMatch(screen, /ERR_RCOPY_INTERNAL|at .*\.js:\d+/);
    const after = await lastSeq(h);
    await sleep(1000);
    assert.equal(await lastSeq(h), after, 'the sequence number still grows after the Ctrl-C');
  });
  assert.deepEqual(await h.ok('jobs', '--json'), []);
});

homeTest('Ctrl-C at a prompt: one line, exit 130, nothing created', { skip: skipNoTmux }, async (h) => {
  await h.ok('array', 'create', 'A');
  await inTerminal(h, ['volume', 'create'], async (t) => {
    await t.waitFor(/On which array\?/);
    t.keys('C-c');
    const { code, screen } = await t.exit();
    assert.equal(code, 130, screen);
    assert.match(screen, /rcopy: cancelled at the prompt; nothing was changed/);
    assert.doesNotMatch(screen, /ERR_RCOPY_INTERNAL|ExitPromptError|at .*\.js:\d+/);
  });
  assert.deepEqual(await h.ok('volume', 'list', 'A', '--json'), []);
});

homeTest('rcopy jobs lists a running workload; workload stop and jobs stop end it; SIGTERM too', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '64M');
  const run = (): ReturnType<typeof child> => child(h, ['workload', 'run', 'A:v', '--duration', '120s', '--rate', '5MB/s']);
  const listed = async (): Promise<Array<{ id: string; kind: string; what: string }>> => h.ok('jobs', 'A', '--json');

  let w = run();
  await waitFor(async () => (await listed()).length === 1, 60_000);
  const j = (await listed())[0]!;
  assert.equal(j.kind, 'workload');
  assert.equal(j.what, 'workload on A:v');
  assert.match(await h.ok('workload', 'stop'), /asked to stop: A:\d+ \(workload on A:v\)/);
  let r = await w.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stopped in the controller \(stopped by rcopy workload stop\)/);

  w = run();
  await waitFor(async () => (await listed()).length === 1, 60_000);
  const id = (await listed())[0]!.id;
  await h.ok('jobs', 'stop', id);
  r = await w.done;
  assert.match(r.stdout, /stopped by rcopy jobs stop/);
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'jobs', 'stop', id);

  w = run();
  await waitFor(async () => (await listed()).length === 1, 60_000);
  w.proc.kill('SIGTERM');
  r = await w.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGTERM: stopping the workload/);
  assert.match(r.stdout, /stopped in the controller/);
  assert.deepEqual(await listed(), []);
});

homeTest('kill -INT of io write --file: no further chunk is sent, what was written is committed and said, exit 130', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '256M');
  const file = path.join(h.tempDir(), 'data');
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < 128; i++) fs.writeSync(fd, crypto.randomBytes(1024 * 1024));
  fs.closeSync(fd);
  const w = child(h, ['io', 'write', 'A:v', '--file', file], { RCOPY_IO_CHUNK: String(16 * 1024), RCOPY_IO_DEPTH: '1' });
  await waitFor(async () => (await h.ok('volume', 'show', 'A:v', '--json')).allocatedTracks > 0, 60_000, 20);
  w.proc.kill('SIGINT');
  const r = await w.done;
  assert.equal(r.code, 130, r.stderr);
  const m = /stopped: wrote ([\d.]+ [KMG]iB|\d+ B) of 128 MiB to A:v/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const tracks = (await h.ok('volume', 'show', 'A:v', '--json')).allocatedTracks as number;
  assert.ok(tracks > 0 && tracks < 2048, `${tracks} tracks written`);
  // after the stop nothing more arrives
  await sleep(500);
  assert.equal((await h.ok('volume', 'show', 'A:v', '--json')).allocatedTracks, tracks);
});

homeTest('kill -INT of a resync: the pair is left PSUE with its consistent image; revert gives the split image back', async (h) => {
  await paired(h);
  await h.ok('pair', 'split', 'B:v');
  const image = (await h.ok('io', 'checksum', 'B:v', '--json')).sha256;
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '9', '--length', '48M');
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '4MB/s');
  const w = child(h, ['pair', 'resync', 'B:v']);
  await waitFor(async () => {
    const s = (await h.ok('pair', 'show', 'B:v', '--json')).secondary;
    return s.state === 'COPY' && s.copyDone > 0;
  }, 60_000);
  w.proc.kill('SIGINT');
  const r = await w.done;
  assert.equal(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stdout, /resync cancelled: A:v -> B:v PSUE; the S-VOLs keep their consistent image/);
  const show = await h.ok('pair', 'show', 'B:v', '--json');
  assert.equal(show.secondary.state, 'PSUE');
  assert.equal(show.primary.state, 'PSUE');
  assert.ok(show.secondary.imageTracks > 0);
  await h.ok('pair', 'revert', 'B:v', '--yes');
  assert.equal((await h.ok('io', 'checksum', 'B:v', '--json')).sha256, image);
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  await h.ok('pair', 'resync', 'B:v');
  await h.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained');
  assert.equal((await h.ok('io', 'checksum', 'B:v', '--json')).sha256, (await h.ok('io', 'checksum', 'A:v', '--json')).sha256);
});

homeTest('SIGINT during backup create: cancelled in the controller, not in the catalogue, earlier generations intact, exit 130', async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:src', '--size', '32M');
  await h.ok('volume', 'create', 'A:bk', '--size', '32M');
  await h.ok('io', 'write', 'A:src', '--pattern', 'random', '--length', '4M', '--seed', '1');
  await h.ok('backup', 'create', 'A:src', '--to', 'A:bk');
  await h.ok('io', 'write', 'A:src', '--pattern', 'random', '--length', '32M', '--seed', '2');
  // an incremental at 2 MB/s: 32 MiB to copy, so it is still copying when the signal comes
  const c = child(h, ['backup', 'create', 'A:src', '--to', 'A:bk', '--incremental', '--rate', '2MB/s']);
  await waitFor(async () => (await h.ok('jobs', 'A', '--json')).some((j: { kind: string }) => j.kind === 'backup'), 60_000);
  c.proc.kill('SIGINT');
  const r = await c.done;
  assert.equal(r.code, 130, r.stdout + r.stderr);
  assert.match(r.stdout, /backup of A:src cancelled in the controller; nothing was added to the catalogue/);
  assert.doesNotMatch(r.stderr, /ERR_RCOPY_INTERNAL|at .*\.js:\d+/);
  await waitFor(async () => (await h.ok('jobs', 'A', '--json')).length === 0, 30_000);
  const list = await h.ok('backup', 'list', 'A', '--json');
  assert.deepEqual(
    list.map((b: { id: string; state: string }) => [b.id, b.state]),
    [['A:bk-000001', 'good']],
  );
  assert.equal((await h.ok('backup', 'verify', 'A:bk-000001', '--json')).ok, true, 'the generation before is intact');
  // and the next backup runs whole
  const again = await h.ok('backup', 'create', 'A:src', '--to', 'A:bk', '--incremental', '--json');
  assert.equal(again.state, 'good');
  assert.equal((await h.ok('backup', 'verify', again.id, '--json')).ok, true);
});

homeTest('Ctrl-C during stats import: the reader stops, the collection is as it was, exit 130', { skip: skipNoTmux, timeout: 240_000 }, async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  // 3 million MSR lines, gzipped (small on disk, seconds to read)
  const file = path.join(h.tempDir(), 'big.csv.gz');
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) lines.push(`${128166385295514663n + BigInt(i * 10000)},hm,0,Write,${(i * 4096) % (1 << 30)},4096,100`);
  const block = Buffer.from(lines.join('\n') + '\n');
  const zlib = await import('node:zlib');
  const gz = zlib.createGzip({ level: 1 });
  const out = fs.createWriteStream(file);
  gz.pipe(out);
  for (let i = 0; i < 30; i++) gz.write(block);
  gz.end();
  await new Promise<void>((r) => out.on('close', () => r()));
  await h.ok('stats', 'import', 'A:t', '--trace', path.join(ROOT_TRACES, 'hm_0_first1000writes.csv'), '--format', 'msr');
  const before = (await h.ok('stats', 'list', 'A', '--json')).find((g: { group: string }) => g.group === 't');
  await inTerminal(h, ['stats', 'import', 'A:t', '--trace', file, '--format', 'msr'], async (t) => {
    await t.waitFor(/reading big\.csv\.gz/);
    t.keys('C-c');
    const { code, screen } = await t.exit();
    assert.equal(code, 130, screen);
    assert.match(screen.replace(/\s+/g, ' '), /trace import cancelled .*the collection A:t is as it was/);
    assert.doesNotMatch(screen, /ERR_RCOPY_INTERNAL|at .*\.js:\d+/);
  });
  const after = (await h.ok('stats', 'list', 'A', '--json')).find((g: { group: string }) => g.group === 't');
  assert.deepEqual(after, before, 'the collection is unchanged');
});

homeTest('SIGINT during pair verify: the verify ends in the controller, what it compared is said, the pair stays PAIR, exit 130', async (h) => {
  // 64M: four chunks of 256 tracks, so the verify has chunks left when the signal comes
  await paired(h, '64M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '8M', '--seed', '3');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '2m');
  // the primary stopped (SIGSTOP) holds the verify in its first chunk, so the signal comes mid-verify
  const pa = livePid(path.join(h.dir, 'arrays', 'A'))!;
  process.kill(pa, 'SIGSTOP');
  h.onCleanup(() => process.kill(pa, 'SIGCONT'));
  const c = child(h, ['pair', 'verify', 'B:v']);
  await waitFor(async () => (await h.ok('jobs', 'B', '--json')).some((j: { kind: string }) => j.kind === 'verify'), 60_000);
  c.proc.kill('SIGINT');
  await waitFor(async () => (await h.ok('jobs', 'B', '--json')).every((j: { stopping: boolean }) => j.stopping), 30_000);
  process.kill(pa, 'SIGCONT');
  const r = await c.done;
  assert.equal(r.code, 130, r.stdout + r.stderr);
  assert.match(r.stdout, /verify cancelled \(interrupted\) after/);
  assert.match(r.stdout, /256 of 1024 tracks compared/, 'the chunk under way when the signal came, and no more');
  assert.doesNotMatch(r.stderr, /ERR_RCOPY_INTERNAL|at .*\.js:\d+/);
  await waitFor(async () => (await h.ok('jobs', 'B', '--json')).length === 0, 30_000);
  const ev = (await h.run(['events', 'B', '--json'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.ok(
    ev.some((e: { event: string; kind: string }) => e.kind === 'verify' && /^verify \(cancelled\)/.test(e.event)),
    `the event says the verify was cancelled: ${JSON.stringify(ev)}`,
  );
  assert.equal((await h.ok('pair', 'show', 'B:v', '--json')).state, 'PAIR');
  // and a verify run whole afterwards compares every track
  const full = await h.ok('pair', 'verify', 'B:v', '--json');
  assert.equal(full.cancelled, null);
  assert.equal(full.pairs[0].compared + full.pairs[0].unverified, full.pairs[0].tracks);
});
