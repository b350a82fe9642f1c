/**
 * Mutations for the fuzz targets: a seeded PRNG (test/helpers.ts rng) turns a real input into a
 * hostile one with byte flips, truncation, huge numbers, long lines, duplicated, dropped and swapped
 * lines, and inserted tokens. The same seed gives the same input, so a failure names the seed that
 * replays it: RCOPY_FUZZ_SEED=<base> RCOPY_FUZZ_ONLY=<index>.
 */
import { rng } from '../helpers.js';

export const SOAK = process.env.RCOPY_SOAK === '1';

/** Base seed, number of inputs, the one input to replay (if any), and the time budget of a run. */
export function fuzzConfig(defaultCount: number, soakCount: number): { seed: number; count: number; only: number | null; budgetMs: number } {
  const seed = Number(process.env.RCOPY_FUZZ_SEED ?? 15);
  const count = Number(process.env.RCOPY_FUZZ_COUNT ?? (SOAK ? soakCount : defaultCount));
  const only = process.env.RCOPY_FUZZ_ONLY !== undefined ? Number(process.env.RCOPY_FUZZ_ONLY) : null;
  // npm test keeps each target to about 15 s on a busy machine; a soak runs every input
  const budgetMs = SOAK || only !== null ? Infinity : 15_000;
  return { seed, count, only, budgetMs };
}

export type Rand = () => number;

/** The PRNG of input `i` of a run with base seed `seed`. */
export function inputRng(seed: number, i: number): Rand {
  return rng((Math.imul(seed, 1_000_003) + i) | 0);
}

export const int = (r: Rand, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const HUGE = [
  '281474976645120',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '9'.repeat(40),
  '0',
  '-1',
  '1e400',
  '0.000000001',
  '340282366920938463463374607431768211456',
  '2147483648',
  '99999999999999999999d',
];

export interface MutateOptions {
  /** Extra tokens to insert (format syntax: separators, YAML indicators...). */
  tokens: readonly string[];
  /** Other inputs whose lines may be spliced in. */
  others: readonly Buffer[];
  /** Length of a "long line" (its limit); inserted rarely, as it costs that much to build. */
  longLine: number;
}

function lines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (;;) {
    const nl = b.indexOf(10, s);
    if (nl < 0) {
      out.push(b.subarray(s));
      return out;
    }
    out.push(b.subarray(s, nl));
    s = nl + 1;
  }
}

const join = (ls: Buffer[]): Buffer => Buffer.concat(ls.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from('\n'), l])));

/** One to four mutations of `input`. */
export function mutate(input: Buffer, r: Rand, o: MutateOptions): Buffer {
  let b = input;
  const n = 1 + int(r, 4);
  const max = 2 * o.longLine + 65536 * 4; // a mutation that would grow the input past this is undone
  for (let k = 0; k < n; k++) {
    const what = int(r, 100);
    if (b.length === 0) b = Buffer.from(pick(r, o.tokens));
    if (b.length > max) b = b.subarray(0, max);
    if (what < 20) {
      // flip bytes
      const c = Buffer.from(b);
      for (let j = 1 + int(r, 8); j > 0; j--) c[int(r, c.length)] = int(r, 256);
      b = c;
    } else if (what < 30) {
      b = b.subarray(0, int(r, b.length + 1)); // truncate
    } else if (what < 50) {
      // a number becomes huge (or negative, or not a number)
      const s = b.toString('latin1');
      const runs = [...s.matchAll(/\d+/g)];
      if (runs.length === 0) continue;
      const m = pick(r, runs);
      b = Buffer.concat([b.subarray(0, m.index!), Buffer.from(pick(r, HUGE)), b.subarray(m.index! + m[0].length)]);
    } else if (what < 62) {
      // duplicate a line, up to 2,000 times
      const ls = lines(b);
      const i = int(r, ls.length);
      const times = Math.min(r() < 0.2 ? 1 + int(r, 2000) : 1 + int(r, 5), Math.ceil(max / (ls[i]!.length + 1)));
      ls.splice(i, 0, ...Array.from({ length: times }, () => ls[i]!));
      b = join(ls);
    } else if (what < 70) {
      const ls = lines(b);
      if (r() < 0.5)
        ls.splice(int(r, ls.length), 1); // drop a line
      else {
        const i = int(r, ls.length),
          j = int(r, ls.length);
        [ls[i], ls[j]] = [ls[j]!, ls[i]!]; // swap two
      }
      b = join(ls);
    } else if (what < 85) {
      // insert a token
      const at = int(r, b.length + 1);
      b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(r, o.tokens)), b.subarray(at)]);
    } else if (what < 95) {
      // splice in a line of another input
      const src = lines(pick(r, o.others));
      const ls = lines(b);
      ls.splice(int(r, ls.length + 1), 0, pick(r, src));
      b = join(ls);
    } else if (what < 98) {
      // a long field: a line of a few KiB up to 64 KiB
      const ls = lines(b);
      ls.splice(int(r, ls.length + 1), 0, Buffer.alloc(1 + int(r, 65536), pick(r, ['9', 'a', ',', ' ', '['])));
      b = join(ls);
    } else {
      // a line just under, at or over the line limit
      const len = o.longLine + pick(r, [-1, 0, 1, 4096]);
      const at = r() < 0.5 ? b.length : int(r, b.length + 1);
      b = Buffer.concat([b.subarray(0, at), Buffer.alloc(len, pick(r, ['7', 'x', ' '])), b.subarray(at)]);
    }
  }
  return b.length > max ? b.subarray(0, max) : b;
}

/** A short printable excerpt of an input for a failure message. */
export function excerpt(b: Buffer): string {
  if (b.length <= 600) return JSON.stringify(b.toString('latin1'));
  return JSON.stringify(`${b.toString('latin1', 0, 300)}...(${b.length} bytes)...${b.toString('latin1', b.length - 200)}`);
}
