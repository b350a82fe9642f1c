/**
 * Where arrays live: $RCOPY_HOME (default ~/.rcopy)/arrays/NAME. An array directory is
 * self-contained (management store, images, journals use relative names), so it can be moved
 * to another directory or home and opened there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { E } from '../errors.js';
import { checkName } from '../units.js';

export const STORE_FILE = 'mgmt.db';

export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.RCOPY_HOME && env.RCOPY_HOME.trim() !== '' ? env.RCOPY_HOME : path.join(os.homedir(), '.rcopy');
  return path.resolve(h);
}

export function arraysDir(home = homeDir()): string {
  return path.join(home, 'arrays');
}

export function arrayDir(name: string, home = homeDir()): string {
  return path.join(arraysDir(home), checkName('array', name));
}

/** The directory of an existing array; errors if absent or not an array. */
export function existingArrayDir(name: string, home = homeDir()): string {
  const dir = arrayDir(name, home);
  if (!fs.existsSync(dir)) throw E.noArray(name);
  if (!fs.existsSync(path.join(dir, STORE_FILE))) throw E.notAnArray(dir);
  return dir;
}

/** Names of the directories under arrays/ (arrays and non-arrays alike). */
export function listArrayNames(home = homeDir()): string[] {
  const dir = arraysDir(home);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function isArrayDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, STORE_FILE));
}

/**
 * The controller's Unix socket. Socket paths are limited to ~107 bytes, so a deep array
 * directory gets its socket in the temp directory under a name derived from the directory.
 */
export function socketPath(dir: string): string {
  const p = path.join(dir, 'ctl.sock');
  if (Buffer.byteLength(p) < 100) return p;
  const h = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 20);
  return path.join(os.tmpdir(), `rcopy-${h}.sock`);
}

export function pidFile(dir: string): string {
  return path.join(dir, 'controller.pid');
}

export function logFile(dir: string): string {
  return path.join(dir, 'controller.log');
}

/** The pid recorded by a live controller of this array directory, or null. */
export function livePid(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(dir), 'utf8').trim());
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
