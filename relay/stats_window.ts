/**
 * @module A rolling window of per-second counts in a fixed ring, so adding is O(1) and reading
 * never depends on how many events flowed.
 */

/** Per-second counts over the last `capacity` seconds. */
export class SecondWindow {
  readonly #counts: Float64Array;
  // The second each slot was last written in: a slot from an older lap reads as zero.
  readonly #stamps: Float64Array;

  constructor(readonly capacity = 3600) {
    this.#counts = new Float64Array(capacity);
    this.#stamps = new Float64Array(capacity).fill(-1);
  }

  /** Add n to the bucket of second `sec` (unix seconds). */
  add(sec: number, n = 1): void {
    const i = sec % this.capacity;
    if (this.#stamps[i] !== sec) {
      this.#stamps[i] = sec;
      this.#counts[i] = 0;
    }
    this.#counts[i]! += n;
  }

  /** The count of one second, zero when it fell out of the window or saw nothing. */
  at(sec: number): number {
    const i = sec % this.capacity;
    return this.#stamps[i] === sec ? this.#counts[i]! : 0;
  }

  /** Counts of the `n` seconds ending with `endSec`, oldest first. */
  seconds(endSec: number, n: number): number[] {
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) out[k] = this.at(endSec - n + 1 + k);
    return out;
  }

  /**
   * Counts of the `n` whole-minute buckets ending with the minute holding `endSec`, oldest first;
   * the last bucket is the minute in progress.
   */
  minutes(endSec: number, n: number): number[] {
    const lastMinute = Math.floor(endSec / 60);
    const out = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) {
      const start = (lastMinute - n + 1 + k) * 60;
      let sum = 0;
      for (let s = start; s < start + 60 && s <= endSec; s++) sum += this.at(s);
      out[k] = sum;
    }
    return out;
  }

  /** Sum of the `n` seconds ending with `endSec`. */
  sum(endSec: number, n: number): number {
    let total = 0;
    for (let s = endSec - n + 1; s <= endSec; s++) total += this.at(s);
    return total;
  }
}
