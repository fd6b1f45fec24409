/**
 * @module Policies in the spirit of khatru's hooks: small functions that each return the reason a
 * client sees, or undefined to let the message through. A pipe runs them; the first refusal wins.
 */
import type { Filter, NostrEvent } from "../nostr/types.ts";

/** What a policy may know about the connection that sent a message. */
export interface ConnInfo {
  /** Pubkeys this connection has authenticated as (NIP-42). */
  readonly pubkeys: ReadonlySet<string>;
  /** Client address, used only for limits and never shown. */
  readonly ip: string;
}

/** Decides whether an incoming event may be stored; returns a reason to refuse. */
export type EventPolicy = (ev: NostrEvent, conn: ConnInfo, now: number) => string | undefined;

/** Decides whether a REQ or COUNT may run; returns a reason to refuse (CLOSED). */
export type FilterPolicy = (
  filters: Filter[],
  conn: ConnInfo,
  verb: "REQ" | "COUNT",
) => string | undefined;

/** Run event policies in order; the first refusal wins. */
export function pipeEvent(...policies: EventPolicy[]): EventPolicy {
  return (ev, conn, now) => {
    for (const p of policies) {
      const r = p(ev, conn, now);
      if (r) return r;
    }
    return undefined;
  };
}

/** Run filter policies in order; the first refusal wins. */
export function pipeFilter(...policies: FilterPolicy[]): FilterPolicy {
  return (filters, conn, verb) => {
    for (const p of policies) {
      const r = p(filters, conn, verb);
      if (r) return r;
    }
    return undefined;
  };
}
