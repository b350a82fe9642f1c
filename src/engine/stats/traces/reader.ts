/**
 * Streaming readers for block traces. Each line is parsed by scanning bytes in the chunk (no
 * per-line strings, splits or regexes on the fast path); every I/O record is handed to a sink as
 * (time ms, device index, write?, offset bytes, length bytes). Device names are interned once.
 *
 * Formats (one record per line, '\n' or '\r\n'):
 *   msr       MSR Cambridge CSV `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime`.
 *             Timestamp in 100 ns units since 1601-01-01 -> epoch ms (exact: the last four digits are
 *             the fraction). Type Read|Write. Device `${Hostname}_${DiskNumber}`. A first line that
 *             does not start with a digit is a header and is skipped.
 *   blkparse  default blkparse text `maj,min cpu seq time pid action rwbs sector + nblocks [proc]`.
 *             Only action Q (queued: the request as the filesystem issued it, before merges) is an
 *             I/O record (`action: 'C'` picks completions instead); other actions count as `other`.
 *             rwbs with W is a write, else with R a read, else other (flush, discard). Sectors are
 *             512 bytes. time is seconds since the trace start -> ms. Device `dev${maj}_${min}`.
 *             The summary after the events (a line starting "CPU" or "Total") ends the records.
 *   spc       SPC/UMass `ASU,LBA,Size,Opcode,Timestamp[,...]`: LBA in 512-byte blocks, Size bytes,
 *             Opcode r|w, Timestamp seconds -> ms. Device `asu${ASU}`.
 *   fioiolog  fio iolog. v2 (`fio version 2 iolog`): `filename action [offset length]`; lines have
 *             no time: time starts at 0 and each `filename wait N` adds N microseconds, as fio replays
 *             it; without waits every record is at time 0. v3 (`fio version 3 iolog`):
 *             `timestamp filename action [offset length]`, timestamp in ms from the trace start.
 *             Actions add/open/close/sync/datasync/trim count as other; read/write are records.
 *             A file without a header line is read as v2. Device = filename as written.
 * Blank lines are ignored. Anything else that does not parse (missing fields, non-numeric or
 * negative numbers, unknown type) is malformed: counted, the first one kept, and with `strict` an
 * ERR_RCOPY_BAD_TRACE error naming the line. Gzipped files (magic 1f 8b) are read through gunzip;
 * a truncated or corrupt gzip stream is an ERR_RCOPY_BAD_TRACE error.
 * Bounds (work stays in proportion to the input, whatever the numbers say):
 *   - a line longer than MAX_LINE (1 MiB) ends the read with ERR_RCOPY_BAD_TRACE naming the line,
 *     strict or not (a file without newlines is not a text trace; `--trace /dev/zero` stops);
 *   - a record is malformed when a number is not a safe integer, its time is outside the range of a
 *     Date (±8.64e15 ms), it is longer than MAX_RECORD (256 MiB, longer than any block I/O), it ends
 *     past 2^53 bytes, or its device name is longer than MAX_DEVICE_NAME bytes;
 *   - the sink may refuse a record by returning a reason (a record past the end of its device): the
 *     line is then malformed with that reason.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { RcopyError } from '../../../errors.js';

export type TraceFormat = 'msr' | 'blkparse' | 'spc' | 'fioiolog';
export const TRACE_FORMATS: readonly TraceFormat[] = ['msr', 'blkparse', 'spc', 'fioiolog'];

export interface TraceCounters {
  /** Lines read, including headers, blank lines and the blkparse summary. */
  lines: number;
  writes: number;
  reads: number;
  /** Well-formed lines that are not reads or writes (other blkparse actions, fio open/close/wait...). */
  other: number;
  malformed: number;
  /** The first malformed line: its number, its first 200 characters and, where known, why. */
  firstMalformed?: { line: number; text: string; reason?: string };
}

/**
 * Receives every read and write record. `device` indexes TraceParser.devices. Returning a string
 * refuses the record: the line counts as malformed with that reason.
 */
export type TraceSink = (time: number, device: number, write: boolean, offset: number, length: number) => string | void;

/** The longest line a trace may have (bytes, without the newline). */
export const MAX_LINE = 1 << 20;
/** The longest read or write a record may describe (bytes). */
export const MAX_RECORD = 256 * 1024 * 1024;
/** The longest device name (bytes): a longer host/disk or file name is malformed. */
export const MAX_DEVICE_NAME = 255;
/** Times beyond this (ms, either sign) are not dates. */
const MAX_TIME = 8.64e15;

export interface TraceOptions {
  format: TraceFormat;
  /** Throw ERR_RCOPY_BAD_TRACE on the first malformed line instead of counting it. */
  strict?: boolean;
  /** blkparse: which action is the I/O record (default Q). */
  blkparseAction?: 'Q' | 'C';
}

export function badTrace(message: string, hint?: string): RcopyError {
  return new RcopyError('ERR_RCOPY_BAD_TRACE', message, { kind: 'integrity', hint });
}

const NL = 10, CR = 13, COMMA = 44, SPACE = 32, TAB = 9, DOT = 46, ZERO = 48, NINE = 57, PLUS = 43;
/** Windows FILETIME epoch (1601-01-01) to Unix epoch, in ms. */
const FILETIME_EPOCH_MS = 11644473600000;

// Scan cursor shared by the field helpers; parsing is synchronous, one line at a time.
let P = 0;

/** Unsigned decimal integer at P; -1 if no digit, -2 if above 2^53 - 1 (not exact). */
function uint(b: Buffer, end: number): number {
  let p = P, v = 0, c = 0;
  const s = p;
  while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
    v = v * 10 + (c - ZERO);
    p++;
  }
  P = p;
  return p === s ? -1 : v > Number.MAX_SAFE_INTEGER ? -2 : v;
}

/** Unsigned decimal with optional fraction (`12.5`); -1 if none or too large. */
function udec(b: Buffer, end: number): number {
  let v = uint(b, end);
  if (v < 0) return -1;
  if (P < end && b[P] === DOT) {
    P++;
    let scale = 1, f = 0, c = 0;
    while (P < end && (c = b[P]!) >= ZERO && c <= NINE) {
      if (scale < 1e15) {
        f = f * 10 + (c - ZERO);
        scale *= 10;
      }
      P++;
    }
    v += f / scale;
  }
  return v;
}

function spaces(b: Buffer, end: number): number {
  const s = P;
  let c = 0;
  while (P < end && ((c = b[P]!) === SPACE || c === TAB)) P++;
  return P - s;
}

/** Advances P to the next `ch` (or end); returns its position. */
function until(b: Buffer, end: number, ch: number): number {
  let p = P;
  while (p < end && b[p] !== ch) p++;
  return (P = p);
}

function token(b: Buffer, end: number): number {
  let p = P, c = 0;
  while (p < end && (c = b[p]!) !== SPACE && c !== TAB) p++;
  return (P = p);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

export class TraceParser {
  readonly devices: string[] = [];
  readonly counters: TraceCounters = { lines: 0, writes: 0, reads: 0, other: 0, malformed: 0 };
  private readonly format: TraceFormat;
  private readonly strict: boolean;
  private readonly blkAction: number;
  private readonly sink: TraceSink;
  private readonly byName = new Map<string, number>();
  private readonly asu: number[] = [];
  private lastKey: Buffer = Buffer.alloc(256);
  private lastKeyLen = -1;
  private lastDev = -1;
  /** The start of a line that has no newline yet, in the pieces it came in. */
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** Why the record being parsed was refused (set by record(), read by line()). */
  private refused: string | undefined;
  private done = false; // blkparse summary reached
  private fioVersion = 0; // 0 = header not seen yet
  private fioTime = 0; // v2: µs accumulated from wait lines

  constructor(opts: TraceOptions, sink: TraceSink) {
    this.format = opts.format;
    this.strict = opts.strict === true;
    this.blkAction = (opts.blkparseAction ?? 'Q').charCodeAt(0);
    this.sink = sink;
  }

  /**
   * Feeds the next chunk of the file; lines may span chunks. Throws ERR_RCOPY_BAD_TRACE when a line
   * grows past MAX_LINE (strict or not), after at most MAX_LINE + one chunk of buffering.
   */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.keep(chunk, 0);
        return;
      }
      this.carry.push(chunk.subarray(0, nl));
      const line = Buffer.concat(this.carry, this.carryLen + nl);
      this.carry = [];
      this.carryLen = 0;
      this.long(line.length - (line[line.length - 1] === CR ? 1 : 0));
      this.line(line, 0, line.length);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      if (nl - start > MAX_LINE) this.long(nl - start - (chunk[nl - 1] === CR ? 1 : 0));
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk, start);
  }

  /** Ends the input: a last line without a newline is still a line. */
  end(): void {
    if (this.carryLen > 0) {
      const c = Buffer.concat(this.carry, this.carryLen);
      this.carry = [];
      this.carryLen = 0;
      this.line(c, 0, c.length);
    }
  }

  /** Keeps chunk[start..] as the start of the next line (a copy: the caller may reuse the chunk). */
  private keep(chunk: Buffer, start: number): void {
    this.carry.push(Buffer.from(chunk.subarray(start)));
    this.carryLen += chunk.length - start;
    this.long(this.carryLen);
  }

  /** Refuses the line being read once it is longer than MAX_LINE. */
  private long(length: number): void {
    if (length <= MAX_LINE) return;
    const n = this.counters.lines + 1;
    this.carry = [];
    this.carryLen = 0;
    throw badTrace(`line ${n}: longer than ${MAX_LINE} bytes (1 MiB): not a ${this.format} trace`, `check that the file is a text ${this.format} trace with one record per line`);
  }

  private line(b: Buffer, s: number, e: number): void {
    if (e > s && b[e - 1] === CR) e--;
    this.counters.lines++;
    if (e === s) return;
    P = s;
    this.refused = undefined;
    let ok: boolean;
    switch (this.format) {
      case 'msr': ok = this.msr(b, s, e); break;
      case 'blkparse': ok = this.blkparse(b, s, e); break;
      case 'spc': ok = this.spc(b, s, e); break;
      default: ok = this.fio(b, s, e); break;
    }
    if (!ok) this.malformed(b, s, e, this.refused);
  }

  private malformed(b: Buffer, s: number, e: number, reason?: string): void {
    const c = this.counters;
    c.malformed++;
    const text = b.toString('utf8', s, Math.min(e, s + 200));
    if (!c.firstMalformed) c.firstMalformed = reason === undefined ? { line: c.lines, text } : { line: c.lines, text, reason };
    if (this.strict) {
      throw badTrace(`line ${c.lines}: malformed ${this.format} record${reason ? ` (${reason})` : ''}: '${text}'`, `check that the file is a ${this.format} trace, or import without strict mode to skip bad lines`);
    }
  }

  /** Checks a record's numbers and hands it to the sink; false (with `refused` set) if refused. */
  private record(time: number, dev: number, write: boolean, offset: number, length: number): boolean {
    let why: string | void;
    if (!(time >= -MAX_TIME && time <= MAX_TIME)) why = 'time out of range';
    else if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) why = 'offset or length too large';
    else if (length > MAX_RECORD) why = `length ${length} is longer than ${MAX_RECORD} bytes (256 MiB)`;
    else if (offset + length > Number.MAX_SAFE_INTEGER) why = 'ends past 2^53 bytes';
    else why = this.sink(time, dev, write, offset, length);
    if (typeof why === 'string') {
      this.refused = why;
      return false;
    }
    if (write) this.counters.writes++;
    else this.counters.reads++;
    return true;
  }

  /** Interns the device whose raw key is b[s, e); `name` builds its name on first sight. */
  private device(b: Buffer, s: number, e: number, name: (raw: string) => string): number {
    const n = e - s;
    if (n > MAX_DEVICE_NAME) {
      this.refused = `device name longer than ${MAX_DEVICE_NAME} bytes`;
      return -1;
    }
    if (n === this.lastKeyLen) {
      const k = this.lastKey;
      let i = 0;
      while (i < n && k[i] === b[s + i]) i++;
      if (i === n) return this.lastDev;
    }
    const full = name(b.toString('utf8', s, e));
    let id = this.byName.get(full);
    if (id === undefined) {
      id = this.devices.length;
      this.devices.push(full);
      this.byName.set(full, id);
    }
    if (n <= this.lastKey.length) {
      b.copy(this.lastKey, 0, s, e);
      this.lastKeyLen = n;
    } else this.lastKeyLen = -1;
    this.lastDev = id;
    return id;
  }

  private msr(b: Buffer, s: number, e: number): boolean {
    if (!isDigit(b[s])) {
      if (this.counters.lines === 1) return true; // header
      return false;
    }
    // Timestamp: 100 ns ticks; all but the last 4 digits are whole ms (exact below 2^53)
    const ts = P;
    let c = 0;
    while (P < e && (c = b[P]!) >= ZERO && c <= NINE) P++;
    if (P >= e || b[P] !== COMMA) return false;
    const split = Math.max(ts, P - 4);
    let hi = 0, lo = 0;
    for (let i = ts; i < split; i++) hi = hi * 10 + (b[i]! - ZERO);
    for (let i = split; i < P; i++) lo = lo * 10 + (b[i]! - ZERO);
    const time = hi - FILETIME_EPOCH_MS + lo / 1e4;
    const ks = ++P;
    if (until(b, e, COMMA) === ks || P >= e) return false;
    P++;
    if (uint(b, e) < 0 || P >= e || b[P] !== COMMA) return false;
    const ke = P++;
    const t = b[P];
    let write: boolean;
    if (t === 87 || t === 119) write = true; // W w
    else if (t === 82 || t === 114) write = false; // R r
    else return false;
    if (until(b, e, COMMA) >= e) return false;
    P++;
    const offset = uint(b, e);
    if (offset < 0 || P >= e || b[P] !== COMMA) return false;
    P++;
    const length = uint(b, e);
    if (length < 0 || (P < e && b[P] !== COMMA)) return false;
    const dev = this.device(b, ks, ke, (raw) => raw.replace(',', '_'));
    return dev >= 0 && this.record(time, dev, write, offset, length);
  }

  private blkparse(b: Buffer, s: number, e: number): boolean {
    if (this.done) return true;
    spaces(b, e);
    if (P >= e) return true;
    if (!isDigit(b[P])) {
      const head = b.toString('latin1', P, Math.min(e, P + 6));
      if (head.startsWith('CPU') || head.startsWith('Total')) {
        this.done = true;
        return true;
      }
      return false;
    }
    const ds = P;
    const maj = uint(b, e);
    if (maj < 0 || b[P] !== COMMA) return false;
    P++;
    const min = uint(b, e);
    const de = P;
    if (min < 0 || spaces(b, e) === 0) return false;
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // cpu
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // sequence
    const sec = udec(b, e);
    if (sec < 0 || spaces(b, e) === 0) return false;
    if (uint(b, e) < 0 || spaces(b, e) === 0) return false; // pid
    const as = P;
    if (token(b, e) === as) return false;
    if (P - as !== 1 || b[as] !== this.blkAction) {
      this.counters.other++;
      return true;
    }
    spaces(b, e);
    const rs = P;
    if (token(b, e) === rs) return false;
    let write = false, read = false;
    for (let i = rs; i < P; i++) {
      if (b[i] === 87) write = true;
      else if (b[i] === 82) read = true;
    }
    spaces(b, e);
    if (!write && !read) {
      this.counters.other++;
      return true;
    }
    if (P >= e || b[P] === 91) {
      this.counters.other++; // e.g. `Q FWS [jbd2]`: a flush with no sector range
      return true;
    }
    const sector = uint(b, e);
    if (sector < 0) return false;
    spaces(b, e);
    if (b[P] !== PLUS) return false;
    P++;
    spaces(b, e);
    const blocks = uint(b, e);
    if (blocks < 0 || (P < e && b[P] !== SPACE && b[P] !== TAB)) return false;
    const dev = this.device(b, ds, de, (raw) => `dev${raw.replace(',', '_')}`);
    return dev >= 0 && this.record(sec * 1000, dev, write, sector * 512, blocks * 512);
  }

  private spc(b: Buffer, s: number, e: number): boolean {
    spaces(b, e);
    const asu = uint(b, e);
    if (asu < 0 || b[P] !== COMMA) return false;
    P++;
    spaces(b, e);
    const lba = uint(b, e);
    if (lba < 0 || b[P] !== COMMA) return false;
    P++;
    spaces(b, e);
    const size = uint(b, e);
    if (size < 0 || b[P] !== COMMA) return false;
    P++;
    spaces(b, e);
    const op = b[P];
    let write: boolean;
    if (op === 87 || op === 119) write = true;
    else if (op === 82 || op === 114) write = false;
    else return false;
    P++;
    spaces(b, e);
    if (b[P] !== COMMA) return false;
    P++;
    spaces(b, e);
    const sec = udec(b, e);
    if (sec < 0) return false;
    spaces(b, e);
    if (P < e && b[P] !== COMMA) return false;
    let dev = this.asu[asu];
    if (dev === undefined) {
      const name = `asu${asu}`;
      dev = this.byName.get(name);
      if (dev === undefined) {
        dev = this.devices.length;
        this.devices.push(name);
        this.byName.set(name, dev);
      }
      if (asu < 65536) this.asu[asu] = dev;
    }
    return this.record(sec * 1000, dev, write, lba * 512, size);
  }

  private fio(b: Buffer, s: number, e: number): boolean {
    if (this.fioVersion === 0) {
      const text = b.toString('latin1', s, e).trim();
      const m = /^fio version (\d+) iolog$/.exec(text);
      this.fioVersion = m ? Number(m[1]) : 2;
      if (m) return this.fioVersion === 2 || this.fioVersion === 3;
    }
    spaces(b, e);
    let time: number;
    if (this.fioVersion === 3) {
      const ms = uint(b, e);
      if (ms < 0 || spaces(b, e) === 0) return false;
      time = ms;
    } else time = this.fioTime / 1000;
    const fs = P;
    const fe = token(b, e);
    if (fe === fs || spaces(b, e) === 0) return false;
    const as = P;
    const ae = token(b, e);
    const action = b.toString('latin1', as, ae);
    spaces(b, e);
    if (action === 'read' || action === 'write') {
      const offset = uint(b, e);
      if (offset < 0 || spaces(b, e) === 0) return false;
      const length = uint(b, e);
      spaces(b, e);
      if (length < 0 || P < e) return false;
      const dev = this.device(b, fs, fe, (raw) => raw);
      return dev >= 0 && this.record(time, dev, action === 'write', offset, length);
    }
    if (action === 'wait') {
      const us = uint(b, e);
      if (us < 0) return false;
      if (this.fioVersion === 2) this.fioTime += us;
      this.counters.other++;
      return true;
    }
    if (action === 'add' || action === 'open' || action === 'close' || action === 'sync' || action === 'datasync' || action === 'trim') {
      if (action === 'add' && this.device(b, fs, fe, (raw) => raw) < 0) return false;
      this.counters.other++;
      return true;
    }
    return false;
  }
}

/**
 * Reads a trace file (plain or gzipped) and feeds every record to `sink`.
 * Throws ERR_RCOPY_BAD_TRACE for an unreadable file, truncated gzip, or (strict) a malformed line.
 */
export async function readTrace(path: string, opts: TraceOptions, sink: TraceSink): Promise<{ devices: string[]; counters: TraceCounters; gzip: boolean }> {
  const parser = new TraceParser(opts, sink);
  const { gzip } = await feedTrace(path, parser);
  return { devices: parser.devices, counters: parser.counters, gzip };
}

/** Streams a file (plain or gzipped) through a parser; the parser keeps devices and counters. */
export async function feedTrace(path: string, parser: TraceParser, onProgress?: (fileBytes: number, fileSize: number) => void): Promise<{ gzip: boolean }> {
  let gzip = false;
  let size = 0;
  try {
    const fh = await open(path, 'r');
    try {
      size = (await fh.stat()).size;
      const head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw badTrace(`cannot read trace '${path}': ${(err as Error).message}`);
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gzip ? file.pipe(createGunzip({ chunkSize: 1 << 20 })) : file;
  if (gzip) file.on('error', (err) => stream.destroy(err));
  try {
    for await (const chunk of stream) {
      parser.push(chunk as Buffer);
      onProgress?.(file.bytesRead, size);
    }
    parser.end();
  } catch (err) {
    file.destroy();
    stream.destroy();
    if (err instanceof RcopyError) throw err;
    const where = `after ${parser.counters.lines} lines`;
    if (gzip) throw badTrace(`trace '${path}' is a truncated or corrupt gzip file (${(err as Error).message}, ${where})`, 'recompress or re-download the trace');
    throw badTrace(`cannot read trace '${path}': ${(err as Error).message} (${where})`);
  }
  return { gzip };
}
