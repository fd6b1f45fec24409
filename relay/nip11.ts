/** @module NIP-11: the relay information document, derived from the live configuration. */
import type { Config, TieredRate } from "../config.ts";
import { VERSION } from "../version.ts";

/** NIPs that work end to end in this build, whatever the configuration. */
export const SUPPORTED_NIPS = [1, 9, 11, 40, 42, 45, 70, 89, 90];

/** The NIP-11 document for a configuration. */
export function relayInfo(c: Readonly<Config>): Record<string, unknown> {
  const info: Record<string, unknown> = {
    name: c.name,
    description:
      `${c.description} Job events (kinds 5000-7000) are kept for ${c.jobTtlSeconds} seconds from receipt.`,
    software: "https://github.com/nexus-relay/nexus",
    version: VERSION,
    // NIP-13 is listed only when a minimum makes the relay check proof of work.
    supported_nips: c.minPowDifficulty > 0
      ? [...SUPPORTED_NIPS, 13].sort((a, b) => a - b)
      : SUPPORTED_NIPS,
    limitation: {
      max_message_length: c.maxMessageLength,
      max_subscriptions: c.maxSubscriptions,
      max_filters: c.maxFilters,
      max_limit: c.maxLimit,
      default_limit: c.defaultLimit,
      max_subid_length: c.maxSubidLength,
      max_event_tags: c.maxEventTags,
      max_content_length: c.maxContentLength,
      auth_required: c.auth === "required",
      restricted_writes: c.auth !== "off",
      payment_required: false,
      // Issue 2 asks for both created_at limits in the document; 0 means none (see the README).
      created_at_lower_limit: c.createdAtLowerLimit,
      created_at_upper_limit: c.createdAtUpperLimit,
      min_pow_difficulty: c.minPowDifficulty,
      max_filter_values: c.maxFilterValues,
      // Nexus-specific: filter values all of one connection's open subscriptions may hold.
      nexus_max_open_filter_values: c.maxOpenFilterValues,
      // Nexus-specific: token buckets ({per_second, burst}; per_second 0 = unlimited) and the IP cap.
      nexus_event_rate: c.rateLimits ? tiers(c.eventRate) : null,
      nexus_req_rate: c.rateLimits ? tiers(c.reqRate) : null,
      nexus_max_connections_per_ip: c.maxConnectionsPerIp,
      // Nexus-specific: unsent bytes a client may leave unread before it is disconnected.
      nexus_max_buffered_bytes: c.maxBufferedBytes,
    },
  };
  // Nexus-specific: how long NIP-90 job events are kept, for agents planning their polling.
  info.nexus = { retention: { job_kinds: [5000, 7000], job_ttl_seconds: c.jobTtlSeconds } };
  if (c.pubkey) info.pubkey = c.pubkey;
  if (c.contact) info.contact = c.contact;
  return info;
}

function tiers(t: Readonly<TieredRate>): Record<string, unknown> {
  const one = (r: TieredRate["anonymous"]) => ({ per_second: r.perSecond, burst: r.burst });
  return { anonymous: one(t.anonymous), authenticated: one(t.authenticated) };
}
