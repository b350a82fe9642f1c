/**
 * Trace import (`rcopy stats import`): turns a real block trace into the same PB-bit entries a
 * collection produces, one table per device in the trace, in their stored (encoded) form.
 *
 * Time: interval k is [t0 + k*interval, t0 + (k+1)*interval), t0 = time of the first read or write
 * record of the trace. A record earlier than the current interval (traces are nearly but not always
 * sorted, e.g. blkparse across CPUs) is counted in the current interval and in `outOfOrder`.
 * Entries: one per device per interval in which that device had at least one write; intervals with
 * no write for a device are omitted (reports place windows by time, so gaps read as zero).
 * The last interval ends at its nominal end, even if the trace stops earlier.
 * Devices: every device with at least one read or write record is a member of the group. Its size is
 * `deviceSizes[name]` or `deviceSize` (bytes) when given, else the highest track any record touched
 * + 1; every entry of the device carries that final size in `tracks`.
 *
 * Bounds: memory and time follow the input, never the numbers in it. A device's bits live in pages
 * (paged-table.ts), so a write near track 2^30 costs one page, not a bitmap of 2^30 bits. A record
 * that ends past its device's given size, or that would make the devices hold more than
 * MAX_IMPORT_TRACKS tracks together, is refused: its line counts as malformed with the reason (and
 * with `strict` the import stops with ERR_RCOPY_BAD_TRACE naming the line).
 * MAX_IMPORT_TRACKS bounds what the controller and the reports allocate for the group (one bit per
 * track of every member: 128 MiB).
 */
import { E } from '../../../errors.js';
import type { Encoding } from '../codec.js';
import { PagedTable } from './paged-table.js';
import { feedTrace, TraceParser, type TraceCounters, type TraceFormat } from './reader.js';

/** The tracks of all devices of one import together (2^30: 64 TiB of 64 KiB tracks). */
export const MAX_IMPORT_TRACKS = 2 ** 30;

export interface ImportOptions {
  format: TraceFormat;
  /** Collection interval, ms. */
  intervalMs: number;
  /** Bytes per track (default 64 KiB). */
  trackSize?: number;
  strict?: boolean;
  /** Known device sizes in bytes, by trace device name. */
  deviceSizes?: Record<string, number>;
  /** The size in bytes of every device not in deviceSizes. */
  deviceSize?: number;
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

/** One interval of one device, encoded as the collection data set stores it (EncodedEntry). */
export interface ImportedEntry {
  start: number;
  end: number;
  volume: string;
  trackSize: number;
  tracks: number;
  count: number;
  writes: number;
  writeBytes: number;
  enc: Encoding;
  data: Buffer;
}

/** A device of the trace: its name and its size in tracks. */
export interface DeviceInfo {
  name: string;
  tracks: number;
  trackSize: number;
}

export interface ImportResult {
  entries: ImportedEntry[];
  devices: DeviceInfo[];
  counters: ImportCounters;
  gzip: boolean;
}

/** Imports a trace file (plain or gzipped), or a trace already in memory (plain text). */
export async function importTrace(path: string | Buffer, opts: ImportOptions): Promise<ImportResult> {
  const interval = opts.intervalMs;
  const trackSize = opts.trackSize ?? 65536;
  if (!(interval > 0) || !Number.isFinite(interval)) throw E.badInput(`invalid collection interval ${interval} ms`);
  if (!(trackSize > 0) || !Number.isSafeInteger(trackSize)) throw E.badInput(`invalid track size ${trackSize}`);
  const imp = new TraceImport(opts, interval, trackSize);
  const parser = imp.parser;
  let gzip = false;
  if (typeof path === 'string') gzip = (await feedTrace(path, parser, opts.onProgress)).gzip;
  else {
    parser.push(path);
    parser.end();
  }
  return imp.finish(gzip);
}

/** The sizes in tracks the options give: for every device, and by device name. */
function givenSizes(opts: ImportOptions, trackSize: number): { sizeAll: number | undefined; sized: Map<string, number> } {
  const tracksOfSize = (bytes: number | undefined, what: string): number | undefined => {
    if (bytes === undefined) return undefined;
    if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw E.badInput(`invalid ${what} ${bytes}`);
    const t = Math.ceil(bytes / trackSize);
    if (t > MAX_IMPORT_TRACKS) throw E.outOfRange(`${what} ${bytes} bytes is more than ${MAX_IMPORT_TRACKS} tracks of ${trackSize} bytes, the most an import holds`);
    return t;
  };
  const sizeAll = tracksOfSize(opts.deviceSize, 'device size');
  const sized = new Map<string, number>();
  for (const [name, bytes] of Object.entries(opts.deviceSizes ?? {})) sized.set(name, tracksOfSize(bytes, `size of device '${name}'`)!);
  return { sizeAll, sized };
}

/** One import: the trace parser, the table of each device and the entries of the intervals so far. */
class TraceImport {
  readonly parser: TraceParser;
  /** Device names by index (the parser's). */
  private readonly names: string[];
  private readonly sizeAll: number | undefined;
  private readonly sized: Map<string, number>;
  private readonly limitText: string;
  private readonly tables: PagedTable[] = [];
  /** Size in tracks of each device that has one given; -1 = inferred from the records. */
  private readonly fixed: number[] = [];
  private total = 0; // tracks of all devices together (given sizes + highest track seen + 1)
  private readonly entries: ImportedEntry[] = [];
  private t0 = NaN;
  private cur = 0; // current interval index
  private curEnd = Infinity; // its end time
  private outOfOrder = 0;
  private lastTime: number | null = null;
  private active: number[] = []; // devices written in the current interval

  constructor(
    opts: ImportOptions,
    private readonly interval: number,
    private readonly trackSize: number,
  ) {
    ({ sizeAll: this.sizeAll, sized: this.sized } = givenSizes(opts, trackSize));
    this.limitText = `${MAX_IMPORT_TRACKS} tracks of ${trackSize} bytes for all devices together`;
    this.parser = new TraceParser({ format: opts.format, strict: opts.strict, blkparseAction: opts.blkparseAction }, (time, dev, write, offset, length) =>
      this.record(time, dev, write, offset, length),
    );
    this.names = this.parser.devices;
  }

  /** The sink: a record's tracks into its device's table for its interval, or why it is refused. */
  private record(time: number, dev: number, write: boolean, offset: number, length: number): string | undefined {
    const { trackSize, interval } = this;
    const last = length > 0 ? Math.floor((offset + length - 1) / trackSize) : Math.floor(offset / trackSize);
    const refused = this.size(dev, offset, length, last);
    if (refused !== undefined) return refused;
    const table = this.tables[dev]!;
    if (this.t0 !== this.t0) {
      this.t0 = time;
      this.curEnd = time + interval;
    }
    if (time >= this.curEnd) {
      this.flush();
      this.cur = Math.floor((time - this.t0) / interval);
      this.curEnd = this.t0 + (this.cur + 1) * interval;
    } else if (time < this.curEnd - interval) this.outOfOrder++;
    this.lastTime = time;
    if (write) {
      if (table.writes === 0) this.active.push(dev);
      table.writes++;
      table.writeBytes += length;
      if (length > 0) table.mark(Math.floor(offset / trackSize), last);
    }
    return undefined;
  }

  /** Checks a record against its device's size and the import's limit, and grows them; makes the
   *  device's table on its first record. Returns why the record is refused, if it is. */
  private size(dev: number, offset: number, length: number, last: number): string | undefined {
    const { names, trackSize, limitText } = this;
    let table = this.tables[dev];
    const size = table !== undefined ? this.fixed[dev]! : (this.sized.get(names[dev]!) ?? this.sizeAll ?? -1);
    const seen = table?.seen ?? 0;
    let grow = 0; // tracks this record adds to `total`
    if (table === undefined && size >= 0) {
      if (this.total + size > MAX_IMPORT_TRACKS) return `device '${names[dev]}' would make the import larger than ${limitText}`;
      grow = size;
    }
    if (size >= 0) {
      if (last >= size) return `ends at byte ${offset + length}, past the end of device '${names[dev]}' (${size * trackSize} bytes)`;
    } else if (last + 1 > seen) {
      grow = last + 1 - seen;
      if (this.total + grow > MAX_IMPORT_TRACKS) return `ends at byte ${offset + length}: the devices would be larger than ${limitText} (give the device size, or use larger tracks)`;
    }
    this.total += grow;
    if (table === undefined) {
      table = new PagedTable();
      this.tables[dev] = table;
      this.fixed[dev] = size;
    }
    if (last + 1 > table.seen) table.seen = last + 1;
    return undefined;
  }

  /** Stores the current interval of every device written in it. */
  private flush(): void {
    const start = this.t0 + this.cur * this.interval;
    for (const dev of this.active) {
      const e = this.tables[dev]!.take();
      this.entries.push({ start, end: start + this.interval, volume: this.names[dev]!, trackSize: this.trackSize, tracks: 0, ...e });
    }
    this.active = [];
  }

  /** The result, once the whole trace is read: the last interval stored, every entry sized. */
  finish(gzip: boolean): ImportResult {
    const { t0, names, trackSize, entries } = this;
    if (t0 === t0) this.flush();
    const devices: ImportResult['devices'] = [];
    const tracksOf = new Map<string, number>();
    this.tables.forEach((t, i) => {
      const name = names[i]!;
      const tracks = this.fixed[i]! >= 0 ? this.fixed[i]! : t.seen;
      devices.push({ name, tracks, trackSize });
      tracksOf.set(name, tracks);
    });
    for (const e of entries) e.tracks = tracksOf.get(e.volume)!;
    entries.sort((a, b) => a.start - b.start || (a.volume < b.volume ? -1 : a.volume > b.volume ? 1 : 0));
    return {
      entries,
      devices,
      counters: { ...this.parser.counters, outOfOrder: this.outOfOrder, firstTime: t0 === t0 ? t0 : null, lastTime: this.lastTime },
      gzip,
    };
  }
}
