/**
 * Replies of the transmission phase (doc/proto.md, "Simple reply message", "Structured reply
 * chunk message"), sent as requests complete.
 *
 * Replies that complete in one turn of the event loop (a merged volume write or a journal batch
 * ends many writes at once) go out together at the turn's end: their headers are written one after
 * another into a slab (no buffer per reply) and sent with a READ's data between them as one write
 * of the socket, or one writev. A reply per socket write, each through the stream's machinery,
 * was a visible share of the controller's main thread in bench/nbd.ts's profile.
 */
import type net from 'node:net';
import type { Negotiated } from './handshake.js';
import { BASE_ALLOCATION_ID, REPLY_FLAG_DONE, REPLY_TYPE, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './wire.js';

/** A request's cookie, as its two 32-bit halves (no buffer per request). */
export interface Cookie {
  cookieHi: number;
  cookieLo: number;
}

const SLAB = 64 * 1024;

export class Replier {
  /** What goes out at the end of this turn. */
  private parts: Buffer[] = [];
  /** Header bytes are written at `at`; [from, at) is not in `parts` yet. Bytes before `at` are never written again (the socket may still hold them). */
  private slab: Buffer | null = null;
  private from = 0;
  private at = 0;
  private scheduled = false;

  constructor(
    private readonly sock: net.Socket,
    private readonly st: Negotiated,
  ) {}

  ok(c: Cookie): void {
    if (this.st.structured) this.chunk(c, REPLY_TYPE.NONE, 0);
    else this.simple(c, 0);
  }

  error(c: Cookie, errno: number, message: string): void {
    if (!this.st.structured) return this.simple(c, errno);
    const m = Buffer.from(message.slice(0, 200), 'utf8');
    const h = this.chunk(c, REPLY_TYPE.ERROR, 6 + m.length);
    h.writeUInt32BE(errno, 20);
    h.writeUInt16BE(m.length, 24);
    m.copy(h, 26);
  }

  data(c: Cookie, offset: number, data: Buffer): void {
    if (!this.st.structured) this.simple(c, 0);
    else this.chunk(c, REPLY_TYPE.OFFSET_DATA, 8 + data.length, 8).writeBigUInt64BE(BigInt(offset), 20);
    this.append(data);
  }

  status(c: Cookie, extents: Buffer): void {
    this.chunk(c, REPLY_TYPE.BLOCK_STATUS, 4 + extents.length, 4).writeUInt32BE(BASE_ALLOCATION_ID, 20);
    this.append(extents);
  }

  private simple(c: Cookie, errno: number): void {
    const h = this.room(16);
    h.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(errno, 4);
    h.writeUInt32BE(c.cookieHi, 8);
    h.writeUInt32BE(c.cookieLo, 12);
  }

  /** A structured chunk (always the last of its request) of `length` payload bytes; `here` of them follow the header in the slab. */
  private chunk(c: Cookie, type: number, length: number, here = length): Buffer {
    const h = this.room(20 + here);
    h.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(REPLY_FLAG_DONE, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(c.cookieHi, 8);
    h.writeUInt32BE(c.cookieLo, 12);
    h.writeUInt32BE(length, 16);
    return h;
  }

  /** n bytes of the slab for this turn. */
  private room(n: number): Buffer {
    if (!this.slab || this.at + n > this.slab.length) {
      this.cut();
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB, n));
      this.from = this.at = 0;
    }
    const b = this.slab.subarray(this.at, this.at + n);
    this.at += n;
    this.schedule();
    return b;
  }

  private append(data: Buffer): void {
    this.cut();
    if (data.length) this.parts.push(data);
    this.schedule();
  }

  private cut(): void {
    if (this.slab && this.at > this.from) this.parts.push(this.slab.subarray(this.from, this.at));
    this.from = this.at;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.cut();
    const parts = this.parts;
    this.parts = [];
    if (this.sock.destroyed || parts.length === 0) return;
    if (parts.length === 1) {
      this.sock.write(parts[0]!);
      return;
    }
    this.sock.cork();
    for (const p of parts) this.sock.write(p);
    this.sock.uncork();
  }
}
