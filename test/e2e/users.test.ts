/**
 * End-to-end: who can reach an array. Files and directories are private to the owner whatever the
 * umask (or shared with its group on purpose, --group-access); another uid can neither read an
 * image nor talk to the controller; the socket never sits at a guessable shared path that is
 * trusted unchecked; the controller reads no file a client names; controller.log is not followed
 * through a symlink. Another user is played by `nobody` (setpriv or runuser; the test runs as root).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type TestHome, type RunResult, homeTest, runProcess } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const setpriv = has('setpriv');
const runuser = has('runuser');
const skip = !isRoot ? 'needs root to act as another user (nobody)' : !setpriv && !runuser ? 'neither setpriv nor runuser is installed (util-linux)' : false;
const NOBODY_UID = 65534;

/** The command line that runs `cmd` as nobody, with the owner's group (gid 0) as a supplementary group or none. */
function asNobody(cmd: string[], opts: { ownerGroup?: boolean } = {}): string[] {
  if (setpriv) return ['setpriv', '--reuid=nobody', '--regid=nogroup', opts.ownerGroup ? '--groups=0' : '--clear-groups', ...cmd];
  return ['runuser', '-u', 'nobody', ...(opts.ownerGroup ? ['-G', 'root'] : []), '--', ...cmd];
}

/** Runs argv (another user's process) to its end under env. */
const run = (argv: string[], env: NodeJS.ProcessEnv): Promise<RunResult> => runProcess(argv, { env, timeoutMs: 60_000 });

/** rcopy under a umask and an RCOPY_HOME of the test's choosing. */
class Site {
  constructor(
    readonly h: TestHome,
    readonly home: string,
    readonly umask = '022',
    readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {}

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.h.env, RCOPY_HOME: this.home, ...this.extraEnv };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return env;
  }

  run(...args: string[]): Promise<RunResult> {
    return this.h.run(args, { env: { RCOPY_HOME: this.home, ...this.extraEnv }, umask: this.umask, timeoutMs: 60_000 });
  }

  async ok(...args: string[]): Promise<any> {
    const r = await this.run(...args);
    assert.equal(r.code, 0, `rcopy ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return args.includes('--json') ? r.json() : r.stdout;
  }

  async stopAll(): Promise<void> {
    await this.run('array', 'stop', '--all');
  }

  dir(array: string): string {
    return path.join(this.home, 'arrays', array);
  }
}

const mode = (p: string): number => fs.lstatSync(p).mode & 0o777;
const oct = (m: number): string => m.toString(8).padStart(4, '0');

/** Every directory and file under root with its mode, checked against the expected ones. */
function checkTree(root: string, want: { dir: number; file: number }): string[] {
  const bad: string[] = [];
  const walk = (d: string): void => {
    if (mode(d) !== want.dir) bad.push(`${d}/ is ${oct(mode(d))}, want ${oct(want.dir)}`);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSocket()) {
        if (mode(p) & 0o077) bad.push(`${p} (socket) is ${oct(mode(p))}, want no access for group or others`);
      } else if (mode(p) !== want.file) bad.push(`${p} is ${oct(mode(p))}, want ${oct(want.file)}`);
    }
  };
  walk(root);
  return bad;
}

/** Two arrays with a pair, a split (bitmaps), a resync, and backups (undo and chain files). */
async function everyKindOfFile(s: Site): Promise<void> {
  await someFiles(s);
  await s.ok('array', 'create', 'B', '--durability', 'none');
  await s.ok('volume', 'create', 'B:v', '--size', '8M');
  await s.ok('volume', 'create', 'A:bk', '--size', '8M');
  await s.ok('journal', 'create', 'A:j1', '--size', '16M');
  await s.ok('journal', 'create', 'B:j2', '--size', '16M');
  await s.ok('link', 'add', 'A', 'B');
  await s.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j1,B:j2', '--wait', '--timeout', '60s');
  await s.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '1', '--length', '1M');
  await s.ok('pair', 'split', 'B:v');
  await s.ok('io', 'write', 'A:v', '--offset', '2M', '--pattern', '0x11', '--length', '256k');
  await s.ok('backup', 'create', 'A:v', '--to', 'A:bk');
  await s.ok('io', 'write', 'A:v', '--offset', '4M', '--pattern', '0x22', '--length', '64k');
  await s.ok('backup', 'create', 'A:v', '--to', 'A:bk', '--incremental');
  await s.ok('pair', 'resync', 'B:v');
  await s.ok('pair', 'wait', 'B:v', '--state', 'PAIR', '--drained', '--timeout', '60s');
}

/** One array with a volume, written (image, allocation map, store, log, pid file, socket). */
async function someFiles(s: Site): Promise<void> {
  await s.ok('array', 'create', 'A', '--durability', 'none');
  await s.ok('volume', 'create', 'A:v', '--size', '8M');
  await s.ok('io', 'write', 'A:v', '--pattern', 'random', '--seed', '1', '--length', '1M');
}

homeTest('array files are 0600 and directories 0700 under umask 002 and 022, RCOPY_HOME is 0700', async (h) => {
  // every kind of file under the umask that widens most; the basic ones under the usual one
  for (const umask of ['002', '022']) {
    const s = new Site(h, path.join(h.dir, `home-${umask}`), umask);
    const full = umask === '002';
    try {
      await (full ? everyKindOfFile(s) : someFiles(s));
      // while the controllers run: pid files, logs, sockets, -wal/-shm are all there
      assert.equal(mode(s.home), 0o700, `RCOPY_HOME under umask ${umask}`);
      assert.equal(mode(path.join(s.home, 'arrays')), 0o700, `arrays/ under umask ${umask}`);
      for (const a of full ? ['A', 'B'] : ['A']) {
        const bad = checkTree(s.dir(a), { dir: 0o700, file: 0o600 });
        assert.deepEqual(bad, [], `umask ${umask}, array ${a}:\n${bad.join('\n')}`);
      }
      const names = fs.readdirSync(s.dir('A')).concat(fs.readdirSync(path.join(s.dir('A'), 'volumes')));
      for (const n of ['mgmt.db', 'mgmt.db-wal', 'controller.log', 'controller.pid', 'v.img', 'v.alloc']) assert.ok(names.includes(n), `${n} was checked`);
      if (full) {
        assert.ok(fs.readdirSync(path.join(s.dir('B'), 'bitmaps')).length > 0, 'bitmaps were checked');
        assert.ok(fs.readdirSync(path.join(s.dir('A'), 'backups')).length > 0, 'backup files were checked');
        assert.ok(fs.readdirSync(path.join(s.dir('A'), 'journals')).length > 0, 'journals were checked');
      }
    } finally {
      await s.stopAll();
    }
  }
});

homeTest('--group-access: 0750/0640 whatever the umask, kept for later files; the group reads images, others do not, nobody connects', { skip }, async (h) => {
  fs.chmodSync(h.dir, 0o755);
  const s = new Site(h, path.join(h.dir, 'home'), '077');
  try {
    await s.ok('array', 'create', 'G', '--group-access');
    await s.ok('volume', 'create', 'G:v', '--size', '4M');
    await s.ok('io', 'write', 'G:v', '--pattern', '0x5a', '--length', '64k');
    await s.stopAll();
    // a later controller (under another umask) creates its files as the array's setting says
    const s2 = new Site(h, s.home, '002');
    await s2.ok('volume', 'create', 'G:w', '--size', '4M');
    await s2.ok('journal', 'create', 'G:j', '--size', '16M');
    const bad = checkTree(s.dir('G'), { dir: 0o750, file: 0o640 });
    assert.deepEqual(bad, [], bad.join('\n'));
    assert.equal(mode(s.home) & 0o070, 0o010, 'the group may traverse RCOPY_HOME (not list it)');
    assert.equal(mode(s.home) & 0o007, 0, 'others may not enter RCOPY_HOME');

    const img = path.join(s.dir('G'), 'volumes', 'v.img');
    const read = `try { const b = require('fs').readFileSync(${JSON.stringify(img)}); console.log('read', b[0]); } catch (e) { console.log(e.code); }`;
    const member = await run(asNobody([process.execPath, '-e', read], { ownerGroup: true }), s.env);
    assert.equal(member.stdout.trim(), `read ${0x5a}`, `a member of the owner's group reads the image: ${member.stderr}`);
    const other = await run(asNobody([process.execPath, '-e', read]), s.env);
    assert.equal(other.stdout.trim(), 'EACCES', `another user cannot: ${other.stderr}`);

    const st = await s2.ok('array', 'status', 'G', '--json');
    assert.equal(st.running, true);
    const conn = await run(asNobody([process.execPath, '-e', connectScript(st.socket)], { ownerGroup: true }), s.env);
    assert.match(conn.stdout.trim(), /^(EACCES|ECONNREFUSED|ENOENT)$/, `the group cannot reach the controller: ${conn.stdout} ${conn.stderr}`);
  } finally {
    await s.stopAll();
  }
});

/** A raw client: connects, sends an io.write of 0xee at offset 0, prints the outcome. */
function connectScript(sock: string, volume = 'v'): string {
  return `
const net = require('net');
const s = net.createConnection(${JSON.stringify(sock)});
s.on('error', (e) => { console.log(e.code); process.exit(0); });
s.on('connect', () => {
  const h = Buffer.from(JSON.stringify({ id: 1, m: 'io.write', p: { volume: ${JSON.stringify(volume)}, offset: 0 } }));
  const pl = Buffer.alloc(65536, 0xee);
  const pre = Buffer.alloc(8); pre.writeUInt32BE(h.length, 0); pre.writeUInt32BE(pl.length, 4);
  s.write(Buffer.concat([pre, h, pl]));
  s.on('data', (d) => { console.log('connected', d.subarray(8).toString().slice(0, 200)); process.exit(0); });
  setTimeout(() => { console.log('connected'); process.exit(0); }, 3000);
});`;
}

homeTest('another uid (even in the owner group, umask 002) cannot read an image nor connect to the controller', { skip }, async (h) => {
  fs.chmodSync(h.dir, 0o755);
  const s = new Site(h, path.join(h.dir, 'home'), '002');
  try {
    await s.ok('array', 'create', 'A');
    await s.ok('volume', 'create', 'A:v', '--size', '4M');
    await s.ok('io', 'write', 'A:v', '--pattern', '0x33', '--length', '64k');
    const before = (await s.ok('io', 'checksum', 'A:v', '--json')).sha256;
    const st = await s.ok('array', 'status', 'A', '--json');
    assert.equal(st.running, true);
    const img = path.join(s.dir('A'), 'volumes', 'v.img');
    const read = `try { require('fs').readFileSync(${JSON.stringify(img)}); console.log('read'); } catch (e) { console.log(e.code); }`;
    for (const ownerGroup of [false, true]) {
      const r = await run(asNobody([process.execPath, '-e', read], { ownerGroup }), s.env);
      assert.equal(r.stdout.trim(), 'EACCES', `nobody${ownerGroup ? ' in the owner group' : ''} reads the image: ${r.stdout} ${r.stderr}`);
      const c = await run(asNobody([process.execPath, '-e', connectScript(st.socket)], { ownerGroup }), s.env);
      assert.match(c.stdout.trim(), /^(EACCES|ECONNREFUSED|ENOENT)$/, `nobody${ownerGroup ? ' in the owner group' : ''} reached the controller: ${c.stdout} ${c.stderr}`);
    }
    assert.equal((await s.ok('io', 'checksum', 'A:v', '--json')).sha256, before, 'nothing changed');
  } finally {
    await s.stopAll();
  }
});

/** An array directory whose socket path is too long for a Unix socket (over 100 bytes). */
function longHome(h: TestHome): string {
  const home = path.join(h.dir, 'a-rather-long-directory-name-for-the-rcopy-home'.repeat(2));
  assert.ok(Buffer.byteLength(path.join(home, 'arrays', 'L', 'ctl.sock')) > 108);
  return home;
}

const hashOf = (dir: string): string => createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 20);

homeTest('a long RCOPY_HOME works with its socket in a private runtime directory, never at a predictable /tmp name', async (h) => {
  const tmp = path.join(h.dir, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o1777 });
  fs.chmodSync(tmp, 0o1777);
  const xdg = path.join(h.dir, 'xdg');
  fs.mkdirSync(xdg, { mode: 0o700 });
  // without XDG_RUNTIME_DIR: a directory of the user's own, created 0700 and checked, under TMPDIR
  const s = new Site(h, longHome(h), '002', { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
  try {
    await s.ok('array', 'create', 'L');
    await s.ok('volume', 'create', 'L:v', '--size', '4M');
    await s.ok('io', 'write', 'L:v', '--pattern', '0x44', '--length', '64k');
    const st = await s.ok('array', 'status', 'L', '--json');
    assert.equal(st.running, true);
    const privDir = path.join(tmp, `rcopy-${process.getuid!()}`);
    assert.equal(st.socket, path.join(privDir, `${hashOf(s.dir('L'))}.sock`));
    assert.ok(fs.lstatSync(st.socket).isSocket());
    assert.equal(mode(privDir), 0o700);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((n) => n.endsWith('.sock')),
      [],
      'no socket directly in the shared temp directory',
    );
    await s.stopAll();
    assert.ok(!fs.existsSync(st.socket), 'the socket goes with the controller');

    // with XDG_RUNTIME_DIR: there
    const x = new Site(h, s.home, '022', { TMPDIR: tmp, XDG_RUNTIME_DIR: xdg });
    await x.ok('io', 'write', 'L:v', '--offset', '64k', '--pattern', '0x45', '--length', '64k');
    const st2 = await x.ok('array', 'status', 'L', '--json');
    assert.equal(path.dirname(path.dirname(st2.socket)), xdg);
    assert.equal(mode(path.dirname(st2.socket)), 0o700);
    assert.ok(fs.lstatSync(st2.socket).isSocket());
    // a client without XDG_RUNTIME_DIR (cron) finds the same controller through the path it recorded
    const st3 = await s.ok('array', 'status', 'L', '--json');
    assert.equal(st3.running, true);
    assert.equal(st3.pid, st2.pid);
    assert.equal(st3.socket, st2.socket);
    await s.ok('io', 'checksum', 'L:v');
    await x.stopAll();
    assert.ok(!fs.existsSync(path.join(s.dir('L'), 'controller.sock-path')), 'the recorded path goes with the controller');
  } finally {
    await s.stopAll();
  }
});

homeTest('a socket path squatted by another user is refused by the CLI, which talks to no one', { skip }, async (h) => {
  const squatters: Array<ReturnType<typeof spawn>> = [];
  h.onCleanup(() => {
    for (const sq of squatters) sq.kill('SIGKILL');
  });
  fs.chmodSync(h.dir, 0o755);
  const tmp = path.join(h.dir, 'tmp');
  fs.mkdirSync(tmp);
  fs.chmodSync(tmp, 0o1777);
  const s = new Site(h, longHome(h), '022', { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
  await s.ok('array', 'create', 'L');
  await s.ok('volume', 'create', 'L:v', '--size', '4M');
  await s.stopAll();
  // nobody occupies the old predictable name and the private directory's place while the controller is down
  const hash = hashOf(s.dir('L'));
  const privDir = path.join(tmp, `rcopy-${process.getuid!()}`);
  fs.rmSync(privDir, { recursive: true, force: true }); // e.g. the temp directory was cleaned at boot
  const squat = `
const fs = require('fs'), net = require('net');
fs.mkdirSync(${JSON.stringify(privDir)}, { mode: 0o777 }); fs.chmodSync(${JSON.stringify(privDir)}, 0o777);
let n = 0;
for (const p of [${JSON.stringify(path.join(tmp, `rcopy-${hash}.sock`))}, ${JSON.stringify(path.join(privDir, `${hash}.sock`))}]) {
  const srv = net.createServer((c) => { console.log('connection'); c.destroy(); });
  srv.listen(p, () => { fs.chmodSync(p, 0o777); if (++n === 2) console.log('listening'); });
}`;
  const sq = spawn(asNobody([process.execPath, '-e', squat])[0]!, asNobody([process.execPath, '-e', squat]).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  squatters.push(sq);
  let out = '';
  let err = '';
  sq.stdout!.on('data', (d) => (out += d));
  sq.stderr!.on('data', (d) => (err += d));
  const t0 = Date.now();
  while (!out.includes('listening')) {
    assert.ok(Date.now() - t0 < 10_000 && sq.exitCode === null, `the squatter did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const r = await s.run('volume', 'list', 'L', '--json');
  assert.equal(r.code, 1, `expected a refusal:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout + r.stderr, /ERR_RCOPY_UNSAFE_SOCKET/);
  assert.ok(!out.includes('connection'), 'the CLI connected to the squatter');
  assert.equal(fs.lstatSync(path.join(privDir, `${hash}.sock`)).uid, NOBODY_UID, "the squatter's socket is left alone");

  // the same inside an array directory that others could write (an old array made under umask 000):
  // the CLI makes the directory its own again, then refuses the socket it does not own
  const s2 = new Site(h, path.join(h.dir, 'home2'), '022');
  await s2.ok('array', 'create', 'S');
  await s2.stopAll();
  fs.chmodSync(path.join(s2.home), 0o755);
  fs.chmodSync(path.join(s2.home, 'arrays'), 0o755);
  fs.chmodSync(s2.dir('S'), 0o777);
  const sock = path.join(s2.dir('S'), 'ctl.sock');
  const squat2 = `require('net').createServer((c) => { console.log('connection'); c.destroy(); }).listen(${JSON.stringify(sock)}, () => console.log('listening'));`;
  const sq2 = spawn(asNobody([process.execPath, '-e', squat2])[0]!, asNobody([process.execPath, '-e', squat2]).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  squatters.push(sq2);
  let out2 = '';
  sq2.stdout!.on('data', (d) => (out2 += d));
  const t1 = Date.now();
  while (!out2.includes('listening')) {
    assert.ok(Date.now() - t1 < 10_000 && sq2.exitCode === null, 'the second squatter did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  const r2 = await s2.run('volume', 'list', 'S', '--json');
  assert.equal(r2.code, 1, `expected a refusal:\n${r2.stdout}\n${r2.stderr}`);
  assert.match(r2.stdout + r2.stderr, /ERR_RCOPY_UNSAFE_SOCKET/);
  assert.ok(!out2.includes('connection'), 'the CLI connected to the squatter in the array directory');
});

homeTest('io write --file: the CLI sends the bytes; the protocol has no request that makes the controller open a path', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '16M');
  const secret = path.join(h.dir, 'secret');
  fs.writeFileSync(secret, Buffer.alloc(65536, 0x7e), { mode: 0o600 });
  const before = (await h.ok('io', 'checksum', 'A:v', '--json')).sha256;
  const st = await h.ok('array', 'status', 'A', '--json');
  const script = `
const net = require('net');
const s = net.createConnection(${JSON.stringify(st.socket)});
s.on('connect', () => {
  const h = Buffer.from(JSON.stringify({ id: 1, m: 'io.writeFile', p: { volume: 'v', offset: 0, file: ${JSON.stringify(secret)} } }));
  const pre = Buffer.alloc(8); pre.writeUInt32BE(h.length, 0); pre.writeUInt32BE(0, 4);
  s.write(Buffer.concat([pre, h]));
});
let buf = Buffer.alloc(0);
s.on('data', (d) => { buf = Buffer.concat([buf, d]); if (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(0)) { console.log(buf.subarray(8, 8 + buf.readUInt32BE(0)).toString()); process.exit(0); } });`;
  const r = await run([process.execPath, '-e', script], h.env);
  const reply = JSON.parse(r.stdout);
  assert.ok(reply.e, `io.writeFile was served: ${r.stdout}`);
  assert.equal(reply.e.code, 'ERR_RCOPY_BAD_REQUEST');
  assert.equal((await h.ok('io', 'checksum', 'A:v', '--json')).sha256, before, 'the volume is unchanged');

  // the command still writes a file (several chunks, an odd length, at an offset)
  const data = Buffer.alloc(9 * 1024 * 1024 + 4096);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  const f = path.join(h.dir, 'data.bin');
  fs.writeFileSync(f, data);
  await h.ok('io', 'write', 'A:v', '--file', f, '--offset', '1M');
  const back = await h.ok('io', 'checksum', 'A:v', '--range', `1M-${1024 * 1024 + data.length}`, '--json');
  assert.equal(back.sha256, createHash('sha256').update(data).digest('hex'));
});

homeTest('a symlinked controller.log is not followed', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  await h.ok('array', 'stop', '--all');
  const target = path.join(h.dir, 'target');
  fs.writeFileSync(target, 'untouched\n');
  const log = path.join(h.dir, 'arrays', 'A', 'controller.log');
  fs.rmSync(log);
  fs.symlinkSync(target, log);
  const r = await h.fails(1, 'ERR_RCOPY_UNSAFE_FILE', 'volume', 'list', 'A');
  assert.match(r.stderr, /controller\.log/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'untouched\n', 'the target of the link was written');
  assert.deepEqual(h.pids(), [], 'no controller started');
  fs.rmSync(log);
  await h.ok('volume', 'list', 'A');
  assert.ok(fs.lstatSync(log).isFile());
  assert.equal(fs.readFileSync(target, 'utf8'), 'untouched\n');
});
