/**
 * Positional writes in pieces of at most IO_CHUNK bytes, several in flight. On this machine a
 * single multi-MiB write(2) into pages the page cache does not hold yet was at times several times
 * slower than the same bytes in smaller calls (1 GiB into a fresh sparse file: 4 MiB calls 3.0 s,
 * 128-512 KiB calls four at a time 0.3-0.8 s, in the same minute), and at other times no faster:
 * the machine's memory is shared and its speed comes and goes. 512 KiB pieces cost little when
 * the big calls are fast and avoid the slow case; bench/file-io.ts compares both with dd.
 */
import type fsp from 'node:fs/promises';
import { InternalError } from '../errors.js';
import { forEachLimit } from './parallel.js';

/** The largest single write call. */
export const IO_CHUNK = 512 * 1024;
/** Pieces of one pwriteAll in flight at once. */
const IO_DEPTH = 4;

/** Writes `data` (one buffer, or several back to back) at `pos`, all of it, in pieces of IO_CHUNK. */
export async function pwriteAll(fh: fsp.FileHandle, data: Buffer | readonly Buffer[], pos: number): Promise<void> {
  const pieces = cut(Array.isArray(data) ? (data as readonly Buffer[]) : [data as Buffer], pos);
  if (pieces.length === 1) return writePiece(fh, pieces[0]!.bufs, pieces[0]!.pos);
  await forEachLimit(pieces.length, IO_DEPTH, (i) => writePiece(fh, pieces[i]!.bufs, pieces[i]!.pos));
}

/** Splits the buffers into pieces of at most IO_CHUNK bytes, each with its file position. */
function cut(bufs: readonly Buffer[], pos: number): Array<{ bufs: Buffer[]; pos: number }> {
  const out: Array<{ bufs: Buffer[]; pos: number }> = [];
  let cur: Buffer[] = [];
  let curLen = 0;
  let at = pos;
  for (const b of bufs) {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, IO_CHUNK - curLen);
      cur.push(off === 0 && n === b.length ? b : b.subarray(off, off + n));
      curLen += n;
      off += n;
      if (curLen === IO_CHUNK) {
        out.push({ bufs: cur, pos: at });
        at += curLen;
        cur = [];
        curLen = 0;
      }
    }
  }
  if (curLen > 0 || out.length === 0) out.push({ bufs: cur, pos: at });
  return out;
}

async function writePiece(fh: fsp.FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const n0 = rest.length === 1 ? (await fh.write(rest[0]!, 0, rest[0]!.length, pos)).bytesWritten : (await fh.writev(rest, pos)).bytesWritten;
    if (n0 <= 0) throw new InternalError('a write wrote nothing');
    pos += n0;
    let n = n0;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}
