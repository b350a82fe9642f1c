/**
 * The PB bits of one device of a trace import for the current interval, in pages of PAGE_TRACKS
 * tracks allocated when first written and dropped when the interval is taken: memory follows the
 * tracks written, never the track numbers (a write near track 2^30 costs one page). An interval is
 * taken in its stored form, encoded from its pages in track order: ENC_RUNS, or ENC_RAW when that is
 * smaller (the same bytes encodeBitmap gives, codec.ts).
 */
import { ENC_RAW, ENC_RUNS, type Encoding } from '../codec.js';

const PAGE_SHIFT = 12;
const PAGE_TRACKS = 1 << PAGE_SHIFT; // 4096 tracks = 128 words = 512 bytes
const PAGE_WORDS = PAGE_TRACKS >>> 5;

/** The PB bits of one device for the current interval, in pages of PAGE_TRACKS tracks. */
export class PagedTable {
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

/** ENC_RUNS writer (see codec.ts): runs of set tracks added in increasing order. */
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
