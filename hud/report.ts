/**
 * @module The `/api/stats` document: a stable, documented JSON shape (see README) built from the
 * summed isolate snapshots, the market summary and the relay's settings. Pure.
 */
import type { MarketSummary } from "../commerce/summary.ts";
import type { AuthMode } from "../config.ts";
import type { Flow, KindClassName } from "../relay/stats.ts";
import type { AggregateStats } from "../relay/stats_snapshot.ts";
import { VERSION } from "../version.ts";

/** Bump when a field changes meaning or is removed; adding fields does not bump it. */
export const SCHEMA_VERSION = 1;
/** Kinds listed in `kinds.top`. */
export const TOP_KINDS = 10;
// Seconds averaged for `rates.per_second` (whole seconds, the one in progress left out).
const RATE_SECONDS = 10;

/** Settings the HUD shows (taken from the config by the caller). */
export interface RelaySettings {
  name: string;
  auth: AuthMode;
  retention: Retention;
}

/** How long events live. */
export interface Retention {
  job_ttl_seconds: number;
  feed_ttl_seconds: number;
  created_at_lower_limit_seconds: number;
  created_at_upper_limit_seconds: number;
  nip40_expiration: boolean;
}

/** One time series block: counts per step, oldest first, the last step ending at `end`. */
export type RateSeries = { step_seconds: number; end: number } & Record<Flow, number[]>;

/** The `/api/stats` document. */
export interface StatsReport {
  schema: number;
  version: string;
  generated_at: number;
  uptime_seconds: number;
  relay: {
    name: string;
    url: string;
    auth: AuthMode;
    auth_required_to_publish: boolean;
    auth_required_to_read: boolean;
  };
  isolates: AggregateStats["isolates"];
  connections: { now: number; peak: number; authenticated: number; anonymous: number };
  agents: { authenticated: number };
  subscriptions: { open: number };
  events: {
    received_total: number;
    stored_total: number;
    ephemeral_total: number;
    duplicate_total: number;
    delivered_total: number;
    refused_total: number;
  };
  rates: { per_second: Record<Flow, number>; short: RateSeries; hour: RateSeries };
  refusals: Record<string, number>;
  kinds: { by_class: Record<KindClassName, number>; top: Array<{ kind: number; count: number }> };
  storage: {
    events_stored: number;
    counted: "accepted_since_start";
    retention: Retention;
    hot_events: {
      held_max: number;
      filters_from_memory_total: number;
      filters_from_kv_total: number;
      count_filters_from_memory_total: number;
      count_filters_from_kv_total: number;
      filters_proven_empty_below_total: number;
    };
  };
  market: MarketSummary;
}

/** Build the report for one request. */
export function buildReport(
  agg: AggregateStats,
  market: MarketSummary,
  settings: RelaySettings,
  relayUrl: string,
): StatsReport {
  const end = Math.floor(agg.at / 1000);
  const t = agg.totals;
  const perSecond = {} as Record<Flow, number>;
  for (const f of ["received", "stored", "delivered", "refused"] as const) {
    const s = agg.short[f];
    const whole = s.slice(s.length - 1 - RATE_SECONDS, s.length - 1);
    perSecond[f] = round(whole.reduce((a, b) => a + b, 0) / RATE_SECONDS);
  }
  return {
    schema: SCHEMA_VERSION,
    version: VERSION,
    generated_at: agg.at,
    uptime_seconds: Math.max(0, Math.floor((agg.at - agg.started_at) / 1000)),
    relay: {
      name: settings.name,
      url: relayUrl,
      auth: settings.auth,
      auth_required_to_publish: settings.auth !== "off",
      auth_required_to_read: settings.auth === "required",
    },
    isolates: agg.isolates,
    connections: {
      now: agg.connections,
      peak: agg.peak_connections,
      authenticated: agg.authenticated_connections,
      anonymous: agg.connections - agg.authenticated_connections,
    },
    agents: { authenticated: agg.agents },
    subscriptions: { open: agg.subscriptions },
    events: {
      received_total: t.received,
      stored_total: t.stored,
      ephemeral_total: t.ephemeral,
      duplicate_total: t.duplicates,
      delivered_total: t.delivered,
      refused_total: t.refused,
    },
    rates: {
      per_second: perSecond,
      short: { step_seconds: 1, end, ...agg.short },
      hour: { step_seconds: 60, end, ...agg.hour },
    },
    refusals: agg.refusals,
    kinds: {
      by_class: agg.classes,
      top: agg.kinds.slice(0, TOP_KINDS).map(([kind, count]) => ({ kind, count })),
    },
    storage: {
      events_stored: t.stored,
      counted: "accepted_since_start",
      retention: settings.retention,
      hot_events: {
        held_max: agg.cache.held,
        filters_from_memory_total: agg.cache.from_memory,
        filters_from_kv_total: agg.cache.from_storage,
        count_filters_from_memory_total: agg.cache.counts_from_memory,
        count_filters_from_kv_total: agg.cache.counts_from_storage,
        filters_proven_empty_below_total: agg.cache.proven_below,
      },
    },
    market,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
