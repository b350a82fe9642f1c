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
import { RcopyError, type RcopyErrorJSON } from '../errors.js';

export const MAX_HEADER = 16 * 1024 * 1024;
export const MAX_PAYLOAD = 256 * 1024 * 1024;

export interface Frame {
  header: Record<string, unknown>;
  payload: Buffer | null;
}

export function encodeFrame(header: unknown, payload?: Buffer | null): Buffer[] {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.allocUnsafe(8);
  pre.writeUInt32BE(h.length, 0);
  pre.writeUInt32BE(payload ? payload.length : 0, 4);
  return payload && payload.length ? [pre, h, payload] : [pre, h];
}

/** Incremental decoder: push chunks, get whole frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.size < 8) break;
      const head = this.peek(8);
      const hl = head.readUInt32BE(0);
      const pl = head.readUInt32BE(4);
      if (hl > MAX_HEADER || pl > MAX_PAYLOAD) {
        throw new RcopyError('ERR_RCOPY_BAD_FRAME', `frame too large (${hl}+${pl} bytes)`, { kind: 'peer' });
      }
      if (this.size < 8 + hl + pl) break;
      const all = this.take(8 + hl + pl);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(all.subarray(8, 8 + hl).toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new RcopyError('ERR_RCOPY_BAD_FRAME', 'frame header is not JSON', { kind: 'peer' });
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) {
        throw new RcopyError('ERR_RCOPY_BAD_FRAME', 'frame header is not an object', { kind: 'peer' });
      }
      out.push({ header, payload: pl ? all.subarray(8 + hl) : null });
    }
    return out;
  }

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

export interface CallOptions {
  payload?: Buffer | null;
  onEvent?: (ev: Record<string, unknown>) => void;
  timeoutMs?: number;
}

export interface Reply<T = unknown> {
  result: T;
  payload: Buffer | null;
}

interface Pending {
  resolve: (r: Reply<any>) => void;
  reject: (e: Error) => void;
  onEvent?: (ev: Record<string, unknown>) => void;
  timer?: NodeJS.Timeout;
}

/** Client side of a connection: many requests in flight, replies matched by id. */
export class RpcClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private decoder = new FrameDecoder();
  private closed: Error | null = null;

  constructor(private readonly sock: net.Socket, readonly label: string) {
    sock.on('data', (chunk) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        sock.destroy();
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    sock.on('error', (e) => this.fail(new RcopyError('ERR_RCOPY_PEER', `connection to ${label} failed: ${e.message}`, { kind: 'peer' })));
    sock.on('close', () => this.fail(new RcopyError('ERR_RCOPY_PEER', `connection to ${label} closed`, { kind: 'peer' })));
  }

  static connect(path: string, label: string, timeoutMs = 5000): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new RcopyError('ERR_RCOPY_PEER', `timed out connecting to ${label}`, { kind: 'peer' }));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        sock.setNoDelay(true);
        resolve(new RpcClient(sock, label));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  call<T = any>(method: string, params: unknown = {}, opts: CallOptions = {}): Promise<Reply<T>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<Reply<T>>((resolve, reject) => {
      const p: Pending = { resolve, reject, onEvent: opts.onEvent };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RcopyError('ERR_RCOPY_TIMEOUT', `${this.label}: '${method}' got no answer in ${opts.timeoutMs} ms`, { kind: 'peer' }));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      const bufs = encodeFrame({ id, m: method, p: params }, opts.payload ?? null);
      for (const b of bufs) this.sock.write(b);
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
    this.closed ??= new RcopyError('ERR_RCOPY_PEER', `connection to ${this.label} closed`, { kind: 'peer' });
    this.sock.end();
    this.sock.destroy();
  }
}
