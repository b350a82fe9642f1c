/**
 * A TLS pre-shared keys file, as nbdkit's `--tls-psk`, qemu's `tls-creds-psk` and GnuTLS's psktool
 * (`psktool -u USER -p FILE`) write it: one `username:hexkey` per line, the key in hexadecimal
 * (psktool makes 32 bytes). Empty lines are skipped; nothing else is allowed (no comments: GnuTLS
 * would read a `#` line as a user). Read whole, bounded in size and in lines; any bad line refuses
 * the whole file with its line number (ERR_RCOPY_BAD_INPUT) and the keys are never put in a message.
 *
 * The file holds secrets: like rcopy's own data files it must be private. nbdkit leaves this to the
 * file's mode (GnuTLS reads whatever it is given); rcopy refuses a file that others can read or that
 * anyone but its owner can write (ERR_RCOPY_UNSAFE_FILE), and a file that is not a regular file.
 */
import fs from 'node:fs';
import { E, type RcopyError } from '../errors.js';

/** Bigger than any real key file (a line is at most about 400 bytes). */
export const MAX_PSK_FILE = 64 * 1024;
export const MAX_PSK_USERS = 1024;
/** GnuTLS's own limits: user names up to 128 bytes; keys up to 64 bytes here (psktool's default is 32). */
const MAX_USER = 128;
const MAX_KEY = 64;

/** The keys of a PSK file, by user name (the TLS PSK identity). */
export interface PskKeys {
  readonly file: string;
  /** The users in file order; the first is what a client is told to use when it names none. */
  readonly users: readonly string[];
  key(identity: string): Buffer | null;
}

function bad(file: string, why: string): RcopyError {
  return E.badInput(`PSK file ${file}: ${why}`, "each line is 'username:hexkey', as 'psktool -u USER -p FILE' writes it");
}

/** Parses the text of a PSK file (the file name is for messages only). */
export function parsePsk(file: string, text: string): PskKeys {
  const keys = new Map<string, Buffer>();
  const users: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    const colon = line.indexOf(':');
    const no = `line ${i + 1}`;
    if (colon < 0) throw bad(file, `${no} has no ':' between user name and key`);
    const user = line.slice(0, colon);
    const hex = line.slice(colon + 1);
    if (user === '' || Buffer.byteLength(user) > MAX_USER || /[\s:]/.test(user)) throw bad(file, `${no}: the user name is empty, longer than ${MAX_USER} bytes, or has blanks`);
    if (hex === '' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length / 2 > MAX_KEY) throw bad(file, `${no}: the key of '${user}' is not 1 to ${MAX_KEY} bytes of hexadecimal`);
    if (keys.has(user)) throw bad(file, `${no}: user '${user}' is there twice`);
    if (users.length >= MAX_PSK_USERS) throw bad(file, `more than ${MAX_PSK_USERS} users`);
    keys.set(user, Buffer.from(hex, 'hex'));
    users.push(user);
  }
  if (users.length === 0) throw bad(file, 'no keys in it');
  return { file, users, key: (id) => keys.get(id) ?? null };
}

/** Reads and checks a PSK file: private, a regular file, bounded, every line well formed. */
export function readPskFile(file: string): PskKeys {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw E.unsafe('FILE', `PSK file ${file} is a symbolic link`, 'give the path of the file itself');
    throw bad(file, `cannot open it (${code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw bad(file, 'not a regular file');
    if ((st.mode & 0o027) !== 0) throw E.unsafe('FILE', `PSK file ${file} has mode ${(st.mode & 0o777).toString(8)}: its keys are readable or writable by others`, `chmod 600 ${file}`);
    if (st.size > MAX_PSK_FILE) throw bad(file, `larger than ${MAX_PSK_FILE} bytes`);
    const buf = Buffer.alloc(MAX_PSK_FILE + 1);
    let n = 0;
    for (let k = 1; k > 0 && n < buf.length; n += k) k = fs.readSync(fd, buf, n, buf.length - n, n);
    if (n > MAX_PSK_FILE) throw bad(file, `larger than ${MAX_PSK_FILE} bytes`);
    return parsePsk(file, buf.toString('utf8', 0, n));
  } finally {
    fs.closeSync(fd);
  }
}
