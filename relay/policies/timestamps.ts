/** @module created_at limits (NIP-11 created_at_lower_limit / created_at_upper_limit). */
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse events dated too far in the future, or (when lower > 0) too far in the past. */
export function createdAtWindow(lower: number, upper: number): EventPolicy {
  return (ev, _conn, now) => {
    if (ev.created_at > now + upper) {
      return reason("invalid", `created_at is more than ${upper} seconds in the future`);
    }
    if (lower > 0 && ev.created_at < now - lower) {
      return reason("invalid", `created_at is more than ${lower} seconds in the past`);
    }
    return undefined;
  };
}
