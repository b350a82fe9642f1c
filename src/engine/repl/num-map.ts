/**
 * A hash map from integers in [0, 2^53 - 1) to two numbers, kept in typed arrays: open addressing
 * with linear probing and backward-shift deletion (no tombstones), grown by doubling at half full.
 * The reference index does a dozen lookups and updates per 4 KiB block pulled; with Map and keys
 * above 2^31 (boxed numbers) that cost about 1 s of the primary's CPU per GiB.
 */
const TWO32 = 2 ** 32;

export class NumMap {
  private keys: Float64Array; // key + 1; 0 marks an empty slot
  private vals: Float64Array;
  private auxs: Float64Array; // empty unless withAux
  private mask: number;
  size = 0;

  /** capacity: entries expected (it grows past them); withAux: keep a second number per key. */
  constructor(
    capacity = 1024,
    private readonly withAux = false,
  ) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.auxs = new Float64Array(withAux ? cap : 0);
    this.mask = cap - 1;
  }

  private home(key: number): number {
    let h = Math.imul(key >>> 0, 0x9e3779b1) ^ Math.imul((key / TWO32) | 0, 0x85ebca77);
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Slot of key, or -1. */
  find(key: number): number {
    const k = key + 1;
    const keys = this.keys;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const x = keys[i]!;
      if (x === k) return i;
      if (x === 0) return -1;
    }
  }

  /** The value of key, or undefined. */
  get(key: number): number | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.vals[i];
  }

  /** The numbers in a slot that find() returned. */
  auxAt(slot: number): number {
    return this.auxs[slot]!;
  }
  valueAt(slot: number): number {
    return this.vals[slot]!;
  }

  set(key: number, value: number, aux = 0): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const k = key + 1;
    const keys = this.keys;
    let i = this.home(key);
    for (; ; i = (i + 1) & this.mask) {
      const x = keys[i]!;
      if (x === k) break;
      if (x === 0) {
        keys[i] = k;
        this.size++;
        break;
      }
    }
    this.vals[i] = value;
    if (this.withAux) this.auxs[i] = aux;
  }

  delete(key: number): boolean {
    let i = this.find(key);
    if (i < 0) return false;
    const { keys, vals, auxs, mask } = this;
    // backward shift: move later members of the probe run into the hole when their home allows
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const h = this.home(keys[j]! - 1);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j]!;
      if (this.withAux) auxs[i] = auxs[j]!;
      i = j;
    }
    keys[i] = 0;
    this.size--;
    return true;
  }

  /** Calls fn for every key and its value, in slot order. */
  forEach(fn: (key: number, value: number) => void): void {
    const { keys, vals } = this;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) fn(keys[i]! - 1, vals[i]!);
  }

  clear(): void {
    this.keys.fill(0);
    this.size = 0;
  }

  private grow(): void {
    const { keys, vals, auxs } = this;
    const cap = keys.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.auxs = new Float64Array(this.withAux ? cap : 0);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i]! - 1, vals[i]!, this.withAux ? auxs[i]! : 0);
  }
}
