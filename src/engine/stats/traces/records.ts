/**
 * What every trace reader hands on (readers in this folder, one file per format; the common line
 * reading in reader.ts): I/O records given to a sink as (time ms, device index, write?, offset bytes,
 * length bytes), the counters of the lines read, and the bounds a record must stay within.
 */
import { E, type RcopyError } from '../../../errors.js';

export type TraceFormat = 'msr' | 'blkparse' | 'spc' | 'fioiolog' | 'alibaba' | 'tencent' | 'fiu' | 'cloudphysics' | 'systor';
export const TRACE_FORMATS: readonly TraceFormat[] = ['msr', 'blkparse', 'spc', 'fioiolog', 'alibaba', 'tencent', 'fiu', 'cloudphysics', 'systor'];

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
  /** Traces with content digests (fiu): writes whose content was written before, and their bytes. */
  duplicateWrites?: number;
  duplicateBytes?: number;
  /** The digests kept reached their bound: the duplicates are a lower bound. */
  digestsFull?: boolean;
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

export interface TraceOptions {
  format: TraceFormat;
  /** Throw ERR_RCOPY_BAD_TRACE on the first malformed line instead of counting it. */
  strict?: boolean;
  /** blkparse: which action is the I/O record (default Q). */
  blkparseAction?: 'Q' | 'C';
}

export function badTrace(message: string, hint?: string): RcopyError {
  return E.badTrace(message, hint);
}

/** What a format's line parser calls back (the TraceParser): counters, checked records, devices. */
export interface RecordTarget {
  readonly counters: TraceCounters;
  /** Checks a record's numbers and hands it to the sink; false if refused (the line is malformed). */
  record(time: number, dev: number, write: boolean, offset: number, length: number): boolean;
  /** Interns the device whose raw key is b[s, e); `name` builds its name on first sight. -1 (refused)
   *  when the key is longer than MAX_DEVICE_NAME. */
  device(b: Buffer, s: number, e: number, name: (raw: string) => string): number;
  /** Interns a device by its full name. */
  deviceNamed(name: string): number;
}

/** The parser of one trace format's lines. */
export interface LineParser {
  /** Parses the non-blank line b[s, e) (without its newline), the scan cursor at s; false if malformed. */
  line(b: Buffer, s: number, e: number): boolean;
  /** The input has ended (after its last line): work the parser deferred is done now. */
  end?(): void;
}
