/** @module NEXUS_AUTH: which verbs need a NIP-42 AUTH first. */
import type { AuthMode } from "../../config.ts";
import type { EventPolicy, FilterPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse events from unauthenticated connections unless NEXUS_AUTH is off. */
export function authForWrites(mode: AuthMode): EventPolicy {
  return (_ev, conn) =>
    mode !== "off" && conn.pubkeys.size === 0
      ? reason("auth-required", "authenticate with NIP-42 before publishing")
      : undefined;
}

/** Refuse REQ and COUNT from unauthenticated connections when NEXUS_AUTH is required. */
export function authForReads(mode: AuthMode): FilterPolicy {
  return (_filters, conn, verb) =>
    mode === "required" && conn.pubkeys.size === 0
      ? reason(
        "auth-required",
        `authenticate with NIP-42 before ${verb === "COUNT" ? "counting" : "subscribing"}`,
      )
      : undefined;
}
