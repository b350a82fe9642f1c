/**
 * Files the user names on the command line (`--chart FILE`, `--out FILE`, `--file FILE`): checked
 * before any work, so a missing directory, a directory given as a file or a file that cannot be
 * opened is one usage error that names the path and the option (ERR_RCOPY_BAD_PATH, exit 2), never
 * an internal error after the work is done.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E, type RcopyError } from '../errors.js';

export function badPath(option: string, file: string, why: string, hint?: string): RcopyError {
  return E.badPath(`${option} '${file}': ${why}`, hint);
}

const errnoText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Checks that `file` can be created or replaced: its directory exists and it is not a directory. */
export function checkOutputPath(file: string, option: string): string {
  const abs = path.resolve(String(file));
  const dir = path.dirname(abs);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw badPath(
      option,
      file,
      `its directory ${dir} ${errnoText(e) === 'ENOENT' ? 'does not exist' : `cannot be used (${errnoText(e)})`}`,
      'create the directory first, or name a file in an existing one',
    );
  }
  if (!st.isDirectory()) throw badPath(option, file, `${dir} is not a directory`);
  let target: fs.Stats | undefined;
  try {
    target = fs.statSync(abs);
  } catch {
    /* a new file */
  }
  if (target?.isDirectory()) throw badPath(option, file, 'is a directory', 'name a file, e.g. DIR/out.svg');
  try {
    fs.accessSync(target ? abs : dir, fs.constants.W_OK);
  } catch (e) {
    throw badPath(option, file, `cannot be written (${errnoText(e)})`);
  }
  return abs;
}

/** Writes `data` to a checked output path; an error names the path. */
export function writeOutputFile(file: string, option: string, data: string | Buffer): string {
  const abs = checkOutputPath(file, option);
  try {
    fs.writeFileSync(abs, data);
  } catch (e) {
    throw badPath(option, file, `cannot be written (${errnoText(e)})`);
  }
  return abs;
}

/** Checks that `file` is a readable file (not a directory). */
export function checkInputFile(file: string, option: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(String(file));
  } catch (e) {
    throw badPath(option, file, errnoText(e) === 'ENOENT' ? 'no such file' : `cannot be read (${errnoText(e)})`);
  }
  if (st.isDirectory()) throw badPath(option, file, 'is a directory', 'name a file');
}
