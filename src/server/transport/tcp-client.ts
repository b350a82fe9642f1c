/**
 * Reaching a remote array's controller over TCP (a remote of remotes.ts): TLS 1.3 pinned to the
 * remote's CA, TLS 1.3 with a pre-shared key, or plaintext to a loopback address; then the token
 * (handshake.ts); then the same RpcClient as over a Unix socket.
 *
 * A peer that dies or goes silent is noticed within keepaliveMs(): TCP keepalive on the socket,
 * and a ping every third of it; when nothing at all has come back for keepaliveMs while a call is
 * waiting, the connection is destroyed and every call on it fails (ERR_RCOPY_PEER), as when the
 * peer's process is killed. The next call connects again.
 */
import net from 'node:net';
import tls from 'node:tls';
import { E } from '../../errors.js';
import { RpcClient } from '../protocol.js';
import { parseHostPort } from './config.js';
import { sendToken } from './handshake.js';
import { TLS13_SUITES } from './listener.js';
import type { RemoteEntry } from './remotes.js';

/** RCOPY_TCP_KEEPALIVE_MS: how long a silent peer may stay silent (default 5 s). */
export function keepaliveMs(): number {
  const v = Number(process.env.RCOPY_TCP_KEEPALIVE_MS);
  return Number.isFinite(v) && v >= 200 ? v : 5000;
}

function openSocket(r: RemoteEntry, timeoutMs: number): Promise<net.Socket> {
  const hp = parseHostPort(r.address, 'the address');
  return new Promise((resolve, reject) => {
    let sock: net.Socket;
    const ready = (): void => {
      clearTimeout(t);
      sock.off('error', fail);
      resolve(sock);
    };
    const fail = (e: Error): void => {
      clearTimeout(t);
      sock.destroy();
      const ne = e as NodeJS.ErrnoException;
      const msg = ne.code === 'ECONNREFUSED' ? 'connection refused' : e.message.split('\n')[0];
      // a socket error has a syscall; anything else on a TLS socket is the TLS handshake's verdict
      reject(
        r.security !== 'insecure' && !ne.syscall && !/^no connection/.test(msg!)
          ? E.auth(`${r.name} (${r.address}): TLS: ${msg}`, 'check the CA file (--tls-ca) or the PSK file (--tls-psk) given to rcopy remote add')
          : E.connection(`cannot reach ${r.name} at ${r.address}: ${msg}`),
      );
    };
    if (r.security === 'insecure') {
      sock = net.connect({ host: hp.host, port: hp.port }, ready);
    } else if (r.security === 'tls') {
      // the CA pins the peer: its certificate must chain to it and name the address
      sock = tls.connect({ host: hp.host, port: hp.port, servername: net.isIP(hp.host) ? undefined : hp.host, ca: r.ca, minVersion: 'TLSv1.3' }, ready);
    } else {
      const psk = Buffer.from(r.psk!.key, 'hex');
      const identity = r.psk!.identity;
      sock = tls.connect({ host: hp.host, port: hp.port, minVersion: 'TLSv1.3', ciphers: TLS13_SUITES, checkServerIdentity: () => undefined, pskCallback: () => ({ identity, psk }) }, ready);
    }
    sock.once('error', fail);
    const t = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
  });
}

/** Connects, authenticates and returns a client watched by the keepalive. */
export async function connectRemote(r: RemoteEntry, timeoutMs = 5000): Promise<{ client: RpcClient; name: string }> {
  const sock = await openSocket(r, timeoutMs);
  sock.setNoDelay(true);
  const ka = keepaliveMs();
  sock.setKeepAlive(true, Math.max(100, Math.floor(ka / 2)));
  const name = await sendToken(sock, r.token, `${r.name} (${r.address})`, timeoutMs);
  const client = new RpcClient(sock, r.name);
  watch(sock, client, ka, r);
  return { client, name };
}

/** The application-level keepalive: a ping every ka/3; silence for ka while waiting kills the socket. */
function watch(sock: net.Socket, client: RpcClient, ka: number, r: RemoteEntry): void {
  let lastRx = Date.now();
  let waitingSince: number | null = null;
  sock.on('data', () => (lastRx = Date.now()));
  const timer = setInterval(
    () => {
      if (client.isClosed) return clearInterval(timer);
      const now = Date.now();
      if (waitingSince !== null && now - lastRx > ka && now - waitingSince > ka) {
        clearInterval(timer);
        sock.destroy(new Error(`no answer from ${r.address} for ${ka} ms (keepalive)`));
        return;
      }
      if (waitingSince !== null) return;
      waitingSince = now;
      client.call('controller.ping').then(
        () => (waitingSince = null),
        () => undefined,
      );
    },
    Math.max(50, Math.floor(ka / 3)),
  );
  timer.unref();
  sock.on('close', () => clearInterval(timer));
}
