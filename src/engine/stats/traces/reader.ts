/**
 * Streaming reader for block traces: splits the input into lines, hands each non-blank line to the
 * parser of its format (msr.ts, blkparse.ts, spc.ts, fio-iolog.ts, alibaba.ts, tencent.ts, fiu.ts,
 * cloudphysics.ts, systor.ts; what they hand on: records.ts),
 * checks every record against the bounds and passes it to the sink. Device names are interned once.
 *
 * Lines end with '\n' or '\r\n'. Blank lines are ignored. Anything else that does not parse (missing
 * fields, non-numeric or negative numbers, unknown type) is malformed: counted, the first one kept,
 * and with `strict` an ERR_RCOPY_BAD_TRACE error naming the line. Gzipped files (magic 1f 8b) are
 * read through gunzip; a truncated or corrupt gzip stream is an ERR_RCOPY_BAD_TRACE error.
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
import { BlkparseLines } from './blkparse.js';
import { FioIologLines } from './fio-iolog.js';
import { MsrLines } from './msr.js';
import { badTrace, MAX_DEVICE_NAME, MAX_LINE, MAX_RECORD, type LineParser, type RecordTarget, type TraceCounters, type TraceOptions, type TraceSink } from './records.js';
import { CR, cur, NL } from './scan.js';
import { SpcLines } from './spc.js';
import { AlibabaLines } from './alibaba.js';
import { CloudPhysicsLines } from './cloudphysics.js';
import { FiuLines } from './fiu.js';
import { SystorLines } from './systor.js';
import { TencentLines } from './tencent.js';

export { badTrace, MAX_DEVICE_NAME, MAX_LINE, MAX_RECORD, TRACE_FORMATS, type TraceCounters, type TraceFormat, type TraceOptions, type TraceSink } from './records.js';

/** Times beyond this (ms, either sign) are not dates. */
const MAX_TIME = 8.64e15;

/** Raw device keys TraceParser.device compares bytes with before it makes a string. */
const KEYS_KEPT = 8;

export class TraceParser implements RecordTarget {
  readonly devices: string[] = [];
  readonly counters: TraceCounters = { lines: 0, writes: 0, reads: 0, other: 0, malformed: 0 };
  private readonly format: TraceOptions['format'];
  private readonly strict: boolean;
  private readonly sink: TraceSink;
  private readonly parser: LineParser;
  private readonly byName = new Map<string, number>();
  /** The raw keys of the devices last seen (a trace that mixes a few devices finds them here without a string). */
  private readonly keys: Array<{ key: Buffer; len: number; dev: number }> = [];
  private nextKey = 0;
  /** The start of a line that has no newline yet, in the pieces it came in. */
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** Why the record being parsed was refused (set by record(), read by line()). */
  private refused: string | undefined;

  constructor(opts: TraceOptions, sink: TraceSink) {
    this.format = opts.format;
    this.strict = opts.strict === true;
    this.sink = sink;
    this.parser = lineParser(opts, this);
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
    this.parser.end?.();
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
    cur.p = s;
    this.refused = undefined;
    if (!this.parser.line(b, s, e)) this.malformed(b, s, e, this.refused);
  }

  private malformed(b: Buffer, s: number, e: number, reason?: string): void {
    const c = this.counters;
    c.malformed++;
    const text = b.toString('utf8', s, Math.min(e, s + 200));
    if (!c.firstMalformed) c.firstMalformed = reason === undefined ? { line: c.lines, text } : { line: c.lines, text, reason };
    if (this.strict) {
      throw badTrace(
        `line ${c.lines}: malformed ${this.format} record${reason ? ` (${reason})` : ''}: '${text}'`,
        `check that the file is a ${this.format} trace, or import without strict mode to skip bad lines`,
      );
    }
  }

  /** Checks a record's numbers and hands it to the sink; false (with `refused` set) if refused. */
  record(time: number, dev: number, write: boolean, offset: number, length: number): boolean {
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
  device(b: Buffer, s: number, e: number, name: (raw: string) => string): number {
    const n = e - s;
    if (n > MAX_DEVICE_NAME) {
      this.refused = `device name longer than ${MAX_DEVICE_NAME} bytes`;
      return -1;
    }
    const keys = this.keys;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k.len !== n) continue;
      let i = 0;
      while (i < n && k.key[i] === b[s + i]) i++;
      if (i === n) return k.dev;
    }
    const id = this.deviceNamed(name(b.toString('utf8', s, e)));
    const slot = keys.length < KEYS_KEPT ? { key: Buffer.alloc(MAX_DEVICE_NAME), len: 0, dev: 0 } : keys[this.nextKey++ % KEYS_KEPT]!;
    if (keys.length < KEYS_KEPT) keys.push(slot);
    b.copy(slot.key, 0, s, e);
    slot.len = n;
    slot.dev = id;
    return id;
  }

  deviceNamed(name: string): number {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.devices.length;
      this.devices.push(name);
      this.byName.set(name, id);
    }
    return id;
  }
}

/** The line parser of a trace's format. */
function lineParser(opts: TraceOptions, t: RecordTarget): LineParser {
  switch (opts.format) {
    case 'msr':
      return new MsrLines(t);
    case 'blkparse':
      return new BlkparseLines(t, opts.blkparseAction ?? 'Q');
    case 'spc':
      return new SpcLines(t);
    case 'alibaba':
      return new AlibabaLines(t);
    case 'tencent':
      return new TencentLines(t);
    case 'fiu':
      return new FiuLines(t);
    case 'cloudphysics':
      return new CloudPhysicsLines(t);
    case 'systor':
      return new SystorLines(t);
    default:
      return new FioIologLines(t);
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
