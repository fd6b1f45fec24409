/**
 * @module A Bloom filter of strings: says "absent" only for a key never added, so a caller can
 * trust an "absent" and must check a "maybe". The window keeps one over the index keys of every
 * event below it, so a filter on a value none of those events carries needs no KV scan.
 */

/** Bits per key at the designed capacity, and hash positions per key: about 1% false positives. */
const BITS_PER_KEY = 10;
const HASHES = 7;

/** A fixed-size Bloom filter of strings, sized for `capacity` keys. */
export class KeyFilter {
  readonly capacity: number;
  #bits: Uint32Array;
  #size: number;
  /** Keys added (repeats included). */
  added = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#size = Math.max(64, capacity * BITS_PER_KEY);
    this.#bits = new Uint32Array(Math.ceil(this.#size / 32));
  }

  /** True once more keys went in than the filter was sized for: its "absent" gets rarer. */
  get full(): boolean {
    return this.added > this.capacity;
  }

  /** Remember a key. */
  add(key: string): void {
    this.added++;
    const [h1, h2] = hashes(key);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.#size;
      this.#bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** False only when `key` was never added. */
  mayHave(key: string): boolean {
    const [h1, h2] = hashes(key);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.#size;
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Two independent 32-bit hashes (FNV-1a and a multiplicative one), the second made odd. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b | 1) >>> 0];
}
