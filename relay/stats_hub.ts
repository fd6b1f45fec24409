/**
 * @module Cross-isolate stats: every isolate publishes its snapshot once a second on a
 * BroadcastChannel and keeps the latest one heard from each other isolate, so any isolate can
 * answer for the whole process. One message per isolate per second (a few KB, plus up to 80 KB of
 * agent keys) stays far below the channel's shared 256-message buffer. Processes and Deploy
 * instances share only the KV: there each isolate also writes its snapshot every few seconds and
 * reads the others', so every instance answers for all of them.
 */
import type { Relay } from "./relay.ts";
import {
  AGENT_KEY_CHARS,
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
  /** The KV shared with other processes and instances: snapshots are exchanged through it too. */
  kv?: Deno.Kv;
  /** How often each isolate writes its snapshot to the KV and reads the others' (ms). */
  kvShareMs?: number;
  /** Forget a KV snapshot that has not changed for this long (ms; default 2 shares + 5 s). */
  kvExpireMs?: number;
}

/** A snapshot read from the KV, with the local time it was last seen to change. */
interface Shared {
  snap: IsolateSnapshot;
  changedAt: number;
}

/** Where isolates keep their snapshots in a shared KV: `["stats", isolate id]`. */
const KV_PREFIX = "stats";
// A KV value holds at most 64 KiB: a shared snapshot carries fewer agent keys than a broadcast one
// (the agents past them are counted as if on no other isolate, see sumSnapshots).
const KV_AGENT_KEYS = 1000;
const KV_MAX_JSON = 60_000;

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
  readonly #kvTimer: ReturnType<typeof setInterval> | undefined;
  // Snapshots of isolates in other processes or instances, read from the KV.
  // With the local time each was last seen to change: another machine's clock says nothing about
  // whether it is still alive (and local SQLite still lists expired keys).
  #shared = new Map<string, Shared>();
  readonly #kvExpireMs: number;
  #shareFailed = false;
  readonly #kv: Deno.Kv | undefined;
  #sharing: Promise<void> | undefined;
  #closed = false;
  // Highest whole-relay connection count seen when summing (sampled at least once a second).
  #peak = 0;
  /** The snapshot this isolate last published on the channel. */
  #published: IsolateSnapshot | undefined;

  constructor(relay: Relay, opts: StatsHubOptions = {}) {
    this.#relay = relay;
    this.#expireMs = opts.expireMs ?? 5000;
    const shareMs = opts.kvShareMs ?? 5000;
    // Two missed writes, plus slack for a slow KV or a busy isolate.
    this.#kvExpireMs = opts.kvExpireMs ?? 2 * shareMs + 5000;
    const kv = this.#kv = opts.kv;
    if (kv) {
      const share = () => {
        this.#sharing ??= this.#share(kv, shareMs).finally(() => this.#sharing = undefined);
      };
      this.#kvTimer = setInterval(share, shareMs);
      share();
    }
    if (opts.channel === undefined) return;
    const ch = new BroadcastChannel(opts.channel);
    const publish = () => {
      const own = this.#published = this.local();
      ch.postMessage(own);
      this.#observe(this.#sum(own));
    };
    ch.onmessage = (e: MessageEvent) => {
      const s = e.data as IsolateSnapshot | undefined;
      if (s && typeof s.id === "string" && typeof s.at === "number" && s.id !== this.id) {
        // Alone until now, this isolate answered live: publish at once, so that what it answers
        // from here on (its last publication) is not older than what it answered before.
        const alone = this.#remote.size === 0;
        this.#remote.set(s.id, s);
        if (alone) publish();
      }
    };
    this.#channel = ch;
    this.#timer = setInterval(publish, opts.publishMs ?? 1000);
  }

  /** This isolate's snapshot now. */
  local(): IsolateSnapshot {
    return takeSnapshot(this.id, this.#relay.stats, {
      subscriptions: this.#relay.subs.size,
      cache: this.#relay.store.cacheStats?.(),
      verifyThreads: this.#relay.verifier.threads,
    });
  }

  /** The whole relay now: this isolate plus every other isolate heard from recently. */
  snapshot(): AggregateStats {
    // With sibling isolates, answer from what this isolate last published, as they do: they all
    // sum the same snapshots, so requests that reach different isolates (a scraper's, a page's)
    // do not see a counter step back, which Prometheus would take for a restart (but within the
    // moment a publication takes to reach the siblings). A live own part would run ahead of what
    // the siblings know until the next publication. Alone: live numbers.
    const own = this.#remote.size > 0 && this.#published ? this.#published : this.local();
    return this.#observe(this.#sum(own));
  }

  #sum(own: IsolateSnapshot): AggregateStats {
    const now = own.at;
    for (const [id, s] of this.#remote) {
      if (now - s.at > this.#expireMs) this.#remote.delete(id);
    }
    const all = [own, ...this.#remote.values()];
    // An isolate heard over the channel is fresher there than in the KV.
    const local = Date.now();
    for (const { snap, changedAt } of this.#shared.values()) {
      if (!this.#remote.has(snap.id) && local - changedAt <= this.#kvExpireMs) all.push(snap);
    }
    return sumSnapshots(all, now);
  }

  /** Write this isolate's snapshot to the KV and read every other isolate's. */
  async #share(kv: Deno.Kv, shareMs: number): Promise<void> {
    if (this.#closed) return;
    const own = this.local();
    let value = { ...own, agent_keys: own.agent_keys.slice(0, KV_AGENT_KEYS * AGENT_KEY_CHARS) };
    if (JSON.stringify(value).length > KV_MAX_JSON) value = { ...value, agent_keys: "" };
    try {
      await kv.set([KV_PREFIX, this.id], value, { expireIn: 3 * shareMs });
      const shared = new Map<string, Shared>();
      const now = Date.now();
      for await (const e of kv.list<IsolateSnapshot>({ prefix: [KV_PREFIX] })) {
        const s = e.value;
        if (s && typeof s.id === "string" && typeof s.at === "number" && s.id !== this.id) {
          const seen = this.#shared.get(s.id);
          shared.set(s.id, { snap: s, changedAt: seen?.snap.at === s.at ? seen.changedAt : now });
        }
      }
      this.#shared = shared;
      this.#shareFailed = false;
    } catch (err) {
      // The KV is closing (shutdown) or unreachable for a moment: keep what was read last. Said
      // once, so an isolate that stopped seeing the others does not do so silently.
      if (!this.#closed && !this.#shareFailed) {
        console.error("nexus: stats not shared through the KV:", err);
      }
      this.#shareFailed = true;
    }
  }

  #observe(agg: AggregateStats): AggregateStats {
    // Sampled at least once a second, so a peak shorter than that between requests may be missed.
    this.#peak = Math.max(this.#peak, agg.peak_connections);
    agg.peak_connections = this.#peak;
    return agg;
  }

  /**
   * Stop publishing and close the channel (an open channel keeps the process alive); with a KV,
   * also remove this isolate's snapshot, so a restarted relay does not count it for 15 s more.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#kvTimer !== undefined) clearInterval(this.#kvTimer);
    this.#channel?.close();
    if (!this.#kv) return;
    await this.#sharing;
    try {
      await this.#kv.delete([KV_PREFIX, this.id]);
    } catch {
      // The KV closed first: the snapshot expires by itself.
    }
  }
}
