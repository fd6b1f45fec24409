/**
 * @module Rate limits by tier: token buckets per connection and per pubkey, one set for EVENT and
 * one for REQ/COUNT. Authenticated clients draw on their own pubkey's bucket at the authenticated
 * rate; anonymous ones at the anonymous rate, per event author for EVENT.
 */
import type { TieredRate } from "../../config.ts";
import type { ConnInfo, EventPolicy, FilterPolicy } from "../policy.ts";
import { reason } from "../reason.ts";
import { BucketMap, TokenBucket } from "../token_bucket.ts";

type Limiter = (conn: ConnInfo, pubkey: string | undefined) => string | undefined;

function limiter(rates: Readonly<TieredRate>, what: string, maxKeys: number): Limiter {
  // Keyed by the connection object, so a closed connection's bucket goes with it.
  const perConn = new WeakMap<ConnInfo, TokenBucket>();
  const perKey = new BucketMap(maxKeys);
  return (conn, pubkey) => {
    const authed = conn.pubkeys.size > 0;
    const rate = authed ? rates.authenticated : rates.anonymous;
    if (rate.perSecond === 0) return undefined;
    const now = Date.now();
    let c = perConn.get(conn);
    if (!c || c.rate !== rate) perConn.set(conn, c = new TokenBucket(rate, now));
    // Tiers use separate keys so anonymous traffic claiming a pubkey never drains its owner's bucket.
    const k = pubkey === undefined ? undefined : perKey.get(`${authed ? "a" : "n"}${pubkey}`, rate);
    if (!c.has(now) || (k && !k.has(now))) {
      return reason("rate-limited", `slow down, at most ${rate.perSecond} ${what} per second`);
    }
    c.take(now);
    k?.take(now);
    return undefined;
  };
}

function firstOf(set: ReadonlySet<string>): string | undefined {
  for (const v of set) return v;
  return undefined;
}

/** Limit EVENTs per connection and per pubkey (the authenticated one, else the author). */
export function eventRateLimit(rates: Readonly<TieredRate>, maxKeys = 100_000): EventPolicy {
  const limit = limiter(rates, "events", maxKeys);
  return (ev, conn) => {
    const who = conn.pubkeys.size === 0 || conn.pubkeys.has(ev.pubkey)
      ? ev.pubkey
      : firstOf(conn.pubkeys);
    return limit(conn, who);
  };
}

/** Limit REQ and COUNT per connection and per authenticated pubkey. */
export function reqRateLimit(rates: Readonly<TieredRate>, maxKeys = 100_000): FilterPolicy {
  const limit = limiter(rates, "REQ or COUNT messages", maxKeys);
  return (_filters, conn) => limit(conn, firstOf(conn.pubkeys));
}
