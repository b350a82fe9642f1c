/**
 * Reading records back: runs of records that lie next to each other in the file are read with one
 * read each, and every record is checked against its index entry and its crc (layout.ts
 * readRecord). A record that fails the check was either released meanwhile (its space may be
 * reused: the read stops there) or damaged (an integrity error).
 */
import type fsp from 'node:fs/promises';
import { E } from '../../errors.js';
import { REC_HDR, readRecord, recordSize, type JournalEntry } from './layout.js';
import { readFully } from '../util/file-io.js';
import type { IndexEntry } from './space.js';

/** The journal as the reader sees it; each value is read at the moment it is needed. */
export interface RecordSource {
  fh(): fsp.FileHandle;
  path(): string;
  salt(): Buffer;
  releasedSeq(): number;
}

/** The entries of `pick` (in seq order), read and checked; stops at one released meanwhile.
 *  `block` > 0: each entry also gets the crc32 of each of its whole blocks; `dataCrc`: the crc32
 *  of its data (what a pull sends, so the secondary's restore journal need not compute it).
 *  `alloc` gives the buffer each run of records is read into (a pool's, for a pull). */
export async function readEntries(src: RecordSource, pick: IndexEntry[], block: number, dataCrc = false, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Promise<JournalEntry[]> {
  const runs: IndexEntry[][] = [];
  for (const e of pick) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (run && last && last.pos + recordSize(last.len) === e.pos) run.push(e);
    else runs.push([e]);
  }
  const out = await Promise.all(runs.map((run) => readRun(src, run, block, dataCrc, alloc)));
  const result: JournalEntry[] = [];
  for (const part of out) {
    for (const r of part) {
      if (r === null) return result; // released (and possibly overwritten) while we read
      result.push(r);
    }
  }
  return result;
}

async function readRun(src: RecordSource, run: IndexEntry[], block: number, dataCrc: boolean, alloc: (n: number) => Buffer): Promise<Array<JournalEntry | null>> {
  const first = run[0]!;
  const last = run[run.length - 1]!;
  const buf = alloc(last.pos + REC_HDR + last.len - first.pos);
  const got = await readFully(src.fh(), buf, first.pos);
  return run.map((e) => {
    const at = e.pos - first.pos;
    const r = at + REC_HDR + e.len <= got ? buf.subarray(at, at + REC_HDR + e.len) : null;
    const crcs = block > 0 && e.len >= block ? new Uint32Array(Math.floor(e.len / block)) : undefined;
    const out = readRecord(r, e, src.salt(), block, crcs, dataCrc);
    if (!out) {
      if (e.seq <= src.releasedSeq()) return null;
      throw E.integrity(`journal ${src.path()}: record seq ${e.seq} at offset ${e.pos} is corrupt (crc or header mismatch)`, 'the journal file was damaged; the entry cannot be used');
    }
    return out;
  });
}
