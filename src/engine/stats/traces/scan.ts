/**
 * Byte scanning for the trace readers: each line is parsed by scanning bytes in the chunk (no
 * per-line strings, splits or regexes on the fast path). The field helpers move one shared cursor,
 * `cur.p`: parsing is synchronous, one line at a time.
 */

export const NL = 10,
  CR = 13,
  COMMA = 44,
  SPACE = 32,
  TAB = 9,
  DOT = 46,
  ZERO = 48,
  NINE = 57,
  PLUS = 43;

/** The scan cursor shared by the field helpers (a byte position in the line's buffer). */
export const cur = { p: 0 };

/** Unsigned decimal integer at cur.p; -1 if no digit, -2 if above 2^53 - 1 (not exact). */
export function uint(b: Buffer, end: number): number {
  let p = cur.p,
    v = 0,
    c = 0;
  const s = p;
  while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
    v = v * 10 + (c - ZERO);
    p++;
  }
  cur.p = p;
  return p === s ? -1 : v > Number.MAX_SAFE_INTEGER ? -2 : v;
}

/** Unsigned decimal with optional fraction (`12.5`); -1 if none or too large. */
export function udec(b: Buffer, end: number): number {
  let v = uint(b, end);
  if (v < 0) return -1;
  if (cur.p < end && b[cur.p] === DOT) {
    cur.p++;
    let scale = 1,
      f = 0,
      c = 0;
    while (cur.p < end && (c = b[cur.p]!) >= ZERO && c <= NINE) {
      if (scale < 1e15) {
        f = f * 10 + (c - ZERO);
        scale *= 10;
      }
      cur.p++;
    }
    v += f / scale;
  }
  return v;
}

export function spaces(b: Buffer, end: number): number {
  const s = cur.p;
  let p = s,
    c = 0;
  while (p < end && ((c = b[p]!) === SPACE || c === TAB)) p++;
  cur.p = p;
  return p - s;
}

/** Advances cur.p to the next `ch` (or end); returns its position. */
export function until(b: Buffer, end: number, ch: number): number {
  let p = cur.p;
  while (p < end && b[p] !== ch) p++;
  return (cur.p = p);
}

export function token(b: Buffer, end: number): number {
  let p = cur.p,
    c = 0;
  while (p < end && (c = b[p]!) !== SPACE && c !== TAB) p++;
  return (cur.p = p);
}

export function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

/** Skips the comma at cur.p; false if there is none. */
export function comma(b: Buffer): boolean {
  if (b[cur.p] !== COMMA) return false;
  cur.p++;
  return true;
}

/** An R or W letter (either case) at cur.p, then cur.p past it: 1 write, 0 read, -1 neither. */
export function rwLetter(b: Buffer): number {
  const c = b[cur.p];
  const v = c === 87 || c === 119 ? 1 : c === 82 || c === 114 ? 0 : -1;
  if (v >= 0) cur.p++;
  return v;
}

/**
 * An unsigned decimal integer at cur.p divided by 10^k, exact for integers of any length whose
 * quotient is below 2^53 (ns or µs time stamps -> ms); -1 if no digit or too large.
 */
export function uintScaled(b: Buffer, end: number, k: number): number {
  const s = cur.p;
  let p = s,
    c = 0;
  while (p < end && (c = b[p]!) >= ZERO && c <= NINE) p++;
  cur.p = p;
  if (p === s) return -1;
  const split = p - k > s ? p - k : s;
  let hi = 0,
    lo = 0;
  for (let i = s; i < split; i++) hi = hi * 10 + (b[i]! - ZERO);
  for (let i = split; i < p; i++) lo = lo * 10 + (b[i]! - ZERO);
  if (hi > Number.MAX_SAFE_INTEGER) return -1;
  return hi + lo / (POW10[p - split] ?? 10 ** (p - split));
}

/** 10^0 .. 10^22 (exact as doubles), for uintScaled and the FIU reader. */
export const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
