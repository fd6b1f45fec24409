/** @module NIP-70: an event tagged ["-"] is accepted only from a connection authenticated as its author. */
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse protected events unless the connection authenticated as their author. */
export const protectedEvents: EventPolicy = (ev, conn) => {
  if (!ev.tags.some((t) => t[0] === "-" && t.length === 1)) return undefined;
  if (conn.pubkeys.has(ev.pubkey)) return undefined;
  return conn.pubkeys.size === 0
    ? reason("auth-required", "this event may only be published by its author")
    : reason("restricted", "this event may only be published by its author");
};
