/**
 * @module Cross-isolate stats: every isolate publishes its snapshot once a second on a
 * BroadcastChannel and keeps the latest one heard from each other isolate, so any isolate can
 * answer for the whole process. One small message per isolate per second stays far below the
 * channel's shared 256-message buffer.
 */
import type { Relay } from "./relay.ts";
import {
  type AggregateStats,
  type IsolateSnapshot,
  sumSnapshots,
  takeSnapshot,
} from "./stats_snapshot.ts";

/** Options for a stats hub. */
export interface StatsHubOptions {
  /** BroadcastChannel name; isolates on the same name are summed. Undefined: this isolate only. */
  channel?: string;
  publishMs?: number;
  /** Forget an isolate not heard from for this long. */
  expireMs?: number;
}

/** The channel name for isolates sharing one KV file: they are one relay. */
export function statsChannelName(kvPath: string | undefined): string {
  // ":memory:" stores are private to an isolate, so such isolates are separate relays.
  const key = kvPath === ":memory:" ? crypto.randomUUID() : kvPath ?? "default";
  return `nexus-stats:${key}`;
}

/** Publishes this isolate's snapshot and sums it with the others'. */
export class StatsHub {
  readonly id = crypto.randomUUID().slice(0, 8);
  readonly #relay: Relay;
  readonly #remote = new Map<string, IsolateSnapshot>();
  readonly #expireMs: number;
  readonly #channel: BroadcastChannel | undefined;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  // Highest whole-relay connection count seen when summing (sampled at least once a second).
  #peak = 0;

  constructor(relay: Relay, opts: StatsHubOptions = {}) {
    this.#relay = relay;
    this.#expireMs = opts.expireMs ?? 5000;
    if (opts.channel === undefined) return;
    const ch = new BroadcastChannel(opts.channel);
    ch.onmessage = (e: MessageEvent) => {
      const s = e.data as IsolateSnapshot | undefined;
      if (s && typeof s.id === "string" && typeof s.at === "number" && s.id !== this.id) {
        this.#remote.set(s.id, s);
      }
    };
    this.#channel = ch;
    this.#timer = setInterval(() => {
      const own = this.local();
      ch.postMessage(own);
      this.#observe(this.#sum(own));
    }, opts.publishMs ?? 1000);
  }

  /** This isolate's snapshot now. */
  local(): IsolateSnapshot {
    return takeSnapshot(this.id, this.#relay.stats, {
      subscriptions: this.#relay.subs.size,
      cache: this.#relay.store.cacheStats?.(),
    });
  }

  /** The whole relay now: this isolate plus every other isolate heard from recently. */
  snapshot(): AggregateStats {
    return this.#observe(this.#sum(this.local()));
  }

  #sum(own: IsolateSnapshot): AggregateStats {
    const now = own.at;
    for (const [id, s] of this.#remote) {
      if (now - s.at > this.#expireMs) this.#remote.delete(id);
    }
    return sumSnapshots([own, ...this.#remote.values()], now);
  }

  #observe(agg: AggregateStats): AggregateStats {
    // Sampled at least once a second, so a peak shorter than that between requests may be missed.
    this.#peak = Math.max(this.#peak, agg.peak_connections);
    agg.peak_connections = this.#peak;
    return agg;
  }

  /** Stop publishing and close the channel (an open channel keeps the process alive). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#channel?.close();
  }
}
