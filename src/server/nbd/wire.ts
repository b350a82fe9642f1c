/**
 * NBD wire constants (NetworkBlockDevice/nbd doc/proto.md) and a reader of exact byte counts from a
 * socket: the handshake and the transmission phase read fixed-size headers and payloads from it.
 */
import type net from 'node:net';

export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPT_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags (server) and client flags. */
export const FLAG_FIXED_NEWSTYLE = 1;
export const FLAG_NO_ZEROES = 2;

export const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10 } as const;
export const REP = { ACK: 1, SERVER: 2, INFO: 3, META_CONTEXT: 4 } as const;
const ERR_BIT = 0x80000000;
export const REP_ERR = { UNSUP: ERR_BIT + 1, POLICY: ERR_BIT + 2, INVALID: ERR_BIT + 3, TLS_REQD: ERR_BIT + 5, UNKNOWN: ERR_BIT + 6, TOO_BIG: ERR_BIT + 9 } as const;
export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

/** Transmission flags. */
export const TFLAG = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  CAN_MULTI_CONN: 1 << 8,
  SEND_CACHE: 1 << 10,
} as const;

export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;
export const CMD_FLAG = { FUA: 1 << 0, NO_HOLE: 1 << 1, DF: 1 << 2, REQ_ONE: 1 << 3, FAST_ZERO: 1 << 4 } as const;

export const REPLY_FLAG_DONE = 1;
export const REPLY_TYPE = { NONE: 0, OFFSET_DATA: 1, BLOCK_STATUS: 5, ERROR: (1 << 15) + 1 } as const;

/** Error values of the transmission phase. */
export const NBD_ERR = { EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, EOVERFLOW: 75, ENOTSUP: 95, ESHUTDOWN: 108 } as const;

/** base:allocation status bits. */
export const STATE_HOLE = 1;
export const STATE_ZERO = 2;
export const BASE_ALLOCATION = 'base:allocation';
export const BASE_ALLOCATION_ID = 1;

/** Advertised block sizes: any byte alignment, 4 KiB preferred, 32 MiB the largest payload. */
export const MIN_BLOCK = 1;
export const PREFERRED_BLOCK = 4096;
export const MAX_PAYLOAD = 32 * 1024 * 1024;
/** Largest request served (a client may exceed the advertised maximum a little); beyond: an error. */
export const MAX_REQUEST = 64 * 1024 * 1024;

/** The connection ended before the bytes asked for arrived. */
export class Closed extends Error {
  constructor() {
    super('connection closed');
  }
}

/** Reads exact byte counts from a socket; pauses the socket while enough is buffered. */
export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private waiter: (() => void) | null = null;
  private static readonly HIGH_WATER = 8 * 1024 * 1024;

  /** Takes bytes read from the socket ('data' events, or DirectInput's copies for a plain connection). */
  readonly push = (c: Buffer): void => {
    this.chunks.push(c);
    this.buffered += c.length;
    if (this.buffered >= SocketReader.HIGH_WATER) this.sock.pause();
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly sock: net.Socket) {
    sock.on('data', this.push);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
  }

  /**
   * Stops reading (the socket is paused and handed on, e.g. to TLS: what arrives next stays in the
   * socket for its new reader). Returns how many bytes this reader held unread.
   */
  detach(): number {
    this.sock.off('data', this.push);
    this.sock.off('end', this.onEnd);
    this.sock.off('close', this.onEnd);
    this.sock.pause();
    return this.buffered;
  }

  /** Stops reading, as detach(), and hands over the bytes it held unread (the transmission phase reads them first). */
  release(): Buffer[] {
    this.detach();
    const left = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    return left;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < Math.min(n, SocketReader.HIGH_WATER)) {
      if (this.ended) throw new Closed();
      this.sock.resume();
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** n buffered bytes: a chunk or part of one when they lie in one, else copied. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length === n) {
      out = first;
      this.chunks.shift();
    } else if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      this.copyOut(out, 0, n);
    }
    this.buffered -= n;
    if (this.buffered < SocketReader.HIGH_WATER) this.sock.resume();
    return out;
  }

  private copyOut(dest: Buffer, at0: number, n: number): void {
    for (let at = 0; at < n;) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(dest, at0 + at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
  }

  /** Exactly n bytes (n at most a request's size), or Closed. */
  async read(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    if (n <= SocketReader.HIGH_WATER) {
      await this.fill(n);
      return this.take(n);
    }
    const parts: Buffer[] = [];
    for (let left = n; left > 0;) {
      const k = Math.min(left, SocketReader.HIGH_WATER);
      parts.push(await this.read(k));
      left -= k;
    }
    return Buffer.concat(parts, n);
  }
}
