/**
 * NBD requests as they are read off a connection: the header's fields, the flags each command
 * accepts, and RequestReader, which reads headers and WRITE payloads into their buffers.
 */
import type { BufferPool } from '../../engine/util/buffer-pool.js';
import type { ByteSink } from './direct.js';
import type { Cookie } from './replies.js';
import { CMD, CMD_FLAG, MAX_REQUEST, NBD_ERR, REQUEST_MAGIC } from './wire.js';

export interface Request extends Cookie {
  flags: number;
  type: number;
  offset: number;
  length: number;
}

/** WRITE payloads up to this size are plain allocations; larger ones come from the connection's pool. */
export const SMALL = 64 * 1024;

/** The flags each command accepts; any other is EINVAL. */
const ALLOWED_FLAGS: Record<number, number> = {
  [CMD.READ]: 0,
  [CMD.WRITE]: CMD_FLAG.FUA,
  [CMD.DISC]: 0,
  [CMD.FLUSH]: 0,
  [CMD.TRIM]: CMD_FLAG.FUA,
  [CMD.CACHE]: 0,
  [CMD.WRITE_ZEROES]: CMD_FLAG.FUA | CMD_FLAG.NO_HOLE,
  [CMD.BLOCK_STATUS]: CMD_FLAG.REQ_ONE,
};

/** An NBD error value for a reply. */
export class NbdError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

function parseRequest(h: Buffer): Request | null {
  if (h.readUInt32BE(0) !== REQUEST_MAGIC) return null;
  return {
    flags: h.readUInt16BE(4),
    type: h.readUInt16BE(6),
    cookieHi: h.readUInt32BE(8),
    cookieLo: h.readUInt32BE(12),
    offset: h.readUInt32BE(16) * 2 ** 32 + h.readUInt32BE(20),
    length: h.readUInt32BE(24),
  };
}

/** Why a request is refused before it runs (its payload is read and dropped first), or null. */
function refusal(r: Request): NbdError | null {
  const allowed = ALLOWED_FLAGS[r.type];
  if (allowed !== undefined && (r.flags & ~allowed) !== 0) return new NbdError(NBD_ERR.EINVAL, `flags ${r.flags} not valid for command ${r.type}`);
  const carries = r.type === CMD.READ || r.type === CMD.WRITE;
  if (carries && r.length > MAX_REQUEST) return new NbdError(NBD_ERR.EINVAL, `request of ${r.length} bytes is larger than ${MAX_REQUEST}`);
  if (!Number.isSafeInteger(r.offset + r.length)) return new NbdError(NBD_ERR.EINVAL, 'offset out of range');
  return null;
}

/** Where a refused WRITE's payload is read to be dropped, and bytes after the end go. */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads requests from the connection's bytes (a ByteSink: a plain connection's reads land right in
 * its targets, DirectInput): the 28-byte header, then a WRITE's payload into a buffer of the
 * connection's pool, or a refused WRITE's payload into SCRATCH, dropped.
 */
export class RequestReader implements ByteSink {
  private readonly header = Buffer.alloc(28);
  private have = 0;
  private req: Request | null = null;
  private payload: Buffer | null = null;
  private skipping = 0;
  private refused: NbdError | null = null;
  private stopped = false;

  constructor(
    private readonly pool: BufferPool,
    private readonly onRequest: (r: Request, payload: Buffer | null, bad: NbdError | null) => void,
    private readonly onBroken: () => void,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  target(): Buffer {
    if (this.stopped) return SCRATCH;
    if (this.payload) return this.payload.subarray(this.have);
    if (this.skipping > 0) return SCRATCH.subarray(0, Math.min(this.skipping, SCRATCH.length));
    return this.header.subarray(this.have);
  }

  landed(n: number): void {
    if (this.stopped) return;
    if (this.payload) {
      this.have += n;
      if (this.have === this.payload.length) this.complete(this.payload, null);
    } else if (this.skipping > 0) {
      this.skipping -= n;
      if (this.skipping === 0) this.complete(null, this.refused);
    } else {
      this.have += n;
      if (this.have === this.header.length) this.parsed();
    }
  }

  private parsed(): void {
    this.have = 0;
    const r = parseRequest(this.header);
    if (!r) return this.onBroken();
    this.req = r;
    const bad = refusal(r);
    if (r.type !== CMD.WRITE || r.length === 0) return this.complete(r.type === CMD.WRITE ? Buffer.alloc(0) : null, bad);
    if (bad) {
      this.refused = bad;
      this.skipping = r.length;
    } else this.payload = r.length > SMALL ? this.pool.take(r.length) : Buffer.allocUnsafe(r.length);
  }

  private complete(payload: Buffer | null, bad: NbdError | null): void {
    const r = this.req!;
    this.req = null;
    this.payload = null;
    this.refused = null;
    this.have = 0;
    this.onRequest(r, payload, bad);
  }
}
