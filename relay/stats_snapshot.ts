/**
 * @module Per-isolate stats snapshots (small, structured-clone friendly, sent between isolates)
 * and their sum. Pure functions of their inputs, so aggregation is unit-testable.
 */
import { type Flow, FLOWS, KIND_CLASSES, type KindClassName, type Stats } from "./stats.ts";
import type { CacheStats } from "../kv/store.ts";

/** Seconds in the short, per-second window. */
export const SHORT_SECONDS = 300;
/** Minutes in the long, per-minute window. */
export const HOUR_MINUTES = 60;
// Kinds each isolate reports; the sum keeps the top of these, which bounds message size.
const KINDS_PER_ISOLATE = 50;
// An agent signed in on two isolates is one agent: isolates report which, as 64-bit pubkey
// prefixes (a collision among a million agents has odds of about 1 in 37 million), up to 5,000
// each (80 KB a second); agents past that are added as if they were on no other isolate.
const AGENT_KEYS_PER_ISOLATE = 5000;
/** Hex characters of each agent key in a snapshot's `agent_keys`. */
export const AGENT_KEY_CHARS = 16;

/** Per-flow count series, oldest first. */
export type Series = Record<Flow, number[]>;

/** What one isolate knows about itself at one moment. */
export interface IsolateSnapshot {
  id: string;
  started_at: number;
  /** When it was taken (ms since the epoch). */
  at: number;
  connections: number;
  peak_connections: number;
  authenticated_connections: number;
  agents: number;
  /**
   * Pubkey prefixes of (up to AGENT_KEYS_PER_ISOLATE of) those agents, to count them once: one
   * string, AGENT_KEY_CHARS a key, which costs far less to pass between isolates than an array.
   */
  agent_keys: string;
  subscriptions: number;
  totals: Record<Flow | "ephemeral" | "duplicates", number>;
  refusals: Record<string, number>;
  classes: Record<KindClassName, number>;
  kinds: Array<[number, number]>;
  /** Per-second counts of the SHORT_SECONDS seconds ending at `at`. */
  short: Series;
  /** Per-minute counts of the HOUR_MINUTES minutes ending with the minute holding `at`. */
  hour: Series;
  /**
   * The store's in-memory window: events held, REQ and COUNT filters answered from it and from
   * storage, and those of the first answered from memory only because the keys below proved it.
   */
  cache: {
    held: number;
    from_memory: number;
    from_storage: number;
    counts_from_memory: number;
    counts_from_storage: number;
    proven_below: number;
  };
  /** Signature-checking threads (absent in snapshots of earlier builds). */
  verify_threads?: number;
}

/** Gauges the Stats class does not own (read from the relay when a snapshot is taken). */
export interface Gauges {
  subscriptions: number;
  cache?: CacheStats;
  verifyThreads?: number;
}

/** Take a snapshot of one isolate's counters. */
export function takeSnapshot(id: string, stats: Stats, gauges: Gauges): IsolateSnapshot {
  const at = stats.clock();
  const sec = Math.floor(at / 1000);
  const short = {} as Series;
  const hour = {} as Series;
  for (const f of FLOWS) {
    short[f] = stats.windows[f].seconds(sec, SHORT_SECONDS);
    hour[f] = stats.windows[f].minutes(sec, HOUR_MINUTES);
  }
  const classes = {} as Record<KindClassName, number>;
  for (const c of KIND_CLASSES) classes[c] = stats.classes.get(c) ?? 0;
  return {
    id,
    started_at: stats.startedAt,
    at,
    connections: stats.connections,
    peak_connections: stats.peakConnections,
    authenticated_connections: stats.authenticatedConnections,
    agents: stats.agents,
    agent_keys: stats.agentKeys(AGENT_KEYS_PER_ISOLATE, AGENT_KEY_CHARS),
    subscriptions: gauges.subscriptions,
    totals: {
      received: stats.received,
      stored: stats.stored,
      delivered: stats.delivered,
      refused: stats.refusedTotal,
      ephemeral: stats.ephemeral,
      duplicates: stats.duplicates,
    },
    refusals: Object.fromEntries(stats.refused),
    classes,
    kinds: topKinds(stats.kinds, KINDS_PER_ISOLATE),
    short,
    hour,
    cache: {
      held: gauges.cache?.held ?? 0,
      from_memory: gauges.cache?.fromMemory ?? 0,
      from_storage: gauges.cache?.fromStorage ?? 0,
      counts_from_memory: gauges.cache?.countsFromMemory ?? 0,
      counts_from_storage: gauges.cache?.countsFromStorage ?? 0,
      proven_below: gauges.cache?.provenBelow ?? 0,
    },
    verify_threads: gauges.verifyThreads ?? 0,
  };
}

/** The whole relay: the sum of the isolates that reported, aligned to one moment. */
export interface AggregateStats extends Omit<IsolateSnapshot, "id" | "agent_keys"> {
  isolates: Array<
    {
      id: string;
      started_at: number;
      last_seen: number;
      connections: number;
      hot_events: number;
      verify_threads: number;
    }
  >;
}

/** Sum snapshots into one, aligning their windows to `now` (ms); windows older than that shift. */
export function sumSnapshots(snaps: IsolateSnapshot[], now: number): AggregateStats {
  const sec = Math.floor(now / 1000);
  const minute = Math.floor(sec / 60);
  const zeros = (n: number) => new Array<number>(n).fill(0);
  const out: AggregateStats = {
    started_at: Math.min(now, ...snaps.map((s) => s.started_at)),
    at: now,
    connections: 0,
    peak_connections: 0,
    authenticated_connections: 0,
    agents: 0,
    subscriptions: 0,
    totals: { received: 0, stored: 0, delivered: 0, refused: 0, ephemeral: 0, duplicates: 0 },
    refusals: {},
    classes: Object.fromEntries(KIND_CLASSES.map((c) => [c, 0])) as Record<KindClassName, number>,
    kinds: [],
    short: Object.fromEntries(FLOWS.map((f) => [f, zeros(SHORT_SECONDS)])) as Series,
    hour: Object.fromEntries(FLOWS.map((f) => [f, zeros(HOUR_MINUTES)])) as Series,
    // Each isolate holds its own copy: `held` is the largest, the per-isolate figures are listed.
    cache: {
      held: 0,
      from_memory: 0,
      from_storage: 0,
      counts_from_memory: 0,
      counts_from_storage: 0,
      proven_below: 0,
    },
    isolates: [],
  };
  const kinds = new Map<number, number>();
  const agents = new Set<string>();
  for (const s of snaps) {
    out.connections += s.connections;
    // Isolates peak at different times: the sum of peaks would overstate the relay's peak.
    out.peak_connections = Math.max(out.peak_connections, s.peak_connections);
    out.authenticated_connections += s.authenticated_connections;
    // Snapshots from a build without agent_keys count all their agents.
    const keys = s.agent_keys ?? "";
    const n = Math.floor(keys.length / AGENT_KEY_CHARS);
    for (let i = 0; i < n; i++) {
      agents.add(keys.slice(i * AGENT_KEY_CHARS, (i + 1) * AGENT_KEY_CHARS));
    }
    out.agents += Math.max(0, s.agents - n);
    out.subscriptions += s.subscriptions;
    for (const k of Object.keys(out.totals) as Array<keyof typeof out.totals>) {
      out.totals[k] += s.totals[k] ?? 0;
    }
    for (const [r, n] of Object.entries(s.refusals)) out.refusals[r] = (out.refusals[r] ?? 0) + n;
    for (const c of KIND_CLASSES) out.classes[c] += s.classes[c] ?? 0;
    for (const [k, n] of s.kinds) kinds.set(k, (kinds.get(k) ?? 0) + n);
    const sShift = sec - Math.floor(s.at / 1000);
    const mShift = minute - Math.floor(s.at / 60000);
    for (const f of FLOWS) {
      addShifted(out.short[f], s.short[f], sShift);
      addShifted(out.hour[f], s.hour[f], mShift);
    }
    out.isolates.push({
      id: s.id,
      started_at: s.started_at,
      last_seen: s.at,
      connections: s.connections,
      hot_events: s.cache?.held ?? 0,
      verify_threads: s.verify_threads ?? 0,
    });
    out.cache.held = Math.max(out.cache.held, s.cache?.held ?? 0);
    out.cache.from_memory += s.cache?.from_memory ?? 0;
    out.cache.from_storage += s.cache?.from_storage ?? 0;
    out.cache.counts_from_memory += s.cache?.counts_from_memory ?? 0;
    out.cache.counts_from_storage += s.cache?.counts_from_storage ?? 0;
    out.cache.proven_below += s.cache?.proven_below ?? 0;
  }
  out.agents += agents.size;
  out.kinds = topKinds(kinds, KINDS_PER_ISOLATE);
  out.peak_connections = Math.max(out.peak_connections, out.connections);
  return out;
}

/** Add `src` into `dst`, where src ends `shift` buckets before dst's end. */
function addShifted(dst: number[], src: number[], shift: number): void {
  if (shift < 0) shift = 0; // a snapshot from a clock slightly ahead: treat as now
  for (let i = 0; i < src.length; i++) {
    const j = i - shift;
    if (j >= 0 && j < dst.length) dst[j]! += src[i]!;
  }
}

/** The `n` most frequent kinds, most frequent first (ties by lower kind). */
export function topKinds(counts: Map<number, number>, n: number): Array<[number, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n);
}
