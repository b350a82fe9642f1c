/**
 * Trace import (`rcopy stats import`): turns a real block trace into the same PB-bit entries a
 * collection produces, one PbTable per device in the trace.
 *
 * Time: interval k is [t0 + k*interval, t0 + (k+1)*interval), t0 = time of the first read or write
 * record of the trace. A record earlier than the current interval (traces are nearly but not always
 * sorted, e.g. blkparse across CPUs) is counted in the current interval and in `outOfOrder`.
 * Entries: one per device per interval in which that device had at least one write; intervals with
 * no write for a device are omitted (reports place windows by time, so gaps read as zero).
 * The last interval ends at its nominal end, even if the trace stops earlier.
 * Devices: every device named in the trace (reads only too) is a member of the group. Its size is
 * `deviceSizes[name]` (bytes) when given, else the highest track any record touched + 1; every entry
 * of the device carries that final size in `tracks` (bitmaps stay as snapshotted: see StatsEntry).
 */
import { E } from '../errors.js';
import { feedTrace, TraceParser, type TraceCounters, type TraceFormat } from '../formats/trace.js';
import { PbTable, type StatsEntry } from './pb-table.js';

export interface ImportOptions {
  format: TraceFormat;
  /** Collection interval, ms. */
  intervalMs: number;
  /** Bytes per track (default 64 KiB). */
  trackSize?: number;
  strict?: boolean;
  /** Known device sizes in bytes, by trace device name. */
  deviceSizes?: Record<string, number>;
  blkparseAction?: 'Q' | 'C';
  /** Called after each chunk with the bytes of the file read so far and its size. */
  onProgress?: (fileBytes: number, fileSize: number) => void;
}

export interface ImportCounters extends TraceCounters {
  /** Records earlier than the interval being collected, counted in that interval. */
  outOfOrder: number;
  /** Time of the first record (epoch ms for msr, ms from trace start for the others). */
  firstTime: number | null;
  lastTime: number | null;
}

export interface ImportResult {
  entries: StatsEntry[];
  devices: { name: string; tracks: number; trackSize: number }[];
  counters: ImportCounters;
  gzip: boolean;
}

export async function importTrace(path: string, opts: ImportOptions): Promise<ImportResult> {
  const interval = opts.intervalMs;
  const trackSize = opts.trackSize ?? 65536;
  if (!(interval > 0) || !Number.isFinite(interval)) throw E.badInput(`invalid collection interval ${interval} ms`);
  if (!(trackSize > 0) || !Number.isSafeInteger(trackSize)) throw E.badInput(`invalid track size ${trackSize}`);

  const tables: PbTable[] = [];
  const maxTrack: number[] = [];
  const entries: StatsEntry[] = [];
  let t0 = NaN;
  let cur = 0; // current interval index
  let curEnd = Infinity; // its end time
  let outOfOrder = 0;
  let lastTime: number | null = null;

  const flush = () => {
    const start = t0 + cur * interval;
    for (const t of tables) if (t && t.writeCount > 0) entries.push(t.snapshot(start, start + interval));
  };

  const sink = (time: number, dev: number, write: boolean, offset: number, length: number) => {
    if (t0 !== t0) {
      t0 = time;
      curEnd = t0 + interval;
    }
    if (time >= curEnd) {
      flush();
      cur = Math.floor((time - t0) / interval);
      curEnd = t0 + (cur + 1) * interval;
    } else if (time < curEnd - interval) outOfOrder++;
    lastTime = time;
    const last = length > 0 ? Math.floor((offset + length - 1) / trackSize) : Math.floor(offset / trackSize);
    let table = tables[dev];
    if (table === undefined) {
      const name = names[dev]!;
      const size = opts.deviceSizes?.[name];
      table = new PbTable(name, trackSize, size !== undefined ? Math.ceil(size / trackSize) : 0, { growable: true });
      tables[dev] = table;
      maxTrack[dev] = -1;
    }
    if (last > maxTrack[dev]!) maxTrack[dev] = last;
    if (write) table.mark(offset, length);
  };

  const parser = new TraceParser({ format: opts.format, strict: opts.strict, blkparseAction: opts.blkparseAction }, sink);
  const names = parser.devices;
  const { gzip } = await feedTrace(path, parser, opts.onProgress);
  if (t0 === t0) flush();

  const devices = parser.devices.map((name, i) => {
    const size = opts.deviceSizes?.[name];
    const tracks = size !== undefined ? Math.max(Math.ceil(size / trackSize), (maxTrack[i] ?? -1) + 1) : (maxTrack[i] ?? -1) + 1;
    return { name, tracks, trackSize };
  });
  const tracksOf = new Map(devices.map((d) => [d.name, d.tracks]));
  for (const e of entries) e.tracks = tracksOf.get(e.volume) ?? e.tracks;
  entries.sort((a, b) => a.start - b.start || (a.volume < b.volume ? -1 : a.volume > b.volume ? 1 : 0));
  return {
    entries,
    devices,
    counters: { ...parser.counters, outOfOrder, firstTime: t0 === t0 ? t0 : null, lastTime },
    gzip,
  };
}
