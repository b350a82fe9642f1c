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
 * of PAGE_TRACKS tracks allocated when first written in an interval and dropped when the interval
 * is stored, and an entry is encoded from its pages in track order (ENC_RUNS, or ENC_RAW when that is
 * smaller: the same bytes encodeBitmap gives), so a write near track 2^30 costs one page, not a
 * bitmap of 2^30 bits. A record that ends past its device's given size, or that would make the
 * devices hold more than MAX_IMPORT_TRACKS tracks together, is refused: its line counts as malformed
 * with the reason (and with `strict` the import stops with ERR_RCOPY_BAD_TRACE naming the line).
 * MAX_IMPORT_TRACKS bounds what the controller and the reports allocate for the group (one bit per
 * track of every member: 128 MiB).
 */
import { E } from '../../../errors.js';
import { ENC_RAW, ENC_RUNS, type Encoding } from '../codec.js';
import { feedTrace, TraceParser, type TraceCounters, type TraceFormat } from './reader.js';

/** The tracks of all devices of one import together (2^30: 64 TiB of 64 KiB tracks). */
export const MAX_IMPORT_TRACKS = 2 ** 30;
const PAGE_SHIFT = 12;
const PAGE_TRACKS = 1 << PAGE_SHIFT; // 4096 tracks = 128 words = 512 bytes
const PAGE_WORDS = PAGE_TRACKS >>> 5;

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

export interface ImportResult {
  entries: ImportedEntry[];
  devices: { name: string; tracks: number; trackSize: number }[];
  counters: ImportCounters;
  gzip: boolean;
}

/** The PB bits of one device for the current interval, in pages of PAGE_TRACKS tracks. */
class PagedTable {
  /** By page number (a holey array: V8 keeps a sparse one as a dictionary). */
  private pages: Array<Uint32Array | undefined> = [];
  /** Numbers of the pages allocated in this interval. */
  private used: number[] = [];
  count = 0;
  writes = 0;
  writeBytes = 0;
  /** Highest track ever touched (reads too) + 1: the device size when none is given. */
  seen = 0;

  private page(no: number): Uint32Array {
    let p = this.pages[no];
    if (p === undefined) {
      p = new Uint32Array(PAGE_WORDS);
      this.pages[no] = p;
      this.used.push(no);
    }
    return p;
  }

  /** Sets the bits of tracks first..last (inclusive; last < 2^30). */
  mark(first: number, last: number): void {
    let no = first >>> PAGE_SHIFT;
    let pg = this.page(no);
    for (let t = first; t <= last; t++) {
      if (t >>> PAGE_SHIFT !== no) {
        no = t >>> PAGE_SHIFT;
        pg = this.page(no);
      }
      const w = (t & (PAGE_TRACKS - 1)) >>> 5;
      const m = 1 << (t & 31);
      const v = pg[w]!;
      if ((v & m) === 0) {
        pg[w] = v | m;
        this.count++;
      }
    }
  }

  /** The interval as an encoded entry; the pages are dropped for the next interval. */
  take(): { enc: Encoding; data: Buffer; count: number; writes: number; writeBytes: number } {
    const nos = this.used.sort((a, b) => a - b);
    const runs = new Runs();
    let top = -1; // highest track set
    for (const no of nos) {
      const pg = this.pages[no]!;
      const base = no * PAGE_TRACKS;
      for (let w = 0; w < PAGE_WORDS; w++) {
        const v = pg[w]!;
        if (v === 0) continue;
        const t0 = base + w * 32;
        if (v === 0xffffffff) runs.add(t0, 32);
        else for (let bit = 0; bit < 32; bit++) if (v & (1 << bit)) runs.add(t0 + bit, 1);
        top = t0 + 31 - Math.clz32(v);
      }
    }
    // encodeBitmap's choice: RUNS when no longer than the raw bitmap minus one byte, else RAW
    const rawLen = top + 1 > 0 ? (top >>> 3) + 1 : 0;
    const encoded = runs.finish();
    let enc: Encoding = ENC_RUNS;
    let data: Buffer = encoded;
    if (rawLen === 0 || encoded.length > rawLen - 1) {
      enc = ENC_RAW;
      data = Buffer.alloc(rawLen);
      for (const no of nos) {
        const pg = this.pages[no]!;
        const off = no * (PAGE_TRACKS / 8);
        const n = Math.min(PAGE_TRACKS / 8, rawLen - off);
        if (n > 0) data.set(new Uint8Array(pg.buffer, pg.byteOffset, n), off);
      }
    }
    const out = { enc, data, count: this.count, writes: this.writes, writeBytes: this.writeBytes };
    this.pages = [];
    this.used = [];
    this.count = 0;
    this.writes = 0;
    this.writeBytes = 0;
    return out;
  }
}

/** ENC_RUNS writer (see stats-codec.ts): runs of set tracks added in increasing order. */
class Runs {
  private out: number[] = [];
  private pos = 0;
  private start = -1;
  private len = 0;

  add(t: number, n: number): void {
    if (this.len > 0 && this.start + this.len === t) {
      this.len += n;
      return;
    }
    if (this.len > 0) this.flush();
    this.start = t;
    this.len = n;
  }

  private flush(): void {
    const gap = this.start - this.pos;
    varint(this.out, gap * 2 + (this.len > 1 ? 1 : 0));
    if (this.len > 1) varint(this.out, this.len - 2);
    this.pos = this.start + this.len;
  }

  finish(): Buffer {
    if (this.len > 0) this.flush();
    this.len = 0;
    return Buffer.from(this.out);
  }
}

function varint(out: number[], v: number): void {
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Imports a trace file (plain or gzipped), or a trace already in memory (plain text). */
export async function importTrace(path: string | Buffer, opts: ImportOptions): Promise<ImportResult> {
  const interval = opts.intervalMs;
  const trackSize = opts.trackSize ?? 65536;
  if (!(interval > 0) || !Number.isFinite(interval)) throw E.badInput(`invalid collection interval ${interval} ms`);
  if (!(trackSize > 0) || !Number.isSafeInteger(trackSize)) throw E.badInput(`invalid track size ${trackSize}`);
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

  const tables: PagedTable[] = [];
  /** Size in tracks of each device that has one given; -1 = inferred from the records. */
  const fixed: number[] = [];
  let total = 0; // tracks of all devices together (given sizes + highest track seen + 1)
  const entries: ImportedEntry[] = [];
  let t0 = NaN;
  let cur = 0; // current interval index
  let curEnd = Infinity; // its end time
  let outOfOrder = 0;
  let lastTime: number | null = null;

  let active: number[] = []; // devices written in the current interval
  const flush = () => {
    const start = t0 + cur * interval;
    for (const dev of active) {
      const e = tables[dev]!.take();
      entries.push({ start, end: start + interval, volume: names[dev]!, trackSize, tracks: 0, ...e });
    }
    active = [];
  };

  const limitText = `${MAX_IMPORT_TRACKS} tracks of ${trackSize} bytes for all devices together`;
  const sink = (time: number, dev: number, write: boolean, offset: number, length: number): string | undefined => {
    const last = length > 0 ? Math.floor((offset + length - 1) / trackSize) : Math.floor(offset / trackSize);
    let table = tables[dev];
    const size = table !== undefined ? fixed[dev]! : sized.get(names[dev]!) ?? sizeAll ?? -1;
    const seen = table?.seen ?? 0;
    let grow = 0; // tracks this record adds to `total`
    if (table === undefined && size >= 0) {
      if (total + size > MAX_IMPORT_TRACKS) return `device '${names[dev]}' would make the import larger than ${limitText}`;
      grow = size;
    }
    if (size >= 0) {
      if (last >= size) return `ends at byte ${offset + length}, past the end of device '${names[dev]}' (${size * trackSize} bytes)`;
    } else if (last + 1 > seen) {
      grow = last + 1 - seen;
      if (total + grow > MAX_IMPORT_TRACKS) return `ends at byte ${offset + length}: the devices would be larger than ${limitText} (give the device size, or use larger tracks)`;
    }
    total += grow;
    if (table === undefined) {
      table = new PagedTable();
      tables[dev] = table;
      fixed[dev] = size;
    }
    if (last + 1 > table.seen) table.seen = last + 1;

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
    if (write) {
      if (table.writes === 0) active.push(dev);
      table.writes++;
      table.writeBytes += length;
      if (length > 0) table.mark(Math.floor(offset / trackSize), last);
    }
    return undefined;
  };

  const parser = new TraceParser({ format: opts.format, strict: opts.strict, blkparseAction: opts.blkparseAction }, sink);
  const names = parser.devices;
  let gzip = false;
  if (typeof path === 'string') gzip = (await feedTrace(path, parser, opts.onProgress)).gzip;
  else {
    parser.push(path);
    parser.end();
  }
  if (t0 === t0) flush();

  const devices: ImportResult['devices'] = [];
  const tracksOf = new Map<string, number>();
  tables.forEach((t, i) => {
    const name = names[i]!;
    const tracks = fixed[i]! >= 0 ? fixed[i]! : t.seen;
    devices.push({ name, tracks, trackSize });
    tracksOf.set(name, tracks);
  });
  for (const e of entries) e.tracks = tracksOf.get(e.volume)!;
  entries.sort((a, b) => a.start - b.start || (a.volume < b.volume ? -1 : a.volume > b.volume ? 1 : 0));
  return {
    entries,
    devices,
    counters: { ...parser.counters, outOfOrder, firstTime: t0 === t0 ? t0 : null, lastTime },
    gzip,
  };
}
