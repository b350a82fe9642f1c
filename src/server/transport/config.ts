/**
 * Where and how a controller listens on TCP (`rcopy array serve`): kept in `tcp.json` in the array
 * directory (mode 0600, written by the transport service only), so a restarted controller listens
 * again. Layout: { listen: "HOST:PORT", security: "tls" | "psk" | "insecure", cert?, key?, psk? }
 * (absolute paths; the files are read at each start). Plaintext ("insecure") only on a loopback
 * address.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { E } from '../../errors.js';

export const CONFIG_FILE = 'tcp.json';

export type Security = 'tls' | 'psk' | 'insecure';

export interface ServeConfig {
  listen: string;
  security: Security;
  cert?: string;
  key?: string;
  psk?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

/** HOST:PORT or [IPV6]:PORT; port 0 asks the system for a free one (the one it gives is kept). */
export function parseHostPort(s: string, what = '--listen'): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw E.usage(`${what} '${s}' is not HOST:PORT`, 'e.g. 192.0.2.10:7400, or [2001:db8::1]:7400');
  return { host: m[1] ?? m[2]!, port };
}

export function formatHostPort(h: HostPort): string {
  return net.isIPv6(h.host) ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Checks a configuration before it is used: one security, its files readable, loopback for plaintext. */
export function checkConfig(c: ServeConfig): ServeConfig {
  const hp = parseHostPort(c.listen);
  if (c.security === 'insecure' && !isLoopback(hp.host)) {
    throw E.usage(`plaintext is allowed on a loopback address only, not ${hp.host}`, 'give --tls-cert F --tls-key F, or --tls-psk F');
  }
  if (c.security === 'tls' && (!c.cert || !c.key)) throw E.usage('--tls-cert and --tls-key go together');
  if (c.security === 'psk' && !c.psk) throw E.usage('--tls-psk needs a file');
  for (const f of [c.cert, c.key, c.psk]) {
    if (f === undefined) continue;
    if (!path.isAbsolute(f)) throw E.badPath(`${f}: the path must be absolute`);
    try {
      fs.accessSync(f, fs.constants.R_OK);
    } catch {
      throw E.badPath(`cannot read ${f}`);
    }
  }
  return c;
}

export function readConfig(dir: string): ServeConfig | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const j = JSON.parse(text) as ServeConfig;
  if (typeof j?.listen !== 'string' || !['tls', 'psk', 'insecure'].includes(j.security)) {
    throw E.config(`${path.join(dir, CONFIG_FILE)} is not a TCP listen configuration`, 'run rcopy array serve NAME --stop, then serve again');
  }
  return j;
}

export function writeConfig(dir: string, c: ServeConfig | null): void {
  const file = path.join(dir, CONFIG_FILE);
  if (!c) {
    fs.rmSync(file, { force: true });
    return;
  }
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}
