/** @module The marketplace summary the job board publishes and the HUD renders. */

/** Job counts by state within the summary window. */
export interface JobCounts {
  open: number;
  completed: number;
  failed: number;
  expired: number;
  cancelled: number;
}

/** Per job kind: volume and time to first result (milliseconds). */
export interface KindSummary {
  kind: number;
  jobs: number;
  results: number;
  success_rate: number;
  median_ms: number | null;
  p95_ms: number | null;
}

/** Per provider: volume, success and NIP-32 reputation (namespace -> label -> count). */
export interface ProviderSummary {
  pubkey: string;
  name?: string;
  jobs: number;
  results: number;
  success_rate: number;
  reputation: Record<string, Record<string, number>>;
}

/** What the HUD and /api/stats show of the agent marketplace. */
export interface MarketSummary {
  window_seconds: number;
  jobs: JobCounts;
  by_kind: KindSummary[];
  providers: ProviderSummary[];
}

/** Anything that can produce a market summary (the job board). */
export interface MarketSource {
  summary(): MarketSummary;
}

/** An empty summary, for relays without a job board yet. */
export function emptyMarket(windowSeconds = 3600): MarketSummary {
  return {
    window_seconds: windowSeconds,
    jobs: { open: 0, completed: 0, failed: 0, expired: 0, cancelled: 0 },
    by_kind: [],
    providers: [],
  };
}
