/**
 * Reading a plain (not TLS) NBD connection with net's `onread`: the kernel copies the bytes
 * straight into the buffer the reader names next (a request header, a WRITE's pooled payload
 * buffer), so no 64 KiB chunk is allocated per read, copied out of and collected. Profiled during
 * bench/nbd.ts, those chunks cost the controller more CPU (copies and garbage collection, on the
 * main thread and V8's helper threads) than the volume writes did.
 *
 * Node offers `onread` only to a socket it makes, not to a server's connections: the accepted
 * socket's handle moves to a new net.Socket made with `onread` (as the server makes its own), and
 * the server's socket object is destroyed without its handle, so the server's count of connections
 * stays right. A TLS connection is read the ordinary way ('data' events, copied by feed()).
 */
import net from 'node:net';

/** Where the bytes read from a connection go. */
export interface ByteSink {
  /** The buffer the next bytes should land in (never empty). */
  target(): Buffer;
  /** n bytes landed at the start of the last target(). */
  landed(n: number): void;
}

/** Copies bytes into a sink's targets: bytes that landed elsewhere, or a 'data' chunk. */
export function feed(sink: ByteSink, bytes: Buffer): void {
  for (let at = 0; at < bytes.length;) {
    const t = sink.target();
    const n = bytes.copy(t, 0, at, Math.min(bytes.length, at + t.length));
    sink.landed(n);
    at += n;
  }
}

const STAGING = 64 * 1024;

/** A sink that hands copies of what it reads to `push` (the handshake's SocketReader). */
export function chunkSink(push: (c: Buffer) => void): ByteSink {
  const staging = Buffer.allocUnsafe(STAGING);
  return { target: () => staging, landed: (n) => push(Buffer.from(staging.subarray(0, n))) };
}

/** The internals of a net.Socket this module relies on: its handle (as Node's own server passes it on). */
interface WithHandle {
  _handle: unknown;
}

export class DirectInput {
  readonly sock: net.Socket;
  private sink: ByteSink;
  /** The sink whose target() the socket reads into next (null: it reads elsewhere, feed() copies). */
  private givenTo: ByteSink | null = null;

  private constructor(raw: net.Socket, sink: ByteSink) {
    this.sink = sink;
    const handle = (raw as unknown as WithHandle)._handle;
    (raw as unknown as WithHandle)._handle = null;
    raw.destroy();
    const opts = { handle, readable: true, writable: true, pauseOnCreate: true, onread: { buffer: () => this.next(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) } };
    this.sock = new net.Socket(opts as net.SocketConstructorOpts);
  }

  /** Takes over a connection a server accepted (paused: resume() starts the reading). */
  static adopt(raw: net.Socket, sink: ByteSink): DirectInput {
    return new DirectInput(raw, sink);
  }

  /** From now on the bytes go to `sink` (bytes of a read already under way are copied into it). */
  setSink(sink: ByteSink): void {
    this.sink = sink;
    this.givenTo = null;
  }

  private next(): Buffer {
    this.givenTo = this.sink;
    return this.sink.target();
  }

  private onRead(n: number, buf: Buffer): void {
    if (this.givenTo === this.sink) this.sink.landed(n);
    else feed(this.sink, buf.subarray(0, n));
  }
}
