/**
 * What a report build keeps per volume: the bitmap of the segment being filled, the queue of segment
 * bitmaps of the open windows (or-queue.ts), the OR over the whole span, the writes per segment with
 * running sums over the open windows, and the track ranges of its data sets.
 */
import type { BitArena } from '../bitops.js';
import { OrQueue } from './or-queue.js';

export interface DsRange {
  group: number;
  from: number;
  to: number;
}

export class Vol {
  seg = -1;
  segWrites = 0;
  segWriteBytes = 0;
  span = -1;
  entries = 0;
  readonly queue: OrQueue;
  // writes per segment, FIFO with running sums
  private wIdx: number[] = [];
  private wW: number[] = [];
  private wB: number[] = [];
  private wHead = 0;
  sumW = 0;
  sumB = 0;
  totalW = 0;
  totalB = 0;
  datasets: DsRange[] = [];
  union: [number, number][] = [];
  constructor(
    readonly name: string,
    readonly trackSize: number,
    readonly tracks: number,
    readonly bytes: number,
    a: BitArena,
    readonly group: number,
  ) {
    this.queue = new OrQueue(a, bytes);
  }
  pushWrites(idx: number): void {
    if (this.segWrites === 0 && this.segWriteBytes === 0) return;
    this.wIdx.push(idx);
    this.wW.push(this.segWrites);
    this.wB.push(this.segWriteBytes);
    this.sumW += this.segWrites;
    this.sumB += this.segWriteBytes;
    this.totalW += this.segWrites;
    this.totalB += this.segWriteBytes;
    this.segWrites = 0;
    this.segWriteBytes = 0;
  }
  dropWritesBefore(idx: number): void {
    while (this.wHead < this.wIdx.length && this.wIdx[this.wHead]! < idx) {
      this.sumW -= this.wW[this.wHead]!;
      this.sumB -= this.wB[this.wHead]!;
      this.wHead++;
    }
    if (this.wHead > 4096 && this.wHead * 2 > this.wIdx.length) {
      this.wIdx.splice(0, this.wHead);
      this.wW.splice(0, this.wHead);
      this.wB.splice(0, this.wHead);
      this.wHead = 0;
    }
  }
}
