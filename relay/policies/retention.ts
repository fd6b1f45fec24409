/** @module Retention: how long a stored event lives (job TTL for NIP-90 kinds, NIP-40 expiration). */
import { expirationOf, isJobKind } from "../../nostr/kinds.ts";
import type { RetentionFn } from "../../kv/store.ts";

/** Job kinds (5000-7000) live jobTtlSeconds from receipt; any kind ends at its NIP-40 expiration. */
export function retention(jobTtlSeconds: number): RetentionFn {
  return (ev, receivedAt) => {
    const exp = expirationOf(ev.tags);
    const job = isJobKind(ev.kind) ? receivedAt + jobTtlSeconds : undefined;
    if (exp === undefined) return job;
    return job === undefined ? exp : Math.min(exp, job);
  };
}
