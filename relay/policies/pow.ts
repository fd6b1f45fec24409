/** @module NIP-13 proof of work: a minimum number of leading zero bits in every event id. */
import { getPow } from "nostr-tools/nip13";
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse events whose id has fewer than `min` leading zero bits (NIP-13); 0 lets all through. */
export function minPow(min: number): EventPolicy {
  if (min <= 0) return () => undefined;
  return (ev) => {
    // The id is checked against the event's hash afterwards, so a forged zero-prefixed id only
    // moves the refusal from `pow:` to `invalid:`; counting first spares the signature check.
    const d = getPow(ev.id);
    return d < min ? reason("pow", `difficulty ${d} is less than ${min}`) : undefined;
  };
}
