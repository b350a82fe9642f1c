/**
 * The few WebAssembly binary-encoding pieces the hand-assembled kernels share (the PB-bit operations
 * and the statistics codec): LEB128 integers, vectors, sections, names, and local get/set.
 */
export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};

export const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const get = (i: number): number[] => [0x20, i];
export const set = (i: number): number[] => [0x21, i];
