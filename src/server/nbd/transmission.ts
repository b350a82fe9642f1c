/**
 * The transmission phase (doc/proto.md, "Transmission"): requests read one after another, served
 * concurrently (at most MAX_INFLIGHT at a time), replies sent as each completes (simple replies, or
 * structured ones when negotiated). An error in a request is an error reply; the connection goes on.
 */
import { BufferPool } from '../../engine/util/buffer-pool.js';
import type net from 'node:net';
import { RcopyError } from '../../errors.js';
import type { Negotiated } from './handshake.js';
import { CMD, CMD_FLAG, NBD_ERR, STATE_HOLE, STATE_ZERO, type SocketReader } from './wire.js';
import { Replier } from './replies.js';
import { feed, type DirectInput } from './direct.js';
import { NbdError, RequestReader, SMALL, type Request } from './requests.js';

/** What an export does with the requests: the array's host write path underneath. */
export interface Backend {
  readonly readOnly: boolean;
  readonly trackSize: number;
  size(): number;
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Buffer, fua: boolean): Promise<void>;
  flush(): Promise<void>;
  isAllocated(track: number): boolean;
  counted(read: number, written: number): void;
  log(msg: string): void;
}

const MAX_INFLIGHT = 64;

/**
 * The payload buffers of large WRITEs come from a pool of the connection (buffer-pool.ts) and go
 * back once their write has completed (the write path keeps no reference to a host write's data
 * after it resolves: the journal and the volume copy it into their files). They are shared memory,
 * so with zlib's crc32 a P-VOL's journal computes their crc32 on a worker thread (crc-offload.ts). A fresh buffer per
 * request cost more than the copy into it — page faults on new memory and garbage collection:
 * bench/nbd.ts, profiled with --cpu-prof. At most POOL_BYTES are kept per connection; payloads up
 * to SMALL come straight from the socket's chunks.
 */
const POOL_BYTES = 64 * 1024 * 1024;

/** WRITE_ZEROES writes zeros through the write path in pieces of this size. */
const ZERO_CHUNK = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_CHUNK);

/** The error value for what the engine threw: a read-only S-VOL is EPERM, a full disk or journal ENOSPC, a fenced write EIO. */
export function errnoOf(e: unknown): number {
  if (e instanceof NbdError) return e.errno;
  if (e instanceof RcopyError) {
    if (e.code === 'ERR_RCOPY_STATE') return NBD_ERR.EPERM;
    if (e.code === 'ERR_RCOPY_NO_SPACE' || e.code === 'ERR_RCOPY_JOURNAL_FULL') return NBD_ERR.ENOSPC;
    if (e.code === 'ERR_RCOPY_OUT_OF_RANGE') return NBD_ERR.EINVAL;
  }
  if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC' || (e as NodeJS.ErrnoException)?.code === 'EDQUOT') return NBD_ERR.ENOSPC;
  return NBD_ERR.EIO;
}

/** The base:allocation extents of [offset, offset+length): unallocated tracks read as zeros. */
function allocationExtents(be: Backend, offset: number, length: number, one: boolean): Buffer {
  const out: Array<[number, number]> = [];
  const end = offset + length;
  for (let at = offset; at < end;) {
    const track = Math.floor(at / be.trackSize);
    const next = Math.min(end, (track + 1) * be.trackSize);
    const state = be.isAllocated(track) ? 0 : STATE_HOLE | STATE_ZERO;
    const last = out[out.length - 1];
    if (last && last[1] === state && last[0] + (next - at) <= 0xffffffff) last[0] += next - at;
    else {
      if (one && last) break;
      out.push([next - at, state]);
    }
    at = next;
  }
  const b = Buffer.alloc(out.length * 8);
  out.forEach(([len, state], i) => {
    b.writeUInt32BE(len, i * 8);
    b.writeUInt32BE(state, i * 8 + 4);
  });
  return b;
}

function checkRange(be: Backend, r: Request, errno: number): void {
  if (r.offset + r.length > be.size()) throw new NbdError(errno, `offset ${r.offset} + length ${r.length} is past the end of the export (${be.size()} bytes)`);
}

async function writeZeroes(be: Backend, r: Request): Promise<void> {
  for (let at = 0; at < r.length; at += ZERO_CHUNK) {
    const n = Math.min(ZERO_CHUNK, r.length - at);
    await be.write(r.offset + at, n === ZERO_CHUNK ? ZEROS : ZEROS.subarray(0, n), false);
  }
  if (r.flags & CMD_FLAG.FUA) await be.flush();
  be.counted(0, r.length);
}

/** Serves one request whose payload (a WRITE's) has been read. */
// long: one case per command, each a few lines
async function serve(be: Backend, st: Negotiated, out: Replier, r: Request, payload: Buffer | null): Promise<void> {
  const writes = r.type === CMD.WRITE || r.type === CMD.TRIM || r.type === CMD.WRITE_ZEROES;
  if (writes && be.readOnly) throw new NbdError(NBD_ERR.EPERM, 'the export is read-only');
  switch (r.type) {
    case CMD.READ: {
      checkRange(be, r, NBD_ERR.EINVAL);
      const data = await be.read(r.offset, r.length);
      be.counted(r.length, 0);
      return out.data(r, r.offset, data);
    }
    case CMD.WRITE:
      checkRange(be, r, NBD_ERR.ENOSPC);
      await be.write(r.offset, payload!, (r.flags & CMD_FLAG.FUA) !== 0);
      be.counted(0, r.length);
      return out.ok(r);
    case CMD.FLUSH:
      await be.flush();
      return out.ok(r);
    case CMD.TRIM:
      // a hint the server may ignore: the data stays (and so does the replica's)
      checkRange(be, r, NBD_ERR.EINVAL);
      if (r.flags & CMD_FLAG.FUA) await be.flush();
      return out.ok(r);
    case CMD.CACHE:
      checkRange(be, r, NBD_ERR.EINVAL);
      return out.ok(r);
    case CMD.WRITE_ZEROES:
      checkRange(be, r, NBD_ERR.ENOSPC);
      await writeZeroes(be, r);
      return out.ok(r);
    case CMD.BLOCK_STATUS:
      if (!st.structured || !st.allocationContext) throw new NbdError(NBD_ERR.EINVAL, 'no meta context was negotiated');
      if (r.length === 0) throw new NbdError(NBD_ERR.EINVAL, 'BLOCK_STATUS of length 0');
      checkRange(be, r, NBD_ERR.EINVAL);
      return out.status(r, allocationExtents(be, r.offset, r.length, (r.flags & CMD_FLAG.REQ_ONE) !== 0));
    default:
      throw new NbdError(NBD_ERR.EINVAL, `unknown command ${r.type}`);
  }
}

/**
 * Serves requests until DISC, the end of the connection, or a request without the request magic
 * (the stream cannot be followed any more: the connection is closed). The handshake's reader hands
 * over what it read ahead; then a plain connection is read through `direct` (its bytes land in the
 * request's buffers), a TLS one through 'data' events. At most MAX_INFLIGHT requests run at once:
 * beyond, the socket is paused. In-flight requests complete before it resolves.
 */
export function transmission(sock: net.Socket, reader: SocketReader, be: Backend, st: Negotiated, direct: DirectInput | null): Promise<void> {
  return new Promise<void>((resolve) => {
    const out = new Replier(sock, st);
    const pool = new BufferPool(POOL_BYTES, SMALL + 1, 'shared');
    const waiting: Array<[Request, Buffer | null]> = [];
    let inflight = 0;
    let ending = false;
    let paused = false;
    const finish = (): void => {
      if (ending && inflight === 0 && waiting.length === 0) resolve();
    };
    const run = (r: Request, payload: Buffer | null): void => {
      inflight += 1;
      const ended = (): void => {
        inflight -= 1;
        if (payload && payload.length > SMALL) pool.give(payload);
        const next = waiting.shift();
        if (next) run(...next);
        else if (paused && !ending) {
          paused = false;
          sock.resume();
        }
        finish();
      };
      serve(be, st, out, r, payload).then(ended, (e: unknown) => {
        try {
          out.error(r, errnoOf(e), (e as Error).message);
        } finally {
          ended();
        }
      });
    };
    const end = (): void => {
      if (ending) return;
      ending = true;
      requests.stop();
      sock.off('data', onData);
      sock.pause();
      finish();
    };
    const onRequest = (r: Request, payload: Buffer | null, bad: NbdError | null): void => {
      if (r.type === CMD.DISC) return end();
      if (bad) return out.error(r, bad.errno, bad.message);
      if (inflight < MAX_INFLIGHT) return run(r, payload);
      waiting.push([r, payload]);
      if (!paused) {
        paused = true;
        sock.pause();
      }
    };
    const requests = new RequestReader(pool, onRequest, () => {
      be.log('NBD: a request without the request magic; closing the connection');
      end();
    });
    const onData = (c: Buffer): void => feed(requests, c);
    sock.once('end', end);
    sock.once('close', end);
    for (const c of reader.release()) feed(requests, c);
    if (ending) return;
    if (direct) direct.setSink(requests);
    else sock.on('data', onData);
    if (!paused) sock.resume();
  });
}
