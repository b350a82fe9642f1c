/** Types of the TCP transport shared with the contract (methods.ts) and the controller. */
import type net from 'node:net';

/** Bad input from a connection: a refused handshake, a frame that cannot be read, a bad request. */
export type BadInputKind = 'auth' | 'frames' | 'requests';

export interface TransportStatus {
  /** HOST:PORT the controller listens on, or null. */
  listening: string | null;
  security: 'tls' | 'psk' | 'insecure' | null;
  /** Counted since the controller started, on every connection (Unix socket and TCP). */
  badInput: Record<BadInputKind, number>;
}

/** What the controller offers the transport service (absent in in-process tests). */
export interface TransportSeam {
  serveSocket(sock: net.Socket, first: Buffer, origin: 'tcp'): void;
  countBad(kind: BadInputKind): void;
  readonly badInput: Readonly<Record<BadInputKind, number>>;
}
