/** @module NIP-70: `["-"]` events only from their authenticated author, never embedded in reposts. */
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

const isProtected = (tags: unknown): boolean =>
  Array.isArray(tags) && tags.some((t) => Array.isArray(t) && t[0] === "-" && t.length === 1);

/** Reposts (NIP-18 kind 6, generic kind 16) carry the reposted event's JSON in their content. */
const REPOSTS = new Set([6, 16]);

/** Refuse protected events unless the connection authenticated as their author. */
export const protectedEvents: EventPolicy = (ev, conn) => {
  // NIP-70: reposts MUST NOT embed a protected event, and relays SHOULD reject those that do.
  if (
    REPOSTS.has(ev.kind) && ev.content.trimStart().startsWith("{") && embedsProtected(ev.content)
  ) {
    return reason("invalid", "a repost must not embed a protected event");
  }
  if (!isProtected(ev.tags)) return undefined;
  if (conn.pubkeys.has(ev.pubkey)) return undefined;
  return conn.pubkeys.size === 0
    ? reason("auth-required", "this event may only be published by its author")
    : reason("restricted", "this event may only be published by its author");
};

function embedsProtected(content: string): boolean {
  try {
    return isProtected((JSON.parse(content) as { tags?: unknown } | null)?.tags);
  } catch {
    return false;
  }
}
