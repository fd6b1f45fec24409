/**
 * @module How many messages each socket of a listener may have in hand at once: the busy sockets
 * split a total evenly (a socket alone keeps to its own maxBusy, 128). A client that sends faster
 * than it is served then waits on TCP behind a short queue of its own, instead of putting hundreds
 * of events ahead of every other client's in the verification and storage queues they all share
 * (BENCHMARKS.md, "Eleventh session").
 */

/** The messages in hand shared by the sockets of one listener. */
export class InHandShare {
  #busy = 0;

  /**
   * `total` is what the busy sockets split (enough to keep verification and the KV busy; a socket
   * alone also keeps to its own maxBusy); `floor` what each keeps however many are busy.
   */
  constructor(readonly total = 256, readonly floor = 8) {}

  /** A socket took a first message in hand. */
  join(): void {
    this.#busy++;
  }

  /** A socket has nothing in hand any more. */
  leave(): void {
    this.#busy--;
  }

  /** Sockets with messages in hand. */
  get busy(): number {
    return this.#busy;
  }

  /** What each busy socket may hold now. */
  get cap(): number {
    return Math.max(this.floor, Math.floor(this.total / Math.max(1, this.#busy)));
  }
}
