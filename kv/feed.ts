/**
 * @module Tails the KV change feed. Every writer (one per KvStore: an isolate, a process, a Deploy
 * instance) appends `["f", writer, seq]` entries in the same atomic as the events they carry,
 * numbered gap-free under its head `["fh", writer]`, and bumps `["fb"]` with a conflict-free sum.
 * A tailer follows every writer's log from where it was when the tailer started; it wakes on
 * `kv.watch` of the bump key (fires across the isolates of one process) and polls as the fallback
 * (other processes).
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
  /** A writer whose log this tailer skips: its own store's, already delivered directly. */
  skipWriter?: string;
  /**
   * Asked on every watch notification; when it returns false the read is put off by
   * `deferMs` (or left to the poll timer when that comes sooner), and the notifications in
   * between share that one read (the poll timer and explicit polls always read). Lets a caller that hears of commits another way skip reading the feed
   * after each of them, while a commit it did not hear of waits no longer than `deferMs`.
   */
  readOnWatch?: () => boolean;
  /** How long a watch notification may wait when `readOnWatch` says not now, in ms (default 100). */
  deferMs?: number;
}

/** Follows the change feed from the head at start, handing every new event to a handler. */
export class FeedTailer {
  #kv: Deno.Kv;
  #handler: FeedHandler;
  #pos = new Map<string, number>();
  #skip: string | undefined;
  #readOnWatch: () => boolean;
  #deferMs: number;
  #deferred: ReturnType<typeof setTimeout> | undefined;
  #pollMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #watcher: ReadableStreamDefaultReader<Deno.KvEntryMaybe<Deno.KvU64>[]> | undefined;
  #reading: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #closed = false;

  constructor(kv: Deno.Kv, handler: FeedHandler, opts: FeedOptions = {}) {
    this.#kv = kv;
    this.#handler = handler;
    this.#pollMs = opts.pollMs ?? 100;
    this.#skip = opts.skipWriter;
    this.#readOnWatch = opts.readOnWatch ?? (() => true);
    this.#deferMs = opts.deferMs ?? 100;
  }

  /** Start from every writer's current head: only events committed from now on are delivered. */
  async start(): Promise<void> {
    try {
      for (const [writer, head] of await this.#heads()) this.#pos.set(writer, head);
    } catch (err) {
      if (this.#closed) return; // closed before it started: nothing to follow
      throw err;
    }
    if (this.#closed) return;
    this.#timer = setInterval(() => this.poll(), this.#pollMs);
    this.#watch();
  }

  /**
   * Read everything after our position; resolves once a read that began after this call is done,
   * so whatever was committed before the call has been handed on. Calls made while a read runs
   * share one follow-up read.
   */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading) {
      // The running read may have listed the heads before the caller's commit: queue one more.
      return this.#queued ??= this.#reading.then(() => {
        this.#queued = undefined;
        return this.poll();
      });
    }
    this.#reading = this.#read().finally(() => this.#reading = undefined);
    return this.#reading;
  }

  /** Stop watching and polling; the KV itself is not closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#deferred);
    try {
      await this.#watcher?.cancel();
    } catch { /* already closed */ }
    await this.#reading;
  }

  async #watch(): Promise<void> {
    try {
      // A reader, not `for await`: cancelling a stream a loop holds throws, and the pending watch
      // would then keep the process alive after close().
      this.#watcher = this.#kv.watch<[Deno.KvU64]>([[P.feedBump]]).getReader();
      while (true) {
        const { done } = await this.#watcher.read();
        if (done || this.#closed) break;
        if (this.#readOnWatch()) void this.poll();
        else if (this.#deferMs < this.#pollMs) {
          // (With a shorter poll interval the timer reads sooner anyway.)
          this.#deferred ??= setTimeout(() => {
            this.#deferred = undefined;
            void this.poll();
          }, this.#deferMs);
        }
      }
    } catch {
      // Watch is unavailable or the KV closed: polling carries on alone.
    }
  }

  /** Every writer's head: the last sequence number it committed. */
  async #heads(): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    for await (const e of this.#kv.list<number>({ prefix: [P.feedHead] })) {
      heads.set(e.key[1] as string, e.value);
    }
    return heads;
  }

  async #read(): Promise<void> {
    try {
      for (const [writer, head] of await this.#heads()) {
        if (writer === this.#skip) continue;
        // A writer first seen now started after this tailer: its whole log is new.
        const pos = this.#pos.get(writer) ?? 0;
        if (head <= pos) continue;
        const iter = this.#kv.list<Uint8Array[]>({
          start: [P.feed, writer, pos + 1],
          end: [P.feed, writer, head + 1],
        }, { batchSize: 500 });
        for await (const entry of iter) {
          const seq = entry.key[2] as number;
          // Entries older than the feed TTL are gone; whatever is left is handed on in order.
          this.#pos.set(writer, seq);
          this.#handler(entry.value.map(decodeEvent), seq);
          // Let sockets flush between entries: a backlog replayed in one go would otherwise hold
          // every delivery in memory until the whole backlog was handed out.
          await new Promise((r) => setTimeout(r, 0));
        }
        this.#pos.set(writer, Math.max(this.#pos.get(writer) ?? 0, head));
      }
    } catch (err) {
      if (!this.#closed) console.error("feed read failed:", err);
    }
  }
}
