/** @module A bounded set of event ids: remembers the most recent ones, forgets the oldest half when full. */

/** Event ids seen lately, at most `max` of them. */
export class RecentIds {
  #ids = new Set<string>();
  #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** True when the id is remembered. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remember an id; returns false when it was already remembered. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#max) {
      // Sets iterate in insertion order: forget the oldest half in one go, not one id per add.
      let n = this.#max / 2;
      for (const old of this.#ids) {
        this.#ids.delete(old);
        if (--n <= 0) break;
      }
    }
    return true;
  }
}
