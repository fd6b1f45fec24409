/**
 * @module Rate limits by tier: token buckets per connection and per pubkey, one set for EVENT and
 * one for REQ/COUNT. Authenticated clients draw on their own pubkey's bucket at the authenticated
 * rate; anonymous ones at the anonymous rate, per event author for EVENT.
 */
import type { TieredRate } from "../../config.ts";
import type { ConnInfo, EventPolicy, FilterPolicy } from "../policy.ts";
import { reason } from "../reason.ts";
import { BucketMap, type Rate, TokenBucket } from "../token_bucket.ts";

/** The buckets of one kind of message (EVENT, or REQ and COUNT), for both tiers. */
class Buckets {
  // Keyed by the connection object, so a closed connection's bucket goes with it.
  #perConn = new WeakMap<ConnInfo, TokenBucket>();
  #perKey: BucketMap;

  constructor(readonly rates: Readonly<TieredRate>, readonly what: string, maxKeys: number) {
    this.#perKey = new BucketMap(maxKeys);
  }

  /** Take a token from the connection's bucket, and from `pubkey`'s if given; or say why not. */
  draw(conn: ConnInfo, useConn: boolean, pubkey: string | undefined): string | undefined {
    const authed = conn.pubkeys.size > 0;
    const rate = authed ? this.rates.authenticated : this.rates.anonymous;
    if (rate.perSecond === 0) return undefined;
    const now = Date.now();
    let c: TokenBucket | undefined;
    if (useConn) {
      c = this.#perConn.get(conn);
      if (!c || c.rate !== rate) this.#perConn.set(conn, c = new TokenBucket(rate, now));
    }
    // Tiers use separate keys so anonymous traffic claiming a pubkey never drains its owner's bucket.
    const k = pubkey === undefined
      ? undefined
      : this.#perKey.get(`${authed ? "a" : "n"}${pubkey}`, rate);
    if ((c && !c.has(now)) || (k && !k.has(now))) return slow(rate, this.what);
    c?.take(now);
    k?.take(now);
    return undefined;
  }
}

function slow(rate: Rate, what: string): string {
  return reason("rate-limited", `slow down, at most ${rate.perSecond} ${what} per second`);
}

function firstOf(set: ReadonlySet<string>): string | undefined {
  for (const v of set) return v;
  return undefined;
}

/** EVENT limits, in two steps around the signature check. */
export interface EventRateLimit {
  /**
   * Per connection, before the signature is checked, so a flood costs its sender and not a
   * verification each; AUTH messages draw on it too, since each is a signature to check.
   */
  perConnection: EventPolicy;
  /**
   * Per pubkey (the authenticated one, else the author), after the signature is checked, so that
   * events forged in someone's name cannot use up that author's bucket.
   */
  perPubkey: EventPolicy;
}

/** Limit EVENTs (and AUTHs) per connection and per pubkey. */
export function eventRateLimit(rates: Readonly<TieredRate>, maxKeys = 100_000): EventRateLimit {
  const buckets = new Buckets(rates, "events", maxKeys);
  return {
    perConnection: (_ev, conn) => buckets.draw(conn, true, undefined),
    perPubkey: (ev, conn) => {
      const who = conn.pubkeys.size === 0 || conn.pubkeys.has(ev.pubkey)
        ? ev.pubkey
        : firstOf(conn.pubkeys);
      return buckets.draw(conn, false, who);
    },
  };
}

/** Limit REQ and COUNT per connection and per authenticated pubkey. */
export function reqRateLimit(rates: Readonly<TieredRate>, maxKeys = 100_000): FilterPolicy {
  const buckets = new Buckets(rates, "REQ or COUNT messages", maxKeys);
  return (_filters, conn) => buckets.draw(conn, true, firstOf(conn.pubkeys));
}
