/**
 * The secrets of the TCP transport, kept in files private to the owner (0600):
 * - the array's token (`tcp.token` in the array directory): 64 hex digits, one line. A TCP client
 *   sends it in its first frame; it is compared in constant time and never logged or returned in an
 *   error.
 * - PSK files as nbdkit and psktool write them: one `identity:hexkey` per line (blank lines and
 *   `#` comments ignored). A server takes every line; a client uses the first.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';

export const TOKEN_FILE = 'tcp.token';
const TOKEN_RE = /^[0-9a-f]{64}$/;

export function tokenPath(dir: string): string {
  return path.join(dir, TOKEN_FILE);
}

/** The array's token, made on first use (mode 0600 whatever the array's access setting). */
export function readOrMakeToken(dir: string): string {
  const file = tokenPath(dir);
  try {
    return checkToken(fs.readFileSync(file, 'utf8'), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return rotateToken(dir);
}

/** A new token replaces the old one (write then rename: a crash leaves one of the two). */
export function rotateToken(dir: string): string {
  const token = crypto.randomBytes(32).toString('hex');
  const tmp = `${tokenPath(dir)}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, tokenPath(dir));
  return token;
}

/** A token as read from a file: one line of 64 hex digits (the message never quotes it). */
export function checkToken(text: string, file: string): string {
  const t = text.trim();
  if (!TOKEN_RE.test(t)) throw E.badInput(`${file} does not hold an rcopy token (64 hex digits)`, "print the token on the array's host with: rcopy array token NAME");
  return t;
}

/** Constant-time comparison of two tokens (hashed first: equal lengths, nothing learnt from timing). */
export function sameToken(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export interface PskEntry {
  identity: string;
  key: Buffer;
}

/** Parses a PSK file (`identity:hexkey` lines); the key is never quoted in an error. */
export function readPskFile(file: string): PskEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw E.badPath(`cannot read the PSK file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: PskEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    const id = line.slice(0, at);
    const hex = line.slice(at + 1);
    if (at <= 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0 || hex.length < 32) {
      throw E.badInput(`${file} line ${i + 1} is not identity:hexkey (a key of at least 16 bytes in hex)`, 'make one with: psktool -u rcopy -p FILE, or echo "rcopy:$(openssl rand -hex 32)" > FILE');
    }
    out.push({ identity: id, key: Buffer.from(hex, 'hex') });
  }
  if (!out.length) throw E.badInput(`${file} holds no identity:hexkey line`);
  return out;
}
