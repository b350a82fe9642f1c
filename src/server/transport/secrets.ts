/**
 * The secrets of the TCP transport, kept in files private to the owner (0600):
 * - the array's token (`tcp.token` in the array directory): 64 hex digits, one line. A TCP client
 *   sends it in its first frame; it is compared in constant time and never logged or returned in an
 *   error.
 * - PSK files as nbdkit and psktool write them, read by the same reader as NBD exports' (psk-file.ts:
 *   private, bounded, one `identity:hexkey` per line), with keys of at least 16 bytes here. A server
 *   takes every line; a client uses the first.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { readPskFile, type PskKeys } from '../psk-file.js';

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

/** The least PSK length the TCP transport takes: a key that guards a whole array. */
const MIN_TCP_PSK = 16;

/** Reads a PSK file for the TCP transport (readPskFile), refusing keys shorter than MIN_TCP_PSK bytes. */
export function readTcpPsk(file: string): PskKeys {
  const keys = readPskFile(file);
  for (const user of keys.users) {
    if (keys.key(user)!.length < MIN_TCP_PSK) {
      throw E.badInput(`PSK file ${file}: the key of '${user}' is shorter than ${MIN_TCP_PSK} bytes`, 'make one with: psktool -u rcopy -p FILE, or echo "rcopy:$(openssl rand -hex 32)" > FILE');
    }
  }
  return keys;
}
