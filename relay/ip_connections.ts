/** @module The per-IP cap on concurrent connections, counted from the upgrade until the close. */

/** Open connections per client IP, refusing past a cap (0: no cap). */
export class IpConnections {
  #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Count a new connection from `ip`; returns a release function, or undefined when over the cap. */
  acquire(ip: string): (() => void) | undefined {
    const n = this.#open.get(ip) ?? 0;
    if (this.max > 0 && n >= this.max) return undefined;
    this.#open.set(ip, n + 1);
    let released = false;
    // Idempotent: a socket's close may be reported twice, and error is followed by close.
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(ip) ?? 1) - 1;
      if (left <= 0) this.#open.delete(ip);
      else this.#open.set(ip, left);
    };
  }

  /** Open connections from one IP. */
  count(ip: string): number {
    return this.#open.get(ip) ?? 0;
  }
}
