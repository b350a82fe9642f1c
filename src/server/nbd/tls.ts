/**
 * NBD_OPT_STARTTLS (doc/proto.md, "TLS support"): once the server has acknowledged the option, the
 * same connection is upgraded in place to TLS (Node's tls.TLSSocket over the plain socket) and the
 * option haggling goes on inside TLS. Authentication is by pre-shared key (TLS-PSK, a key file as
 * nbdkit's `--tls-psk`, src/server/psk-file.ts): the client's PSK identity is its user name.
 *
 * TLS versions: libnbd (GnuTLS) offers TLS 1.3 and 1.2 with its PSK priorities
 * (NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK). Node's pskCallback is OpenSSL's legacy PSK callback, which
 * OpenSSL also serves in TLS 1.3, but only with SHA-256 cipher suites (TLS_AES_128_GCM_SHA256,
 * TLS_CHACHA20_POLY1305_SHA256), and there the identity hint is not sent. Both versions are allowed:
 * TLS 1.2 with the (EC)DHE-PSK ciphers, which have forward secrecy, and TLS 1.3's SHA-256 suites.
 * Seen here: nbdinfo of libnbd 1.14 (GnuTLS) negotiates TLS 1.3 with ECDHE-PSK and
 * CHACHA20-POLY1305; a Node client limited to TLS 1.2 gets ECDHE-PSK-AES128-CBC-SHA256. A wrong key
 * fails TLS 1.3's binder check; an unknown user finds no certificate to fall back to: both refused.
 * (test/e2e/nbd-tls.test.ts)
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { PskKeys } from '../psk-file.js';
import { SocketReader } from './wire.js';

/** The connection as the handshake holds it: the socket and its reader change when TLS starts. */
export interface Conn {
  sock: net.Socket;
  reader: SocketReader;
}

/** TLS 1.2: PSK with ephemeral (EC)DH key exchange only (no plain PSK: no forward secrecy). */
const TLS12_CIPHERS = 'ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-GCM-SHA384:DHE-PSK-AES128-GCM-SHA256:DHE-PSK-CHACHA20-POLY1305';
/** TLS 1.3 suites that OpenSSL serves with a legacy PSK callback. */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';

let context: tls.SecureContext | null = null;

function secureContext(): tls.SecureContext {
  context ??= tls.createSecureContext({ minVersion: 'TLSv1.2', ciphers: `${TLS13_SUITES}:${TLS12_CIPHERS}`, dhparam: 'auto' });
  return context;
}

/** Thrown when the TLS handshake fails (a wrong key, an unknown user, not TLS at all). */
export class TlsFailed extends Error {}

/**
 * Upgrades the connection: the plain reader is detached (the client may send nothing between its
 * STARTTLS and our acknowledgement), the acknowledgement written, then TLS runs on the same socket.
 * Resolves once TLS is up, with conn holding the TLS socket and a reader of it.
 */
export async function startTls(conn: Conn, keys: PskKeys, ack: Buffer): Promise<void> {
  const raw = conn.sock;
  if (conn.reader.detach() !== 0) throw new TlsFailed('the client sent data before STARTTLS was acknowledged');
  await new Promise<void>((resolve, reject) => raw.write(ack, (e) => (e ? reject(e) : resolve())));
  const t = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: secureContext(),
    pskCallback: (_s: tls.TLSSocket, identity: string) => keys.key(identity),
    pskIdentityHint: 'rcopy',
  } as tls.TLSSocketOptions);
  await new Promise<void>((resolve, reject) => {
    // OpenSSL's messages end in a newline and a file name: the log gets their first line
    const fail = (e?: Error): void => reject(new TlsFailed(`TLS handshake failed: ${e?.message.split('\n')[0]?.trim() ?? 'closed'}`));
    t.once('secure', () => {
      t.off('error', fail);
      t.off('close', fail);
      resolve();
    });
    t.once('error', fail);
    t.once('close', () => fail());
  });
  t.on('error', () => undefined);
  t.setNoDelay(true);
  conn.sock = t;
  conn.reader = new SocketReader(t);
}
