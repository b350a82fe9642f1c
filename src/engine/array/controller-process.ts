/**
 * How the controller process of an array is found and reached from outside: its Unix socket (and
 * where a deep array's socket lives), its pid file, its log; and making sure a controller that was
 * asked to stop is gone. A client never trusts a socket or file another user could control.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { E, type RcopyError } from '../../errors.js';
import { CREATE_FLAGS, NOFOLLOW, fileMode } from './home.js';

/** A local socket or file that rcopy refuses to use because another user could control it. */
export function unsafe(code: 'SOCKET' | 'FILE', message: string, hint: string): RcopyError {
  return E.unsafe(code, message, hint);
}

/** Longest socket path used: sun_path is 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 100;

/**
 * The controller's Unix socket: ctl.sock in the array directory (0700, or 0750 with the socket
 * itself 0600 under --group-access). Socket paths are limited to ~107 bytes, so a deep array
 * directory gets its socket in the user's private runtime directory (runtimeDir()) under a name
 * derived from the array directory.
 */
export function socketPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = path.join(dir, 'ctl.sock');
  if (Buffer.byteLength(p) < MAX_SOCKET_PATH) return p;
  const h = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 20);
  const s = path.join(runtimeDir(env), `${h}.sock`);
  if (Buffer.byteLength(s) >= MAX_SOCKET_PATH) {
    throw unsafe('SOCKET', `no socket path short enough for array directory ${dir} (${s})`, 'set XDG_RUNTIME_DIR to a short private directory, or use a shorter RCOPY_HOME');
  }
  return s;
}

const myUid = (): number => process.getuid?.() ?? -1;

/**
 * Where a running controller listens. A deep array's socket path depends on the environment
 * (XDG_RUNTIME_DIR, TMPDIR), which differs between a login shell and cron: the controller records
 * the path it chose in controller.sock-path in the array directory, and clients use that.
 */
export function sockPathFile(dir: string): string {
  return path.join(dir, 'controller.sock-path');
}

export function controllerSocket(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const own = socketPath(dir, env);
  if (path.dirname(own) === dir) return own;
  try {
    const fd = fs.openSync(sockPathFile(dir), fs.constants.O_RDONLY | NOFOLLOW);
    let p: string;
    try {
      p = fs.readFileSync(fd, 'utf8').trim();
    } finally {
      fs.closeSync(fd);
    }
    if (path.isAbsolute(p) && path.basename(p) === path.basename(own) && Buffer.byteLength(p) < MAX_SOCKET_PATH) return p;
  } catch {
    /* no controller has recorded one */
  }
  return own;
}

/** The controller records its socket's path (temp + rename: a reader never sees half of it). */
export function recordSocket(dir: string, sock: string): void {
  if (path.dirname(sock) === dir) return;
  const tmp = `${sockPathFile(dir)}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, CREATE_FLAGS, fileMode());
  try {
    fs.writeSync(fd, `${sock}\n`);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, sockPathFile(dir));
}

/**
 * The user's private directory for sockets whose array directory is too deep:
 * $XDG_RUNTIME_DIR/rcopy when XDG_RUNTIME_DIR is a directory of the user's own with no access for
 * others, else $TMPDIR/rcopy-UID. Created 0700 where missing; used only if it is a real directory
 * (not a symlink) owned by the user with no access for group or others — a directory someone else
 * made at that name in the shared temp directory is refused, never trusted.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  let dir = path.join(os.tmpdir(), `rcopy-${myUid()}`);
  if (xdg && path.isAbsolute(xdg)) {
    try {
      const st = fs.lstatSync(xdg);
      if (st.isDirectory() && st.uid === myUid() && (st.mode & 0o077) === 0) dir = path.join(xdg, 'rcopy');
    } catch {
      /* not usable: the temp directory */
    }
  }
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw unsafe('SOCKET', `cannot create the private socket directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'set XDG_RUNTIME_DIR to a private directory of yours');
    }
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== myUid() || (st.mode & 0o077) !== 0) {
    throw unsafe(
      'SOCKET',
      `the socket directory ${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? `owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8)}` : 'not a directory'}, not private to uid ${myUid()}`,
      `another user may have made it: remove it, or set XDG_RUNTIME_DIR to a private directory of yours`,
    );
  }
  return dir;
}

/**
 * Before a client talks to a socket: the socket and its directory must be the current user's, and
 * the directory writable by no one else (who could otherwise put their own socket there). Returns
 * false when there is no socket (no controller runs); throws ERR_RCOPY_UNSAFE_SOCKET when one is
 * there that another user could control. An array directory of the user's own that others may
 * write (made by an older rcopy under umask 002/000) is first made unwritable to them.
 */
export function checkSocket(sock: string): boolean {
  const dir = path.dirname(sock);
  const who = (st: fs.Stats): string => `uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`;
  let d = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!d) return false;
  if (!d.isDirectory() || d.uid !== myUid()) {
    throw unsafe(
      'SOCKET',
      `the socket directory ${dir} is ${d.isDirectory() ? who(d) : 'not a directory'}, not the current user's (uid ${myUid()})`,
      'check who made it; rcopy talks only to sockets in directories of your own',
    );
  }
  if (d.mode & 0o022) {
    fs.chmodSync(dir, d.mode & 0o7755);
    d = fs.lstatSync(dir);
  }
  const s = fs.lstatSync(sock, { throwIfNoEntry: false });
  if (!s) return false;
  if (!s.isSocket() || s.uid !== myUid()) {
    throw unsafe(
      'SOCKET',
      `${sock} is ${s.isSocket() ? `a socket of ${who(s)}` : 'not a socket'}, not the current user's (uid ${myUid()})`,
      'another user may have put it there: remove it, then start the array again',
    );
  }
  return true;
}

export function pidFile(dir: string): string {
  return path.join(dir, 'controller.pid');
}

export function logFile(dir: string): string {
  return path.join(dir, 'controller.log');
}

/**
 * Opens controller.log for appending, never through a symbolic link (whoever could place one would
 * have every start append to its target): a link there is refused with ERR_RCOPY_UNSAFE_FILE.
 */
export function openLog(dir: string): number {
  const file = logFile(dir);
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | NOFOLLOW, fileMode());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw unsafe('FILE', `${file} is a symbolic link; rcopy does not write through it`, `remove it (rm ${file}); the controller makes a new log`);
    }
    throw e;
  }
}

/** Appends one line to controller.log (best effort, never through a symlink). */
export function appendLog(dir: string, line: string): void {
  try {
    const fd = openLog(dir);
    try {
      fs.writeSync(fd, line);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* the log is best effort */
  }
}

/** The pid recorded by a live controller of this array directory, or null. */
export function livePid(dir: string): number | null {
  let pid: number;
  try {
    const fd = fs.openSync(pidFile(dir), fs.constants.O_RDONLY | NOFOLLOW);
    try {
      pid = Number(fs.readFileSync(fd, 'utf8').trim());
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  // A killed controller whose parent is gone may linger as a zombie, and a pid may be reused:
  // on Linux, only a running process whose command line is a controller counts.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return null;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('controller')) return null;
  } catch {
    if (fs.existsSync('/proc/self/stat')) return null; // Linux, and the process is gone
  }
  return pid;
}

/** How long a controller asked to stop has to exit before it is killed. */
const STOP_GRACE_MS = 15_000;

/**
 * After the controller of `dir` that ran as `pid` was asked to stop (controller.stop): waits up to
 * `graceMs` (15 s) for it to exit; one still running then is killed (SIGKILL) and its pid file
 * removed, so the array can be started again.
 */
export async function awaitControllerExit(dir: string, pid: number, opts: { graceMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.graceMs ?? STOP_GRACE_MS);
  while (Date.now() < deadline && livePid(dir) === pid) await new Promise((r) => setTimeout(r, 25));
  if (livePid(dir) !== pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  fs.rmSync(pidFile(dir), { force: true });
}

/** The file a controller's lock is held on. */
export function lockFile(dir: string): string {
  return path.join(dir, 'controller.lock');
}
