/**
 * The fixed newstyle handshake (doc/proto.md, "Handshake"): the server's greeting, the client's
 * flags, then option haggling. Served: GO, INFO, EXPORT_NAME, LIST, ABORT, STRUCTURED_REPLY,
 * LIST_META_CONTEXT and SET_META_CONTEXT (base:allocation), and STARTTLS for an export that requires
 * TLS (tls.ts): until TLS is up, every option but STARTTLS and ABORT gets NBD_REP_ERR_TLS_REQD (and
 * EXPORT_NAME, which has no error reply, a close). Any other option gets NBD_REP_ERR_UNSUP and the
 * haggling goes on.
 */
import type net from 'node:net';
import type { PskKeys } from '../psk-file.js';
import { startTls, type Conn } from './tls.js';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_ID,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  MAX_PAYLOAD,
  MIN_BLOCK,
  NBDMAGIC,
  OPT,
  OPT_REPLY_MAGIC,
  PREFERRED_BLOCK,
  REP,
  REP_ERR,
  type SocketReader,
  TFLAG,
} from './wire.js';

/** What a listener serves: one export. */
export interface ExportTarget {
  readonly name: string;
  size(): number;
  readonly readOnly: boolean;
  /** The keys of an export that requires TLS, else null. */
  readonly tls: PskKeys | null;
}

/** What the client chose: structured replies, and whether base:allocation is the meta context. */
export interface Negotiated {
  structured: boolean;
  allocationContext: boolean;
}

/** A client's option data longer than this is refused (NBD_REP_ERR_TOO_BIG) and the connection closed. */
const MAX_OPTION = 64 * 1024;

export function transmissionFlags(exp: ExportTarget): number {
  let f = TFLAG.HAS_FLAGS | TFLAG.SEND_FLUSH | TFLAG.SEND_FUA | TFLAG.SEND_TRIM | TFLAG.SEND_WRITE_ZEROES | TFLAG.SEND_CACHE;
  // FLUSH is the array's commit: it makes every connection's completed writes durable
  f |= TFLAG.CAN_MULTI_CONN;
  if (exp.readOnly) f |= TFLAG.READ_ONLY;
  return f;
}

function optReplyBytes(opt: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeBigUInt64BE(OPT_REPLY_MAGIC, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(type >>> 0, 12);
  h.writeUInt32BE(data.length, 16);
  return data.length ? Buffer.concat([h, data]) : h;
}

function optReply(sock: net.Socket, opt: number, type: number, data: Buffer = Buffer.alloc(0)): void {
  sock.write(optReplyBytes(opt, type, data));
}

function lenPrefixed(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const l = Buffer.alloc(4);
  l.writeUInt32BE(b.length);
  return Buffer.concat([l, b]);
}

function exportInfo(exp: ExportTarget): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(INFO.EXPORT, 0);
  b.writeBigUInt64BE(BigInt(exp.size()), 2);
  b.writeUInt16BE(transmissionFlags(exp), 10);
  return b;
}

function blockSizeInfo(): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(INFO.BLOCK_SIZE, 0);
  b.writeUInt32BE(MIN_BLOCK, 2);
  b.writeUInt32BE(PREFERRED_BLOCK, 6);
  b.writeUInt32BE(MAX_PAYLOAD, 10);
  return b;
}

/** Parses "u32 len, name, ..." at off; null when it does not fit. */
function nameAt(data: Buffer, off: number): { name: string; next: number } | null {
  if (off + 4 > data.length) return null;
  const len = data.readUInt32BE(off);
  if (off + 4 + len > data.length) return null;
  return { name: data.toString('utf8', off + 4, off + 4 + len), next: off + 4 + len };
}

/** INFO and GO: the export's size and flags, its block sizes, its name when asked. True if known. */
function answerInfo(sock: net.Socket, opt: number, data: Buffer, exp: ExportTarget): boolean {
  const n = nameAt(data, 0);
  if (!n || n.next + 2 > data.length || n.next + 2 + 2 * data.readUInt16BE(n.next) !== data.length) {
    optReply(sock, opt, REP_ERR.INVALID, Buffer.from('malformed INFO/GO request'));
    return false;
  }
  if (n.name !== '' && n.name !== exp.name) {
    optReply(sock, opt, REP_ERR.UNKNOWN, Buffer.from(`no export '${n.name}'`));
    return false;
  }
  const asked = new Set<number>();
  for (let i = 0; i < data.readUInt16BE(n.next); i++) asked.add(data.readUInt16BE(n.next + 2 + 2 * i));
  optReply(sock, opt, REP.INFO, exportInfo(exp));
  if (asked.has(INFO.NAME)) optReply(sock, opt, REP.INFO, Buffer.concat([Buffer.from([0, INFO.NAME]), Buffer.from(exp.name)]));
  optReply(sock, opt, REP.INFO, blockSizeInfo());
  optReply(sock, opt, REP.ACK);
  return true;
}

/** LIST_META_CONTEXT and SET_META_CONTEXT: only base:allocation exists. */
function answerMeta(sock: net.Socket, opt: number, data: Buffer, exp: ExportTarget, st: Negotiated): void {
  if (opt === OPT.SET_META_CONTEXT && !st.structured) {
    optReply(sock, opt, REP_ERR.INVALID, Buffer.from('structured replies are not negotiated'));
    return;
  }
  const n = nameAt(data, 0);
  if (!n || n.next + 4 > data.length) return optReply(sock, opt, REP_ERR.INVALID, Buffer.from('malformed meta context request'));
  if (n.name !== '' && n.name !== exp.name) return optReply(sock, opt, REP_ERR.UNKNOWN, Buffer.from(`no export '${n.name}'`));
  const count = data.readUInt32BE(n.next);
  const queries: string[] = [];
  let off = n.next + 4;
  for (let i = 0; i < count; i++) {
    const q = nameAt(data, off);
    if (!q) return optReply(sock, opt, REP_ERR.INVALID, Buffer.from('malformed meta context query'));
    queries.push(q.name);
    off = q.next;
  }
  if (off !== data.length) return optReply(sock, opt, REP_ERR.INVALID, Buffer.from('trailing bytes in meta context request'));
  const matches = queries.some((q) => q === BASE_ALLOCATION || (opt === OPT.LIST_META_CONTEXT && q === 'base:')) || (opt === OPT.LIST_META_CONTEXT && count === 0);
  if (opt === OPT.SET_META_CONTEXT) st.allocationContext = queries.includes(BASE_ALLOCATION);
  if (matches) {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(BASE_ALLOCATION_ID);
    optReply(sock, opt, REP.META_CONTEXT, Buffer.concat([id, Buffer.from(BASE_ALLOCATION)]));
  }
  optReply(sock, opt, REP.ACK);
}

/** The greeting and the client's flags; null when the client's flags are unknown (closed). */
async function greet(sock: net.Socket, reader: SocketReader): Promise<{ noZeroes: boolean } | null> {
  const hello = Buffer.alloc(18);
  hello.writeBigUInt64BE(NBDMAGIC, 0);
  hello.writeBigUInt64BE(IHAVEOPT, 8);
  hello.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  sock.write(hello);
  const cflags = (await reader.read(4)).readUInt32BE(0);
  if ((cflags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) !== 0) return null;
  return { noZeroes: (cflags & FLAG_NO_ZEROES) !== 0 };
}

/**
 * STARTTLS and the options refused before it, for an export that requires TLS. 'tls' when TLS is
 * now up, 'next' when the option was answered, 'close' for EXPORT_NAME (no error reply exists), and
 * null when the option goes on to the normal switch.
 */
async function tlsGate(conn: Conn, exp: ExportTarget, secured: boolean, opt: number, len: number): Promise<'tls' | 'next' | 'close' | null> {
  if (opt === OPT.STARTTLS) {
    if (!exp.tls) optReply(conn.sock, opt, REP_ERR.UNSUP, Buffer.from('this export does not use TLS'));
    else if (secured) optReply(conn.sock, opt, REP_ERR.INVALID, Buffer.from('TLS is on already'));
    else if (len !== 0) optReply(conn.sock, opt, REP_ERR.INVALID, Buffer.from('STARTTLS takes no data'));
    else {
      await startTls(conn, exp.tls, optReplyBytes(opt, REP.ACK));
      return 'tls';
    }
    return 'next';
  }
  if (!exp.tls || secured || opt === OPT.ABORT) return null;
  if (opt === OPT.EXPORT_NAME) return 'close';
  optReply(conn.sock, opt, REP_ERR.TLS_REQD, Buffer.from('this export requires TLS (nbds://)'));
  return 'next';
}

/**
 * Runs the handshake. Resolves with what was negotiated once the client enters the transmission
 * phase, or null when it aborted or broke the protocol (the caller closes the connection). With
 * TLS, conn holds the TLS socket and its reader afterwards.
 */
// long: one switch over the options, each a few lines
export async function handshake(conn: Conn, exp: ExportTarget): Promise<Negotiated | null> {
  const hello = await greet(conn.sock, conn.reader);
  if (!hello) return null;
  const st: Negotiated = { structured: false, allocationContext: false };
  let secured = false;
  for (;;) {
    const { sock, reader } = conn;
    const h = await reader.read(16);
    if (h.readBigUInt64BE(0) !== IHAVEOPT) return null;
    const opt = h.readUInt32BE(8);
    const len = h.readUInt32BE(12);
    if (len > MAX_OPTION) {
      optReply(sock, opt, REP_ERR.TOO_BIG, Buffer.from('option data too large'));
      return null;
    }
    const data = await reader.read(len);
    const gate = await tlsGate(conn, exp, secured, opt, len);
    if (gate === 'close') return null;
    if (gate === 'tls') secured = true;
    if (gate !== null) continue;
    switch (opt) {
      case OPT.EXPORT_NAME: {
        const name = data.toString('utf8');
        if (name !== '' && name !== exp.name) return null;
        const b = Buffer.alloc(hello.noZeroes ? 10 : 134);
        b.writeBigUInt64BE(BigInt(exp.size()), 0);
        b.writeUInt16BE(transmissionFlags(exp), 8);
        sock.write(b);
        return st;
      }
      case OPT.ABORT:
        optReply(sock, opt, REP.ACK);
        return null;
      case OPT.LIST:
        if (len !== 0) optReply(sock, opt, REP_ERR.INVALID, Buffer.from('LIST takes no data'));
        else {
          optReply(sock, opt, REP.SERVER, lenPrefixed(exp.name));
          optReply(sock, opt, REP.ACK);
        }
        break;
      case OPT.STRUCTURED_REPLY:
        if (len !== 0) optReply(sock, opt, REP_ERR.INVALID, Buffer.from('STRUCTURED_REPLY takes no data'));
        else {
          st.structured = true;
          optReply(sock, opt, REP.ACK);
        }
        break;
      case OPT.INFO:
      case OPT.GO:
        if (answerInfo(sock, opt, data, exp) && opt === OPT.GO) return st;
        break;
      case OPT.LIST_META_CONTEXT:
      case OPT.SET_META_CONTEXT:
        answerMeta(sock, opt, data, exp, st);
        break;
      default:
        optReply(sock, opt, REP_ERR.UNSUP, Buffer.from(`option ${opt} is not supported`));
    }
  }
}
