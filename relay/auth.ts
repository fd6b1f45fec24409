/** @module NIP-42: checking a client's AUTH event against the connection's challenge. */
import { verifyEvent } from "../nostr/verify.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { reason } from "./reason.ts";

/** How far an AUTH event's created_at may be from now, in seconds (NIP-42 suggests ~10 minutes). */
export const AUTH_WINDOW_SECONDS = 600;

/** Check an AUTH event; returns undefined when valid, else the reason for the OK false. */
export function checkAuth(
  ev: NostrEvent,
  challenge: string,
  relayUrl: string,
  now = Math.floor(Date.now() / 1000),
): string | undefined {
  if (ev.kind !== 22242) return reason("invalid", "AUTH event must be kind 22242");
  if (Math.abs(ev.created_at - now) > AUTH_WINDOW_SECONDS) {
    return reason("invalid", "AUTH event created_at is more than 10 minutes from now");
  }
  const tag = (name: string) => ev.tags.find((t) => t[0] === name)?.[1];
  if (tag("challenge") !== challenge) return reason("invalid", "AUTH challenge does not match");
  const relay = tag("relay");
  if (!relay || !sameRelay(relay, relayUrl)) {
    return reason("invalid", `AUTH relay tag does not match ${relayUrl}`);
  }
  if (!verifyEvent(ev)) return reason("invalid", "AUTH event id or signature is wrong");
  return undefined;
}

/** Compare relay URLs by host and port, ignoring scheme (ws/wss/http/https) and path. */
export function sameRelay(a: string, b: string): boolean {
  const ha = hostPort(a);
  return ha !== undefined && ha === hostPort(b);
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function hostPort(url: string): string | undefined {
  try {
    const u = new URL(url.includes("://") ? url : `wss://${url}`);
    // Default ports are dropped so ws://h, wss://h and wss://h:443 all compare equal.
    const port = u.port === "80" || u.port === "443" ? "" : u.port;
    const host = u.hostname.toLowerCase();
    // localhost, 127.0.0.1 and [::1] name the same relay; the challenge still binds the connection.
    return `${LOOPBACK.has(host) ? "loopback" : host}:${port}`;
  } catch {
    return undefined;
  }
}
