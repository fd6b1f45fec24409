/**
 * @module A queue that serves its sources in turns: each source's items stay in the order it
 * pushed them, and a batch takes one item from each waiting source before a second from any.
 * The store's writes and the events waiting for a verification thread wait in one each, so a
 * client publishing faster than the relay keeps up does not put all of its backlog ahead of
 * another client's one event (BENCHMARKS.md, "Eleventh session" and "Twelfth session").
 */

/** Taken slots a lane may keep before it is compacted (which moves what is left to the front). */
const COMPACT_AT = 1024;

/** Items waiting per source, served in turns. */
export class FairQueue<T> {
  /**
   * Sources with items waiting, in turn order (a source just served goes to the back); each lane
   * is read from `head`, not shifted, so a long one costs nothing per item taken.
   */
  #lanes = new Map<unknown, { items: T[]; head: number }>();
  #size = 0;

  /** Items waiting, from every source. */
  get length(): number {
    return this.#size;
  }

  /**
   * Array slots held, taken ones not yet dropped included: within twice `length` plus a constant
   * per source (tests read it to see a steady flood does not grow a lane).
   */
  get slots(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.items.length;
    return n;
  }

  /** Queue an item behind the source's earlier ones. */
  push(source: unknown, item: T): void {
    const lane = this.#lanes.get(source);
    if (lane) lane.items.push(item);
    else this.#lanes.set(source, { items: [item], head: 0 });
    this.#size++;
  }

  /**
   * Take up to `max` items in turns while `fits` accepts them; the first is always taken. `fits`
   * sees every candidate in order, and the first it refuses ends the batch.
   */
  take(max: number, fits: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let served = true; served;) {
      served = false;
      for (const [source, lane] of [...this.#lanes]) {
        const next = lane.items[lane.head]!;
        if (out.length >= max || (!fits(next) && out.length > 0)) return out;
        out.push(next);
        lane.items[lane.head++] = undefined as T; // not held once taken
        // A source that never runs dry (a steady flood) keeps its lane: drop the taken slots
        // once they are half of it, or the lane grows with every item the source ever pushed.
        if (lane.head >= COMPACT_AT && lane.head * 2 >= lane.items.length) {
          lane.items.copyWithin(0, lane.head);
          lane.items.length -= lane.head;
          lane.head = 0;
        }
        this.#size--;
        served = true;
        this.#lanes.delete(source);
        if (lane.head < lane.items.length) this.#lanes.set(source, lane);
      }
    }
    return out;
  }
}
