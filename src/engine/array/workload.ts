/**
 * The workload generator: seq / random / zipf block I/O against one or more volumes, at a target
 * rate, for a duration or a byte count, with a fixed number of requests in flight. Deterministic
 * for a seed (block choice and data). Reports IOPS, MB/s and latency percentiles.
 */
import { E } from '../../errors.js';
import type { Volume } from './volume.js';

export interface WorkloadOptions {
  pattern: 'seq' | 'random' | 'zipf';
  bs: number;
  rate?: number; // bytes per second, 0/undefined = as fast as possible
  durationMs?: number;
  bytes?: number;
  writeRatio?: number; // 0..1
  seed?: number;
  depth?: number;
  /** Put the op's global index (u64 LE) and volume index (u32) at the start of each written block. */
  stamp?: boolean;
}

export interface WorkloadResult {
  ops: number;
  writes: number;
  reads: number;
  bytes: number;
  seconds: number;
  iops: number;
  mbps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

export type WorkloadIo = {
  write(vol: Volume, offset: number, data: Buffer): Promise<void>;
  read(vol: Volume, offset: number, length: number): Promise<unknown>;
};

/** xorshift128+ style 32-bit generator; small and fast, deterministic for a seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed >>> 0 || 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = 0x12345678;
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    // xoshiro128**
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  float(): number {
    return this.next() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  fill(buf: Buffer): void {
    const n = buf.length >>> 2;
    const u = new Uint32Array(buf.buffer, buf.byteOffset, n);
    for (let i = 0; i < n; i++) u[i] = this.next();
    for (let i = n << 2; i < buf.length; i++) buf[i] = this.next() & 0xff;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Zipf(s≈1.0) over n items by inverse-CDF on a precomputed table of at most 64k buckets. */
class Zipf {
  private cdf: Float64Array;
  private bucket: number;
  constructor(
    private readonly n: number,
    s = 1.1,
  ) {
    const buckets = Math.min(n, 65536);
    this.bucket = n / buckets;
    this.cdf = new Float64Array(buckets);
    let sum = 0;
    for (let i = 0; i < buckets; i++) {
      sum += 1 / Math.pow(i + 1, s);
      this.cdf[i] = sum;
    }
    for (let i = 0; i < buckets; i++) this.cdf[i]! /= sum;
  }
  sample(rng: Rng): number {
    const u = rng.float();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    // scatter hot buckets across the volume so hot data is not all at the front
    const scattered = Math.floor(((lo * 2654435761) >>> 0) % this.cdf.length);
    return Math.min(this.n - 1, Math.floor(scattered * this.bucket + this.bucket * 0.999 * rng.float()));
  }
}

/** Chooses the volume and block of each request: in turn (seq), uniformly (random) or zipf. */
class BlockChooser {
  private readonly blocks: number[];
  private readonly zipfs: Zipf[];
  private readonly seqPos: number[];

  constructor(
    private readonly vols: Volume[],
    bs: number,
    private readonly pattern: WorkloadOptions['pattern'],
  ) {
    this.blocks = vols.map((v) => Math.floor(v.size / bs));
    this.zipfs = pattern === 'zipf' ? vols.map((_, i) => new Zipf(this.blocks[i]!)) : [];
    this.seqPos = vols.map(() => 0);
  }

  next(rng: Rng): { vi: number; block: number } {
    const vi = this.vols.length === 1 ? 0 : rng.int(this.vols.length);
    let block: number;
    if (this.pattern === 'seq') {
      block = this.seqPos[vi]!;
      this.seqPos[vi] = (block + 1) % this.blocks[vi]!;
    } else if (this.pattern === 'zipf') block = this.zipfs[vi]!.sample(rng);
    else block = rng.int(this.blocks[vi]!);
    return { vi, block };
  }
}

function checkWorkload(vols: Volume[], opts: WorkloadOptions): void {
  if (vols.length === 0) throw E.usage('a workload needs at least one volume');
  for (const v of vols) {
    if (opts.bs <= 0 || opts.bs > v.size) throw E.badSize(String(opts.bs), `block size must be from 1 byte to the volume size (${v.size})`);
  }
  if (!opts.durationMs && !opts.bytes) throw E.usage('a workload needs --duration or --bytes');
}

/** Stamps a written block (WorkloadOptions.stamp): the op's index, the volume's index, 'STMP'. */
function stamp(buf: Buffer, no: number, vi: number): void {
  buf.writeBigUInt64LE(BigInt(no), 0);
  buf.writeUInt32LE(vi, 8);
  buf.writeUInt32LE(0x53544d50, 12);
}

export async function runWorkload(
  vols: Volume[],
  opts: WorkloadOptions,
  io: WorkloadIo,
  onProgress?: (p: { bytes: number; ops: number; elapsedMs: number }) => void,
  shouldStop?: () => boolean,
): Promise<WorkloadResult> {
  checkWorkload(vols, opts);
  const bs = opts.bs;
  const rng = new Rng(opts.seed ?? 1);
  const writeRatio = opts.writeRatio ?? 1;
  const depth = opts.depth ?? 4;
  const chooser = new BlockChooser(vols, bs, opts.pattern);
  const lat: number[] = [];
  const t0 = performance.now();
  const n = { bytes: 0, ops: 0, writes: 0, reads: 0 };
  let issued = 0;
  let stampNo = 0;
  let lastReport = t0;
  const done = (): boolean => {
    const el = performance.now() - t0;
    if (shouldStop?.()) return true;
    if (opts.durationMs && el >= opts.durationMs) return true;
    if (opts.bytes && issued >= opts.bytes) return true;
    return false;
  };
  const worker = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(bs);
    while (!done()) {
      const { vi, block } = chooser.next(rng);
      const vol = vols[vi]!;
      const isWrite = writeRatio >= 1 || rng.float() < writeRatio;
      issued += bs;
      if (opts.rate) {
        const due = t0 + (issued / opts.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        if (done() && opts.durationMs) break;
      }
      const s = performance.now();
      if (isWrite) {
        rng.fill(buf);
        if (opts.stamp && bs >= 16) stamp(buf, stampNo++, vi);
        await io.write(vol, block * bs, Buffer.from(buf));
        n.writes++;
      } else {
        await io.read(vol, block * bs, bs);
        n.reads++;
      }
      lat.push(performance.now() - s);
      n.bytes += bs;
      n.ops++;
      const now = performance.now();
      if (onProgress && now - lastReport > 500) {
        lastReport = now;
        onProgress({ bytes: n.bytes, ops: n.ops, elapsedMs: now - t0 });
      }
    }
  };
  await Promise.all(Array.from({ length: depth }, () => worker()));
  return summarize(n, (performance.now() - t0) / 1000, lat);
}

/** The result of a run from its counts, its duration and the latency of each request (ms). */
function summarize(n: { bytes: number; ops: number; writes: number; reads: number }, seconds: number, lat: number[]): WorkloadResult {
  lat.sort((a, b) => a - b);
  const pct = (q: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! : 0);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    ops: n.ops,
    writes: n.writes,
    reads: n.reads,
    bytes: n.bytes,
    seconds: r3(seconds),
    iops: Math.round(n.ops / seconds),
    mbps: r3(n.bytes / seconds / 1e6),
    latencyMs: { p50: r3(pct(0.5)), p95: r3(pct(0.95)), p99: r3(pct(0.99)), max: r3(lat[lat.length - 1] ?? 0) },
  };
}
