/**
 * The controller's TCP listener: TLS 1.3 with a certificate, TLS 1.3 with a pre-shared key, or
 * plaintext on a loopback address. Every connection sends the array's token first (handshake.ts);
 * only then is it handed to the controller, which serves it exactly like its Unix socket.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort, parseHostPort, type ServeConfig } from './config.js';
import { awaitToken } from './handshake.js';
import { readTcpPsk, sameToken } from './secrets.js';

/** How long a client has for the TLS handshake and then for its token. */
export const AUTH_TIMEOUT_MS = 5000;
/** TCP keepalive probes on idle connections (the client's calls have their own timeout). */
export const KEEPALIVE_MS = 5000;
export const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** What the listener needs of the controller. */
export interface ConnectionSink {
  readonly name: string;
  /** Serves an authenticated connection; `first`: bytes that came with the token frame. */
  serveSocket(sock: net.Socket, first: Buffer, origin: 'tcp'): void;
  log(msg: string): void;
  countBad(kind: 'auth'): void;
}

export class TcpListener {
  private server: net.Server | null = null;
  private socks = new Set<net.Socket>();
  address: string | null = null;

  constructor(
    private readonly sink: ConnectionSink,
    private readonly token: () => string,
  ) {}

  /** Listens as the configuration says; resolves with the address (the port the system gave for 0). */
  async listen(c: ServeConfig): Promise<string> {
    const hp = parseHostPort(c.listen);
    const server = this.makeServer(c);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(hp.port, hp.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.sink.log(`tcp listener error: ${e.message}`));
    this.server = server;
    const a = server.address() as net.AddressInfo;
    this.address = formatHostPort({ host: hp.host, port: a.port });
    this.sink.log(`listening on tcp ${this.address} (${c.security})`);
    return this.address;
  }

  private makeServer(c: ServeConfig): net.Server {
    const onSock = (s: net.Socket): void => void this.accept(s);
    if (c.security === 'insecure') return net.createServer(onSock);
    const base: tls.TlsOptions = { minVersion: 'TLSv1.3', handshakeTimeout: AUTH_TIMEOUT_MS };
    let server: tls.Server;
    if (c.security === 'tls') {
      server = tls.createServer({ ...base, cert: fs.readFileSync(c.cert!), key: fs.readFileSync(c.key!) });
    } else {
      const keys = readTcpPsk(c.psk!);
      server = tls.createServer({ ...base, ciphers: TLS13_SUITES, pskCallback: (_s, id) => keys.key(id) });
    }
    server.on('secureConnection', onSock);
    server.on('tlsClientError', (e, s) => {
      this.sink.countBad('auth');
      this.sink.log(`tcp connection from ${peerOf(s)} refused: TLS: ${e.message.split('\n')[0]}`);
      s.destroy();
    });
    return server;
  }

  private async accept(sock: net.Socket): Promise<void> {
    this.socks.add(sock);
    sock.on('close', () => this.socks.delete(sock));
    sock.on('error', () => undefined);
    sock.setNoDelay(true);
    sock.setKeepAlive(true, KEEPALIVE_MS);
    const from = peerOf(sock);
    const o = await awaitToken(sock, (t) => sameToken(t, this.token()), this.sink.name, AUTH_TIMEOUT_MS);
    if (!o.ok) {
      this.sink.countBad('auth');
      this.sink.log(`tcp connection from ${from} refused: ${o.why}`);
      return;
    }
    if (!this.server) {
      sock.destroy();
      return;
    }
    this.sink.serveSocket(sock, o.rest, 'tcp');
  }

  /** Stops listening and closes the connections it accepted. */
  close(): void {
    this.server?.close();
    this.server = null;
    for (const s of this.socks) s.destroy();
    this.socks.clear();
    if (this.address) this.sink.log(`stopped listening on tcp ${this.address}`);
    this.address = null;
  }
}

function peerOf(s: net.Socket): string {
  return s.remoteAddress ? formatHostPort({ host: s.remoteAddress, port: s.remotePort ?? 0 }) : 'an unknown address';
}
