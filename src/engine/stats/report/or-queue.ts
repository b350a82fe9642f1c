/**
 * The OR over a sliding window of segment bitmaps: a FIFO of bitmaps as two stacks. Pushes OR into the
 * back stack's aggregate; when the front stack runs empty, the back stack is turned over into it with
 * suffix ORs. Each segment's bitmap is ORed a constant number of times however many windows overlap
 * it, so a sliding window is never re-ORed from scratch.
 */
import type { BitArena } from '../bitops.js';

/** FIFO of segment bitmaps with OR over its contents (two stacks; see the file comment). */
export class OrQueue {
  private backIdx: number[] = [];
  private backPtr: number[] = [];
  /** OR of the back stack: aliases the oldest back bitmap, which later pushes are ORed into
   *  (harmless: the suffix OR computed from that element includes them anyway). */
  private backAgg = -1;
  private frontIdx: number[] = []; // last element = oldest
  private frontPtr: number[] = []; // suffix ORs
  constructor(
    private readonly a: BitArena,
    private readonly bytes: number,
  ) {}

  push(idx: number, ptr: number): void {
    this.backIdx.push(idx);
    this.backPtr.push(ptr);
    if (this.backAgg < 0) this.backAgg = ptr;
    else this.a.orInto(this.backAgg, ptr, this.bytes);
  }

  /** Drops every segment older than idx. */
  dropBefore(idx: number): void {
    const { a, bytes } = this;
    for (;;) {
      if (this.frontIdx.length === 0) {
        const n = this.backIdx.length;
        if (n === 0 || this.backIdx[0]! >= idx) return;
        let keep = 0;
        while (keep < n && this.backIdx[keep]! < idx) a.free(this.backPtr[keep++]!, bytes);
        let agg = -1;
        for (let i = n - 1; i >= keep; i--) {
          const p = this.backPtr[i]!;
          if (agg >= 0) a.orInto(p, agg, bytes);
          agg = p;
          this.frontIdx.push(this.backIdx[i]!);
          this.frontPtr.push(p);
        }
        this.backIdx.length = 0;
        this.backPtr.length = 0;
        this.backAgg = -1;
        return;
      }
      const top = this.frontIdx.length - 1;
      if (this.frontIdx[top]! >= idx) return;
      a.free(this.frontPtr[top]!, bytes);
      this.frontIdx.pop();
      this.frontPtr.pop();
    }
  }

  /** OR of every queued segment: a bitmap address (possibly `scratch`), or -1 when empty. */
  query(scratch: number): number {
    const f = this.frontPtr.length > 0 ? this.frontPtr[this.frontPtr.length - 1]! : -1;
    const b = this.backAgg;
    if (f < 0) return b;
    if (b < 0) return f;
    this.a.or3(scratch, f, b, this.bytes);
    return scratch;
  }
}
