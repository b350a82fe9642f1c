/**
 * Where arrays live: $RCOPY_HOME (default ~/.rcopy)/arrays/NAME. An array directory is
 * self-contained (management store, images, journals use relative names), so it can be moved
 * to another directory or home and opened there. Also who may reach an array's files (the modes
 * its files and directories are made with). How a controller of an array is reached (socket, pid
 * file, log) is in controller-process.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E } from '../../errors.js';
import { checkName } from '../../units.js';

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
 * Who may reach an array's files (README "Who can reach an array"): its owner only (directories
 * 0700, files 0600), or also its group when the array was created with --group-access (0750 and
 * 0640). One process serves one array, so the setting is per process: the controller sets it (and
 * a matching umask) once it has read the array's configuration; every file and directory an array
 * creates is created with these modes.
 */
export interface AccessModes {
  dir: number;
  file: number;
  umask: number;
}
export const PRIVATE_ACCESS: AccessModes = { dir: 0o700, file: 0o600, umask: 0o077 };
export const GROUP_ACCESS: AccessModes = { dir: 0o750, file: 0o640, umask: 0o027 };
let access = PRIVATE_ACCESS;

export function setArrayAccess(group: boolean): AccessModes {
  access = group ? GROUP_ACCESS : PRIVATE_ACCESS;
  return access;
}
export function fileMode(): number {
  return access.file;
}
export function dirMode(): number {
  return access.dir;
}

/** O_NOFOLLOW where the platform has it: files of an array are never reached through a symlink. */
export const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
/** Flags for creating a file whole (a temp file to rename): truncate, never through a symlink. */
export const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | NOFOLLOW;

/** mkdir -p with a mode that the umask cannot widen nor narrow for the directories it creates. */
export function mkdirMode(dir: string, mode = dirMode()): void {
  const created = fs.mkdirSync(dir, { recursive: true, mode });
  if (created === undefined) return;
  // mkdirSync returns the first directory it made: chmod it and every one below it
  for (let d = dir; ; d = path.dirname(d)) {
    fs.chmodSync(d, mode);
    if (d === created || path.dirname(d) === d) break;
  }
}

/**
 * RCOPY_HOME and its arrays/ directory, created 0700. An array shared with its group needs the
 * group to pass through both: `share` adds group search (x, not read: the group cannot list them).
 */
export function ensureHome(home: string, opts: { share?: boolean } = {}): void {
  mkdirMode(arraysDir(home), 0o700);
  if (!opts.share) return;
  for (const d of [home, arraysDir(home)]) {
    const st = fs.statSync(d);
    if (st.uid === process.getuid?.() && (st.mode & 0o010) === 0) fs.chmodSync(d, (st.mode & 0o7777) | 0o010);
  }
}

/** Gives a file of the array the array's file mode (files made before its setting was read). */
export function fixMode(file: string): void {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW);
    try {
      fs.fchmodSync(fd, fileMode());
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* absent, or a link: left alone */
  }
}

/**
 * Removes an array's directory and everything in it (rcopy array delete, after its controller has
 * stopped): its volumes, journals, management store and controller files. Absent: nothing to do.
 */
export function deleteArrayFiles(name: string, home = homeDir()): void {
  fs.rmSync(arrayDir(name, home), { recursive: true, force: true });
}
