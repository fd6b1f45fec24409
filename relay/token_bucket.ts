/** @module Token buckets, and a bounded map of them keyed by who is being limited. */

/** A sustained rate and the burst allowed on top of it. */
export interface Rate {
  /** Tokens added per second; 0 means unlimited. */
  perSecond: number;
  /** Most tokens a bucket holds (the largest burst). */
  burst: number;
}

/** A token bucket: starts full, refills continuously at `perSecond` up to `burst`. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly rate: Rate, now = Date.now()) {
    this.#tokens = rate.burst;
    this.#last = now;
  }

  /** Tokens available at `now`. */
  level(now = Date.now()): number {
    const refill = ((now - this.#last) / 1000) * this.rate.perSecond;
    this.#tokens = Math.min(this.rate.burst, this.#tokens + Math.max(0, refill));
    this.#last = now;
    return this.#tokens;
  }

  /** True when a token is available at `now` (without taking it). */
  has(now = Date.now()): boolean {
    return this.rate.perSecond === 0 || this.level(now) >= 1;
  }

  /** Take one token; false when the bucket is empty. */
  take(now = Date.now()): boolean {
    if (this.rate.perSecond === 0) return true;
    if (this.level(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket is full again, so forgetting it changes nothing. */
  idle(now = Date.now()): boolean {
    return this.level(now) >= this.rate.burst;
  }
}

/**
 * Buckets by key (a pubkey), at most `max` of them. Full buckets are dropped first since a fresh
 * bucket is the same; under a flood of distinct keys the least recently used go, so memory stays
 * bounded at the cost of some leniency toward the evicted.
 */
export class BucketMap {
  #buckets = new Map<string, TokenBucket>();

  constructor(readonly max = 100_000) {}

  /** Number of buckets held. */
  get size(): number {
    return this.#buckets.size;
  }

  /** The bucket for a key, created full with `rate` when absent or when its rate changed. */
  get(key: string, rate: Rate, now = Date.now()): TokenBucket {
    let b = this.#buckets.get(key);
    if (b && b.rate === rate) {
      // Re-insert to keep Map order least recently used first.
      this.#buckets.delete(key);
      this.#buckets.set(key, b);
      return b;
    }
    if (!b && this.#buckets.size >= this.max) this.#evict(now);
    b = new TokenBucket(rate, now);
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    return b;
  }

  #evict(now: number): void {
    for (const [k, b] of this.#buckets) if (b.idle(now)) this.#buckets.delete(k);
    const target = Math.floor(this.max * 0.9);
    for (const k of this.#buckets.keys()) {
      if (this.#buckets.size <= target) break;
      this.#buckets.delete(k);
    }
  }
}
