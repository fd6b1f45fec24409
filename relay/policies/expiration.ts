/** @module NIP-40: events that have already expired are refused. */
import { isExpired } from "../../nostr/kinds.ts";
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse an event whose expiration tag is in the past. */
export const notExpired: EventPolicy = (ev, _conn, now) =>
  isExpired(ev.tags, now) ? reason("invalid", "event has already expired") : undefined;
