/**
 * The host writes a journal simulation replays, in time order, held in growable typed arrays
 * (24 bytes a write: time f64, offset f64, length u32, device u32): read once from a trace, then
 * replayed as many times as a sizing search needs without reading the file again. Reads are not
 * kept. A record earlier than the one before it (a trace that is not quite sorted) is kept at the
 * time of the one before, and counted.
 *
 * What a write costs in rcopy's journal (src/engine/journal/layout.ts, repl/write-hook.ts): a host
 * write is split into records of at most MAX_RECORD_DATA (4 MiB) of data; each record is an
 * REC_HDR (80-byte) header plus its data, padded to ALIGN (512 bytes) in the journal; what travels
 * on the link for a record is its header (the update information) and its data, not the padding.
 */
import { E } from '../../../errors.js';
import { MAX_RECORD_DATA, REC_HDR, recordSize } from '../../journal/layout.js';
import { feedTrace, TraceParser } from '../traces/reader.js';
import type { TraceCounters, TraceFormat } from '../traces/records.js';

/** The most writes one simulation holds (24 bytes each: 1.2 GB). */
export const MAX_SIM_WRITES = 50_000_000;

/** Journal bytes a host write of `length` bytes takes: its records, header and padding included. */
export function journalBytes(length: number): number {
  if (length <= MAX_RECORD_DATA) return recordSize(length);
  const full = Math.floor(length / MAX_RECORD_DATA);
  const rest = length - full * MAX_RECORD_DATA;
  return full * recordSize(MAX_RECORD_DATA) + (rest > 0 ? recordSize(rest) : 0);
}

/** Link bytes a host write of `length` bytes takes: its data and one header per record. */
export function wireBytes(length: number): number {
  return length + Math.max(1, Math.ceil(length / MAX_RECORD_DATA)) * REC_HDR;
}

export class WriteLog {
  times = new Float64Array(1024);
  offsets = new Float64Array(1024);
  lengths = new Uint32Array(1024);
  devices = new Uint32Array(1024);
  length = 0;
  outOfOrder = 0;
  /** Bytes written by the hosts (data only). */
  writeBytes = 0;

  private costs: { journal: Float64Array; wire: Float64Array } | null = null;

  /** Each write's journal bytes and link bytes (computed once, after the last add). */
  cost(): { journal: Float64Array; wire: Float64Array } {
    if (this.costs && this.costs.journal.length === this.length) return this.costs;
    const journal = new Float64Array(this.length);
    const wire = new Float64Array(this.length);
    for (let i = 0; i < this.length; i++) {
      journal[i] = journalBytes(this.lengths[i]!);
      wire[i] = wireBytes(this.lengths[i]!);
    }
    return (this.costs = { journal, wire });
  }

  /** Appends a write; its time is kept no earlier than the write before it. */
  add(time: number, device: number, offset: number, length: number): void {
    const n = this.length;
    if (n === this.times.length) this.grow();
    if (n > 0 && time < this.times[n - 1]!) {
      time = this.times[n - 1]!;
      this.outOfOrder++;
    }
    this.times[n] = time;
    this.offsets[n] = offset;
    this.lengths[n] = length;
    this.devices[n] = device;
    this.length = n + 1;
    this.writeBytes += length;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    if (this.length >= MAX_SIM_WRITES) {
      throw E.outOfRange(`the trace has more than ${MAX_SIM_WRITES.toLocaleString('en')} writes, the most a simulation holds: simulate a part of it (--from/--to, or --device)`);
    }
    const f = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const u = (a: Uint32Array) => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.times = f(this.times);
    this.offsets = f(this.offsets);
    this.lengths = u(this.lengths);
    this.devices = u(this.devices);
  }
}

export interface ReadWritesOptions {
  format: TraceFormat;
  strict?: boolean;
  /** Keep only the writes of this trace device (its name as `stats import` shows it). */
  device?: string;
  /** Keep only writes at or after this time (ms). */
  fromMs?: number;
  /** Keep only writes before this time (ms). */
  toMs?: number;
}

export interface ReadWrites {
  log: WriteLog;
  /** Every device of the trace, by index (writes of one device are kept with --device). */
  devices: string[];
  counters: TraceCounters;
  gzip: boolean;
}

/** Reads the writes of a trace file (plain or gzipped) into a WriteLog. */
export async function readWrites(path: string | Buffer, opts: ReadWritesOptions): Promise<ReadWrites> {
  const log = new WriteLog();
  const from = opts.fromMs ?? -Infinity;
  const to = opts.toMs ?? Infinity;
  const want = opts.device;
  const keep: Array<boolean | undefined> = [];
  const parser: TraceParser = new TraceParser({ format: opts.format, strict: opts.strict }, (time, dev, write, offset, length) => {
    if (!write || time < from || time >= to) return;
    if (want !== undefined) {
      let k = keep[dev];
      if (k === undefined) k = keep[dev] = parser.devices[dev] === want;
      if (!k) return;
    }
    log.add(time, dev, offset, length);
  });
  let gzip = false;
  if (typeof path === 'string') gzip = (await feedTrace(path, parser)).gzip;
  else {
    parser.push(path);
    parser.end();
  }
  if (want !== undefined && !parser.devices.includes(want)) {
    const some = parser.devices.slice(0, 8).join(', ');
    throw E.badInput(`the trace has no device '${want}'`, parser.devices.length ? `its devices: ${some}${parser.devices.length > 8 ? ', ...' : ''}` : 'it has no read or write records');
  }
  return { log, devices: parser.devices, counters: parser.counters, gzip };
}
