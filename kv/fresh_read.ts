/**
 * @module Shares one read among callers that ask while it is pending, while promising each caller
 * a read that began after it asked. A proof of freshness needs exactly that: a read begun before
 * the caller's request could predate a commit its client has already seen acknowledged.
 */

/** At most one read in flight, plus one queued behind it that every later caller joins. */
export class FreshRead<T> {
  #read: () => Promise<T>;
  #running: Promise<T> | undefined;
  #next: Promise<T> | undefined;
  /** Reads begun. */
  reads = 0;

  constructor(read: () => Promise<T>) {
    this.#read = read;
  }

  /** The result of a read that began after this call; callers waiting together share one. */
  get(): Promise<T> {
    const running = this.#running;
    if (!running) return this.#start();
    // The read in flight may have begun before this call: wait for it, then share the next one.
    return this.#next ??= running.then(settled, settled).then(() => {
      this.#next = undefined;
      return this.#start();
    });
  }

  #start(): Promise<T> {
    const p = this.#read();
    this.reads++;
    this.#running = p;
    const clear = () => {
      if (this.#running === p) this.#running = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}

function settled(): void {}
