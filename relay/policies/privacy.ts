/** @module Private kinds: DMs (4) and gift wraps (1059) are served only to their author or a `p` recipient. */
import type { NostrEvent } from "../../nostr/types.ts";
import type { ConnInfo, FilterPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

const PRIVATE_KINDS = new Set([4, 1059]);

/** True for kinds served only to their author or a `p` recipient. */
export function isPrivateKind(kind: number): boolean {
  return PRIVATE_KINDS.has(kind);
}

/** True when the connection may see this event, on both the stored and the live path. */
export function canRead(ev: NostrEvent, conn: ConnInfo): boolean {
  if (!PRIVATE_KINDS.has(ev.kind)) return true;
  if (conn.pubkeys.size === 0) return false;
  if (conn.pubkeys.has(ev.pubkey)) return true;
  for (const t of ev.tags) if (t[0] === "p" && t[1] && conn.pubkeys.has(t[1])) return true;
  return false;
}

/**
 * NIP-42's own example: a REQ or COUNT that can only match private kinds, from a connection that
 * has not authenticated, is refused with auth-required: so the client knows to AUTH and retry.
 */
export const privateNeedsAuth: FilterPolicy = (filters, conn) => {
  if (conn.pubkeys.size > 0) return undefined;
  const onlyPrivate = filters.every((f) =>
    f.kinds && f.kinds.length > 0 && f.kinds.every(isPrivateKind)
  );
  return onlyPrivate
    ? reason("auth-required", "direct messages are served only to their author or recipient")
    : undefined;
};
