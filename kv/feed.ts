/**
 * @module Tails the KV change feed. Every writer (one per KvStore: an isolate, a process, a Deploy
 * instance) appends `["f", writer, seq]` entries in the same atomic as the changes they carry,
 * numbered gap-free under its head `["fh", writer]`, and adds the number of entries to `["fb"]`
 * with a conflict-free sum, so `["fb"]` counts every entry ever written. An entry lists, in commit
 * order, every event the commit stored (JSON and expiry) and every event it removed (id).
 * A tailer follows every writer's log from where it was when the tailer started; it wakes on
 * `kv.watch` of the bump key (fires across the isolates of one process) and polls as the fallback
 * (other processes).
 */
import { nextTurn } from "./next_turn.ts";
import { idBytes, idHex, P } from "./keys.ts";
import { decodeEvent } from "./kv_query.ts";
import type { NostrEvent } from "../nostr/types.ts";

/** One change a commit made to the set of stored events. */
export type FeedChange = { ev: NostrEvent; expiresAt: number } | { removed: string };

/** One feed entry: part or all of one commit's changes. */
export interface FeedBatch {
  writer: string;
  seq: number;
  /** The versionstamp of the commit that wrote the entry. */
  versionstamp: string;
  /** Stored and removed events, in the order the commit applied them. */
  changes: FeedChange[];
  /** When the writer took the commit's events in (ms; absent in entries of earlier versions). */
  at?: number;
  /** Written by an earlier version, which recorded stored events only (no removals, no expiry). */
  legacy: boolean;
}

/** Receives feed entries in each writer's commit order. */
export type FeedHandler = (batch: FeedBatch) => void;

/** A change as stored in an entry: JSON and expiry (unix seconds, 0 for none), or a removed id. */
export type FeedOp = { j: Uint8Array; x: number } | { d: Uint8Array };

/** An entry's value; earlier versions stored a bare array of event JSON, and no time. */
export type EntryValue = { ops: FeedOp[]; t?: number } | Uint8Array[];

/** Encode a stored event for a feed entry. */
export function putOp(json: Uint8Array, expiresAt: number): FeedOp {
  return { j: json, x: expiresAt };
}

/** Encode a removed event for a feed entry. */
export function removeOp(id: string): FeedOp {
  return { d: idBytes(id) };
}

/** Decode an entry's value, whichever version wrote it. */
function decodeChanges(v: EntryValue): FeedChange[] {
  // (An earlier version's entry is a bare array of JSON; see FeedBatch.legacy.)
  const ops: FeedOp[] = Array.isArray(v) ? v.map((j) => ({ j, x: 0 })) : v.ops;
  return ops.map((op) =>
    "d" in op ? { removed: idHex(op.d) } : { ev: decodeEvent(op.j), expiresAt: op.x }
  );
}

/** Options for a feed tailer. */
export interface FeedOptions {
  /** Poll interval in ms, for stores where watch does not fire (separate processes); 0: none. */
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
  /** Wake on `kv.watch` (default true); without it only the poll timer and explicit polls read. */
  watch?: boolean;
  /** Pause between entries so sockets can flush (default true; fan-out wants it). */
  yieldBetween?: boolean;
  /** Told when entries between the tailer's position and a head had expired unread. */
  onGap?: (writer: string) => void;
}

/** Follows the change feed from the heads at start, handing every new entry to a handler. */
export class FeedTailer {
  #kv: Deno.Kv;
  #handler: FeedHandler;
  #pos = new Map<string, number>();
  #watchOn: boolean;
  #yield: boolean;
  #onGap: (writer: string) => void;
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
    this.#watchOn = opts.watch ?? true;
    this.#yield = opts.yieldBetween ?? true;
    this.#onGap = opts.onGap ?? (() => {});
  }

  /**
   * Start from `from` (writer heads read earlier, see `feedHeads`) or else from every writer's
   * current head: only changes committed after those are delivered.
   */
  async start(from?: Map<string, number>): Promise<void> {
    try {
      for (const [writer, head] of from ?? await feedHeads(this.#kv)) {
        this.#pos.set(writer, head);
      }
    } catch (err) {
      if (this.#closed) return; // closed before it started: nothing to follow
      throw err;
    }
    if (this.#closed) return;
    if (this.#pollMs > 0) this.#timer = setInterval(() => this.poll(), this.#pollMs);
    if (this.#watchOn) this.#watch();
  }

  /** Record that a writer's entries up to `seq` were handled another way (a store's own commit). */
  advance(writer: string, seq: number): void {
    if (seq > (this.#pos.get(writer) ?? 0)) this.#pos.set(writer, seq);
  }

  /** The last entry of a writer's log this tailer has passed (0: none). */
  position(writer: string): number {
    return this.#pos.get(writer) ?? 0;
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

  async #read(): Promise<void> {
    try {
      for (const [writer, head] of await feedHeads(this.#kv)) {
        if (this.#closed) return;
        if (writer === this.#skip) continue;
        // A writer first seen now started after this tailer: its whole log is new.
        const pos = this.#pos.get(writer) ?? 0;
        if (head <= pos) continue;
        const iter = this.#kv.list<EntryValue>({
          start: [P.feed, writer, pos + 1],
          end: [P.feed, writer, head + 1],
        }, { batchSize: 500 });
        let expect = pos + 1;
        for await (const entry of iter) {
          // close() waits for this read: stop at the next entry rather than replay a backlog.
          if (this.#closed) return;
          const seq = entry.key[2] as number;
          // A change handled another way meanwhile (see advance) is not handed on twice.
          if (seq <= (this.#pos.get(writer) ?? 0)) {
            expect = seq + 1;
            continue;
          }
          // Entries older than the feed TTL are gone; whatever is left is handed on in order.
          if (seq !== expect) this.#onGap(writer);
          expect = seq + 1;
          this.#pos.set(writer, seq);
          const changes = decodeChanges(entry.value);
          const legacy = Array.isArray(entry.value);
          const at = legacy ? undefined : (entry.value as { t?: number }).t;
          this.#handler({ writer, seq, versionstamp: entry.versionstamp, changes, legacy, at });
          // Let sockets flush between entries: a backlog replayed in one go would otherwise hold
          // every delivery in memory until the whole backlog was handed out.
          if (this.#yield) await nextTurn();
        }
        if (expect <= head && head > (this.#pos.get(writer) ?? 0)) this.#onGap(writer);
        this.#pos.set(writer, Math.max(this.#pos.get(writer) ?? 0, head));
      }
    } catch (err) {
      if (!this.#closed) console.error("feed read failed:", err);
    }
  }
}

/** Every writer's head: the last sequence number it committed. */
export async function feedHeads(kv: Deno.Kv): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  for await (const e of kv.list<number>({ prefix: [P.feedHead] })) {
    heads.set(e.key[1] as string, e.value);
  }
  return heads;
}
