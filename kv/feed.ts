/**
 * @module Tails the KV change feed: `["f", seq]` entries written in the same atomic as the events
 * they carry, numbered gap-free under the head key `["fh"]`. Follows the head with `kv.watch`
 * (fires across the isolates of one process) and polls it as the fallback (other processes).
 */
import { P } from "./keys.ts";
import { decodeEvent } from "./kv_query.ts";
import type { NostrEvent } from "../nostr/types.ts";

/** Receives events from the feed in commit order. */
export type FeedHandler = (events: NostrEvent[], seq: number) => void;

/** Options for a feed tailer. */
export interface FeedOptions {
  /** Poll interval in ms, for stores where watch does not fire (separate processes). */
  pollMs?: number;
}

/** Follows the change feed from the head at start, handing every new event to a handler. */
export class FeedTailer {
  #kv: Deno.Kv;
  #handler: FeedHandler;
  #pos = 0;
  #pollMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stream: ReadableStream<Deno.KvEntryMaybe<number>[]> | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(kv: Deno.Kv, handler: FeedHandler, opts: FeedOptions = {}) {
    this.#kv = kv;
    this.#handler = handler;
    this.#pollMs = opts.pollMs ?? 100;
  }

  /** The last feed position handed to the handler. */
  get position(): number {
    return this.#pos;
  }

  /** Start from the current head: only events committed from now on are delivered. */
  async start(): Promise<void> {
    try {
      this.#pos = (await this.#kv.get<number>([P.feedHead])).value ?? 0;
    } catch (err) {
      if (this.#closed) return; // closed before it started: nothing to follow
      throw err;
    }
    if (this.#closed) return;
    this.#timer = setInterval(() => this.poll(), this.#pollMs);
    this.#watch();
  }

  /** Read everything after our position now (also called when a gap is seen elsewhere). */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
      if (this.#again) {
        this.#again = false;
        void this.poll();
      }
    });
    return this.#reading;
  }

  /** Stop watching and polling; the KV itself is not closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      await this.#stream?.cancel();
    } catch { /* already closed */ }
    await this.#reading;
  }

  async #watch(): Promise<void> {
    try {
      this.#stream = this.#kv.watch<[number]>([[P.feedHead]]);
      for await (const _ of this.#stream) {
        if (this.#closed) break;
        void this.poll();
      }
    } catch {
      // Watch is unavailable or the KV closed: polling carries on alone.
    }
  }

  async #read(): Promise<void> {
    try {
      const head = (await this.#kv.get<number>([P.feedHead])).value ?? 0;
      if (head <= this.#pos) return;
      const iter = this.#kv.list<Uint8Array[]>({
        start: [P.feed, this.#pos + 1],
        end: [P.feed, head + 1],
      }, { batchSize: 500 });
      for await (const entry of iter) {
        const seq = entry.key[1] as number;
        // Entries older than the feed TTL are gone; whatever is left is still handed on in order.
        this.#pos = seq;
        this.#handler(entry.value.map(decodeEvent), seq);
        // Let sockets flush between entries: a backlog replayed in one go would otherwise hold
        // every delivery in memory until the whole backlog was handed out.
        await new Promise((r) => setTimeout(r, 0));
      }
      this.#pos = Math.max(this.#pos, head);
    } catch (err) {
      if (!this.#closed) console.error("feed read failed:", err);
    }
  }
}
