/**
 * @module Cross-isolate and cross-instance fan-out. Local subscribers get an event directly; the
 * isolates of this process get it over BroadcastChannel, batched and numbered; and every isolate
 * also tails the KV change feed, which catches whatever BroadcastChannel dropped (it drops silently
 * under load) and carries events between processes and Deploy instances. The relay delivers each
 * event id once, whichever path brings it first.
 */
import { FeedTailer } from "../kv/feed.ts";
import { onNextTurn } from "../kv/next_turn.ts";
import { eventJson } from "../kv/store.ts";
import { retryLocked } from "../kv/locked.ts";
import type { NostrEvent } from "../nostr/types.ts";
import type { Relay } from "./relay.ts";

/** The BroadcastChannel name prefix; the store's id follows, so relays on other stores never mix. */
export const CHANNEL = "nexus-events:";
/** How long after a sibling's last message the feed watch is trusted again, in ms. */
const QUIET_MS = 50;

interface Batch {
  from: string;
  n: number;
  items: string[];
  /** When the sender's store took each item in (ms), so every isolate times it alike. */
  at?: number[];
}

/** Options for cluster fan-out. */
export interface ClusterOptions {
  /** Feed poll interval in ms. */
  pollMs?: number;
  /** Most events per BroadcastChannel message. */
  maxBatch?: number;
  /** This isolate's own feed writer, whose events it already delivered directly. */
  skipWriter?: string;
}

/** Connects a relay to its sibling isolates and to other instances sharing the KV. */
export class Cluster {
  readonly id = crypto.randomUUID();
  #relay: Relay;
  #channel: BroadcastChannel | undefined;
  #kv: Deno.Kv;
  #closed = false;
  #feed: FeedTailer;
  #out: string[] = [];
  #outAt: number[] = [];
  #n = 0;
  #lastSeen = new Map<string, number>();
  #flushScheduled = false;
  #maxBatch: number;
  /** When the last BroadcastChannel message arrived (performance.now()). */
  #heardAt = -Infinity;
  /** Gaps seen on BroadcastChannel, each repaired from the feed. */
  gaps = 0;
  /** True once this isolate listens to its siblings and follows the feed. */
  joined = false;

  constructor(relay: Relay, kv: Deno.Kv, opts: ClusterOptions = {}) {
    this.#relay = relay;
    this.#kv = kv;
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#feed = new FeedTailer(kv, ({ changes, at }) => {
      // Stored events are delivered; removals are news only to stores, not to subscribers.
      for (const c of changes) if ("ev" in c) relay.deliver(c.ev, eventJson(c.ev), at);
    }, {
      pollMs: opts.pollMs,
      skipWriter: opts.skipWriter,
      // The watch fires on every commit of this process, whose events sibling isolates already
      // broadcast: reading the feed after each one cost about 150 us of CPU per event in a
      // two-isolate ingest. While siblings are talking, a read within 100 ms (the default poll
      // interval) covers whatever the channel did not carry (a dropped last message, another
      // Deploy instance); when the channel is quiet, a commit came from elsewhere and is read at
      // once.
      readOnWatch: () => performance.now() - this.#heardAt > QUIET_MS,
    });
    relay.onAccepted.push((_ev, json, _seq, at) => this.#send(json, at));
  }

  /** Join the channel of this store's isolates and begin tailing the feed. */
  async start(): Promise<void> {
    try {
      const id = await retryLocked(() => storeId(this.#kv), () => this.#closed);
      if (this.#closed) return;
      this.#channel = new BroadcastChannel(CHANNEL + id);
      this.#channel.onmessage = (e: MessageEvent<Batch>) => this.#receive(e.data);
      await retryLocked(() => this.#feed.start(), () => this.#closed);
      this.joined = !this.#closed;
    } catch (err) {
      // Shut down while starting (the KV closed under us): there is nothing left to follow.
      if (!this.#closed) throw err;
    }
  }

  /** Close the channel and the feed watcher so the process can exit. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#channel) {
      this.#channel.onmessage = null;
      this.#channel.close();
    }
    await this.#feed.close();
  }

  #send(json: string, at: number): void {
    this.#out.push(json);
    this.#outAt.push(at);
    if (this.#out.length >= this.#maxBatch) return this.#flush();
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // One message per tick carries every event accepted in it: far fewer messages under load.
      onNextTurn(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0) return;
    const items = this.#out, at = this.#outAt;
    this.#out = [];
    this.#outAt = [];
    if (!this.#channel) return; // not started yet: the feed carries these
    try {
      this.#channel.postMessage({ from: this.id, n: ++this.#n, items, at } satisfies Batch);
    } catch {
      // Closed during shutdown; the feed still carries stored events.
    }
  }

  #receive(b: Batch): void {
    this.#heardAt = performance.now();
    const last = this.#lastSeen.get(b.from);
    this.#lastSeen.set(b.from, b.n);
    if (last !== undefined && b.n !== last + 1) {
      // Messages were dropped: fetch what we missed from the store now instead of losing it.
      this.gaps++;
      void this.#feed.poll();
    }
    b.items.forEach((json, i) => {
      const ev = JSON.parse(json) as NostrEvent;
      this.#relay.deliver(ev, json, b.at?.[i]);
    });
  }
}

/** A random id kept in the store, shared by every isolate and instance that opens it. */
async function storeId(kv: Deno.Kv): Promise<string> {
  const key = ["meta", "store-id"];
  const fresh = crypto.randomUUID();
  // Insert-if-absent: whoever commits first names the store; everyone reads the winner.
  await kv.atomic().check({ key, versionstamp: null }).set(key, fresh).commit();
  return (await kv.get<string>(key)).value ?? fresh;
}
