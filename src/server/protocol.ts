/**
 * Wire protocol between the CLI and a controller, and between controllers.
 *
 * A frame is:  u32 BE headerLength | u32 BE payloadLength | header (UTF-8 JSON) | payload (bytes)
 * Header of a request:  { id, m: method, p: params }
 * Header of a reply:    { id, r: result }  or  { id, e: { code, message, hint, kind } }
 * Header of an event:   { id, ev: {...} }  (progress for a long request, zero or more before its reply)
 * The payload carries bulk data (volume blocks, journal entries) without base64.
 * Frames over MAX_FRAME are refused: a peer cannot make us allocate without bound.
 */
import net from 'node:net';
import { type BufferPool, trackBuffers } from '../engine/util/buffer-pool.js';
import { E, RcopyError, type RcopyErrorJSON } from '../errors.js';
import type { Method, ParamsOf, ResultOf } from './methods.js';

export const MAX_HEADER = 16 * 1024 * 1024;
export const MAX_PAYLOAD = 256 * 1024 * 1024;

export interface Frame {
  header: Record<string, unknown>;
  payload: Buffer | null;
}

/** A payload: one buffer, or several sent back to back without being joined first. */
export type Payload = Buffer | readonly Buffer[];

export function payloadLength(p: Payload | null | undefined): number {
  if (!p) return 0;
  if (Buffer.isBuffer(p)) return p.length;
  let n = 0;
  for (const b of p as readonly Buffer[]) n += b.length;
  return n;
}

export function isPayload(p: unknown): p is Payload {
  return Buffer.isBuffer(p) || (Array.isArray(p) && p.every((b) => Buffer.isBuffer(b)));
}

/** Writes a frame's buffers with one writev where the socket can take them at once. */
/** Writes one frame's buffers; `written` runs once the socket is done with them (sent or failed). */
export function writeFrame(sock: net.Socket, bufs: readonly Buffer[], written?: () => void): void {
  sock.cork();
  for (let i = 0; i < bufs.length; i++) {
    if (written && i === bufs.length - 1) sock.write(bufs[i]!, () => written());
    else sock.write(bufs[i]!);
  }
  sock.uncork();
}

export function encodeFrame(header: unknown, payload?: Payload | null): Buffer[] {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.allocUnsafe(8);
  const pl = payloadLength(payload);
  pre.writeUInt32BE(h.length, 0);
  pre.writeUInt32BE(pl, 4);
  if (!payload || pl === 0) return [pre, h];
  return Buffer.isBuffer(payload) ? [pre, h, payload] : [pre, h, ...(payload as readonly Buffer[]).filter((b) => b.length > 0)];
}

/**
 * Incremental decoder: push chunks, get whole frames. Once a frame's header is in, its payload
 * buffer is allocated at its announced size (bounded by MAX_PAYLOAD) and each chunk is copied into
 * it as it arrives, while the chunk is still in the CPU's cache: a 64 MiB pull is not gathered as a
 * thousand chunks and joined at the end.
 */
/** The decoder's reused read buffer (onread) outside payloads. */
const SCRATCH = 64 * 1024;

export class FrameDecoder {
  /** `payloads`: where a payload's buffer comes from (a controller's requests: requestBuffers). */
  constructor(private readonly payloads: BufferPool = trackBuffers) {}

  private chunks: Buffer[] = [];
  private size = 0;
  private cur: { header: Record<string, unknown>; payload: Buffer; filled: number } | null = null;

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    const input: Buffer[] = [chunk];
    while (input.length) {
      let c = input.shift()!;
      if (this.cur) {
        const n = Math.min(this.cur.payload.length - this.cur.filled, c.length);
        c.copy(this.cur.payload, this.cur.filled, 0, n);
        this.cur.filled += n;
        if (this.cur.filled < this.cur.payload.length) continue;
        out.push({ header: this.cur.header, payload: this.cur.payload });
        this.cur = null;
        c = c.subarray(n);
        if (c.length === 0) continue;
      }
      this.chunks.push(c);
      this.size += c.length;
      while (!this.cur && this.size >= 8) {
        const head = this.peek(8);
        const hl = head.readUInt32BE(0);
        const pl = head.readUInt32BE(4);
        if (hl > MAX_HEADER || pl > MAX_PAYLOAD) {
          throw E.badFrame(`frame too large (${hl}+${pl} bytes)`);
        }
        if (this.size < 8 + hl) break;
        const header = parseHeader(this.take(8 + hl).subarray(8));
        if (pl === 0) {
          out.push({ header, payload: null });
          continue;
        }
        if (this.size >= pl && this.chunks[0]!.length >= pl) {
          // the whole payload is in one chunk already: no copy
          out.push({ header, payload: this.take(pl) });
          continue;
        }
        this.cur = { header, payload: this.payloads.take(pl), filled: 0 };
        input.unshift(...this.chunks);
        this.chunks = [];
        this.size = 0;
      }
    }
    return out;
  }

  /**
   * Reading straight into the decoder (net's `onread`): the buffer the next socket read should
   * fill. Inside a payload that is the payload's own unfilled part, so the kernel copies the bytes
   * to where they stay and no chunk is allocated or copied (a 1 GiB transfer measured 0.16-0.25 s
   * this way against 0.39-1.9 s with 'data' events, whose fresh 64 KiB chunks are the cost).
   * Otherwise a reused scratch buffer (headers, and the start of a payload).
   */
  readBuffer(): Buffer {
    if (this.cur) return this.cur.payload.subarray(this.cur.filled);
    return (this.scratch ??= Buffer.allocUnsafe(SCRATCH));
  }

  /** The socket read n bytes into the buffer readBuffer() gave. */
  pushRead(n: number): Frame[] {
    if (this.cur) {
      this.cur.filled += n;
      if (this.cur.filled < this.cur.payload.length) return [];
      const f = { header: this.cur.header, payload: this.cur.payload };
      this.cur = null;
      return [f];
    }
    // the scratch buffer is reused by the next read: what is kept goes into a buffer of its own
    return this.push(Buffer.from(this.scratch!.subarray(0, n)));
  }

  private scratch: Buffer | null = null;

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    let buf: Buffer;
    if (this.chunks[0]!.length >= n) {
      const c = this.chunks[0]!;
      buf = c.subarray(0, n);
      if (c.length === n) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      buf = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.size -= n;
    return buf;
  }
}

function parseHeader(b: Buffer): Record<string, unknown> {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw E.badFrame('frame header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw E.badFrame('frame header is not an object');
  }
  return header;
}

export interface CallOptions {
  payload?: Payload | null;
  onEvent?: (ev: Record<string, unknown>) => void;
  timeoutMs?: number;
}

export interface Reply<T = unknown> {
  result: T;
  payload: Buffer | null;
}

/** The arguments of a call of method M: its params (optional when it takes none), and options. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `{} extends P` asks whether every param is optional
export type CallArgs<M extends Method> = {} extends ParamsOf<M> ? [params?: ParamsOf<M>, opts?: CallOptions] : [params: ParamsOf<M>, opts?: CallOptions];

interface Pending {
  resolve: (r: Reply<unknown>) => void;
  reject: (e: Error) => void;
  onEvent?: (ev: Record<string, unknown>) => void;
  timer?: NodeJS.Timeout;
}

/** Client side of a connection: many requests in flight, replies matched by id. */
export class RpcClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private readonly decoder: FrameDecoder;
  private closed: Error | null = null;

  /** `decoder`: the socket was made with `onread` into it (connect()); else 'data' events feed it. */
  constructor(
    private readonly sock: net.Socket,
    readonly label: string,
    decoder?: FrameDecoder,
  ) {
    this.decoder = decoder ?? new FrameDecoder();
    if (!decoder) sock.on('data', (chunk: Buffer) => this.take(() => this.decoder.push(chunk)));
    sock.on('error', (e) => this.fail(E.connection(`connection to ${label} failed: ${e.message}`)));
    sock.on('close', () => this.fail(E.connection(`connection to ${label} closed`)));
  }

  private take(decode: () => Frame[]): void {
    let frames: Frame[];
    try {
      frames = decode();
    } catch (e) {
      this.fail(e as Error);
      this.sock.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  static connect(path: string, label: string, timeoutMs = 5000): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const decoder = new FrameDecoder();
      let client: RpcClient | null = null;
      const sock = net.createConnection({
        path,
        onread: {
          buffer: () => decoder.readBuffer(),
          callback: (n: number) => {
            if (client) client.take(() => decoder.pushRead(n));
            else decoder.pushRead(n); // nothing is asked before connect: a stray frame is dropped
            return true;
          },
        },
      });
      const t = setTimeout(() => {
        sock.destroy();
        reject(E.connection(`timed out connecting to ${label}`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        sock.setNoDelay(true);
        client = new RpcClient(sock, label, decoder);
        resolve(client);
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** Calls a method of the contract (methods.ts): its params and result are typed by it. */
  call<M extends Method>(method: M, ...args: CallArgs<M>): Promise<Reply<ResultOf<M>>> {
    const [params = {}, opts = {}] = args as [unknown?, CallOptions?];
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<Reply<ResultOf<M>>>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (r: Reply<unknown>) => void, reject, onEvent: opts.onEvent };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(E.noAnswer(this.label, method, opts.timeoutMs!));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      writeFrame(this.sock, encodeFrame({ id, m: method, p: params }, opts.payload ?? null));
    });
  }

  private onFrame(f: Frame): void {
    const id = f.header.id as number;
    const p = this.pending.get(id);
    if (!p) return;
    if ('ev' in f.header) {
      p.onEvent?.(f.header.ev as Record<string, unknown>);
      return;
    }
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (f.header.e) p.reject(RcopyError.fromJSON(f.header.e as RcopyErrorJSON));
    else p.resolve({ result: f.header.r, payload: f.payload });
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  close(): void {
    this.closed ??= E.connection(`connection to ${this.label} closed`);
    this.sock.end();
    this.sock.destroy();
  }
}
