/**
 * Remote arrays known to this RCOPY_HOME (`rcopy remote add`): one file per remote under
 * `HOME/remotes/` (directory 0700, files 0600), written by the CLI's remote commands only and read
 * by the CLI and by this home's controllers when they reach a peer that is not a local array.
 * Layout of NAME.json: { name, address: "HOST:PORT", security: "tls" | "psk" | "insecure",
 * token, ca?: PEM, psk?: { identity, key: hex }, added: ISO time }. The secrets are copied in (the
 * files they came from may go); `publicView` is what may be shown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { checkName } from '../../units.js';
import { arrayDir, isArrayDir } from '../../engine/array/home.js';
import { isLoopback, parseHostPort, type Security } from './config.js';

export interface RemoteEntry {
  name: string;
  address: string;
  security: Security;
  token: string;
  ca?: string;
  psk?: { identity: string; key: string };
  added: string;
}

export type RemoteView = Omit<RemoteEntry, 'token' | 'ca' | 'psk'> & { pskIdentity?: string };

export function remotesDir(home: string): string {
  return path.join(home, 'remotes');
}

function fileOf(home: string, name: string): string {
  return path.join(remotesDir(home), `${checkName('array', name)}.json`);
}

export function getRemote(home: string, name: string): RemoteEntry | null {
  let text: string;
  try {
    text = fs.readFileSync(fileOf(home, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const r = JSON.parse(text) as RemoteEntry;
  if (typeof r.address !== 'string' || typeof r.token !== 'string') throw E.config(`${fileOf(home, name)} is not a remote array entry`, `remove it with: rcopy remote remove ${name}`);
  return r;
}

export function listRemotes(home: string): RemoteEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(remotesDir(home));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => getRemote(home, n.slice(0, -5)))
    .filter((r): r is RemoteEntry => r !== null);
}

/** Checks an entry before it is kept: plaintext only to a loopback address. */
export function checkRemote(r: RemoteEntry, home: string): void {
  checkName('array', r.name);
  const hp = parseHostPort(r.address, 'the address');
  if (r.security === 'insecure' && !isLoopback(hp.host)) {
    throw E.usage(`plaintext is allowed to a loopback address only, not ${hp.host}`, 'give --tls-ca F (the CA of its certificate) or --tls-psk F');
  }
  if (isArrayDir(arrayDir(r.name, home))) throw E.arrayExists(r.name);
}

export function saveRemote(home: string, r: RemoteEntry): void {
  fs.mkdirSync(remotesDir(home), { recursive: true, mode: 0o700 });
  fs.chmodSync(remotesDir(home), 0o700);
  const file = fileOf(home, r.name);
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

export function removeRemote(home: string, name: string): boolean {
  const file = fileOf(home, name);
  if (!fs.existsSync(file)) return false;
  fs.rmSync(file);
  return true;
}

/** What `remote list|show` print: never the token or a key. */
export function publicView(r: RemoteEntry): RemoteView {
  const v: RemoteView = { name: r.name, address: r.address, security: r.security, added: r.added };
  if (r.psk) v.pskIdentity = r.psk.identity;
  return v;
}
