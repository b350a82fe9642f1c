/**
 * "Hosts" for the TCP tests: one RCOPY_HOME each, its array served on its own loopback address
 * (127.0.0.2, 127.0.0.3, 127.0.0.4: Linux routes all of 127/8 to lo), and each home knowing the
 * others only as remotes (rcopy remote add): nothing but TCP between them. Test certificates are
 * made with the openssl CLI in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TestHome } from '../helpers.js';

export interface Pki {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  /** A CA of its own, with a certificate for the same addresses: must be refused. */
  otherCa: string;
  otherCert: string;
  otherKey: string;
  psk: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, tag: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${tag}-ca.key`,
    '-out',
    `${tag}-ca.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=rcopy test ${tag} CA`,
  );
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${tag}.key`, '-out', `${tag}.csr`, '-subj', `/CN=rcopy test ${tag}`);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4\n');
  openssl(dir, 'x509', '-req', '-in', `${tag}.csr`, '-CA', `${tag}-ca.pem`, '-CAkey', `${tag}-ca.key`, '-CAcreateserial', '-out', `${tag}.pem`, '-days', '2', '-extfile', 'san.ext');
}

export function makePki(dir: string): Pki {
  makeCa(dir, 'site');
  makeCa(dir, 'other');
  const psk = path.join(dir, 'psk.txt');
  fs.writeFileSync(psk, `rcopy:${execFileSync('openssl', ['rand', '-hex', '32']).toString().trim()}\n`, { mode: 0o600 });
  const p = (f: string): string => path.join(dir, f);
  return { dir, ca: p('site-ca.pem'), cert: p('site.pem'), key: p('site.key'), otherCa: p('other-ca.pem'), otherCert: p('other.pem'), otherKey: p('other.key'), psk };
}

export type Security = 'tls' | 'psk' | 'insecure';

/** The options of `array serve` and of `remote add` for a security. */
export function serveArgs(pki: Pki, s: Security): string[] {
  return s === 'tls' ? ['--tls-cert', pki.cert, '--tls-key', pki.key] : s === 'psk' ? ['--tls-psk', pki.psk] : ['--insecure'];
}
export function clientArgs(pki: Pki, s: Security): string[] {
  return s === 'tls' ? ['--tls-ca', pki.ca] : s === 'psk' ? ['--tls-psk', pki.psk] : [];
}

export interface Host {
  home: TestHome;
  array: string;
  address: string;
  tokenFile: string;
}

/** A home with one array served on `ip` (a free port), its token in a file the others can read. */
export async function makeHost(home: TestHome, array: string, ip: string, pki: Pki, s: Security, durability = 'none'): Promise<Host> {
  await home.ok('array', 'create', array, '--durability', durability);
  const st = await home.ok('array', 'serve', array, '--listen', `${ip}:0`, ...serveArgs(pki, s), '--json');
  const tokenFile = path.join(pki.dir, `${array}.token`);
  fs.writeFileSync(tokenFile, await home.ok('array', 'token', array), { mode: 0o600 });
  return { home, array, address: st.listening as string, tokenFile };
}

/** Each host knows every other as a remote. */
export async function meshRemotes(hosts: Host[], pki: Pki, s: Security): Promise<void> {
  for (const a of hosts) {
    for (const b of hosts) if (a !== b) await a.home.ok('remote', 'add', b.array, b.address, '--token-file', b.tokenFile, ...clientArgs(pki, s));
  }
}

/** The pid of an array's controller in its home. */
export function pidOf(h: Host): number {
  return Number(fs.readFileSync(path.join(h.home.dir, 'arrays', h.array, 'controller.pid'), 'utf8').trim());
}

/** Homes beyond the test's own, cleaned up with it. */
export function extraHome(main: TestHome): TestHome {
  const h = new TestHome();
  main.onCleanup(() => h.cleanup());
  return h;
}
