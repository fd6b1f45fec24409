/** @module The storage contract, in the spirit of Nostrify's NStore. */
import type { Filter, NostrEvent, Verdict } from "../nostr/types.ts";

/** Options every store call accepts. */
export interface StoreOptions {
  signal?: AbortSignal;
  /**
   * For `query`: events the caller may not see (private kinds) are skipped before a filter's
   * limit counts them, so a hidden event never displaces a visible match. For `count`: only events
   * it accepts are counted.
   */
  visible?: (ev: NostrEvent) => boolean;
  /** A read of the relay's own (the job board's): left out of `cacheStats`, which counts clients'. */
  internal?: boolean;
  /**
   * For `event`: whose write this is (the connection). A store with writes waiting may take them
   * in turns between sources, each source's in its own order.
   */
  source?: unknown;
}

/** The outcome of `event()`: the OK tuple for the client and whether anything new was stored. */
export interface WriteResult {
  verdict: Verdict;
  /** True only when this call stored the event (not for duplicates or refusals). */
  stored: boolean;
  /** Position in the change feed, when the store keeps one. */
  seq?: number;
  /**
   * When the store took the event in (ms since the epoch), as its change feed records it for
   * every other isolate and instance, so that all of them time it alike.
   */
  at?: number;
}

/** Decides how long an event is kept: an absolute unix time in seconds, or undefined for ever. */
export type RetentionFn = (ev: NostrEvent, receivedAt: number) => number | undefined;

/** How a store's in-memory window of events is doing (see KvStore's hot events). */
export interface CacheStats {
  /** Events held in memory now. */
  held: number;
  /** Query filters answered from memory. */
  fromMemory: number;
  /** Query filters answered by scanning storage. */
  fromStorage: number;
  /** COUNT filters answered from memory. */
  countsFromMemory: number;
  /** COUNT filters answered by scanning storage. */
  countsFromStorage: number;
  /** Of the filters (REQ and COUNT) answered from memory, those reaching below the window that its keys below proved empty there. */
  provenBelow: number;
}

/** A Nostr event store: Deno KV and in-memory stores implement the same contract. */
export interface NStore {
  /** Store an event with NIP-01 replaceable and NIP-09 deletion semantics; resolves after a durable commit. */
  event(ev: NostrEvent, opts?: StoreOptions): Promise<WriteResult>;
  /** Events matching any filter, newest first (ties by lowest id), each filter's limit applied after all conditions. */
  query(filters: Filter[], opts?: StoreOptions): Promise<NostrEvent[]>;
  /** Number of distinct events matching any filter, ignoring limits. */
  count(filters: Filter[], opts?: StoreOptions): Promise<number>;
  /** Remove every stored event matching any filter; returns how many were removed. */
  remove(filters: Filter[], opts?: StoreOptions): Promise<number>;
  /** Release resources (the KV handle, watchers). */
  close(): Promise<void>;
  /** Stats of the store's in-memory window, when it keeps one. */
  cacheStats?(): CacheStats;
}

const stored = new WeakMap<object, string>();

/** Remember the exact JSON a store read an event from, so it can be sent without re-serialising. */
export function rememberJson(ev: NostrEvent, json: string): void {
  stored.set(ev, json);
}

/** The JSON a store read an event from, or a fresh serialisation. */
export function eventJson(ev: NostrEvent): string {
  return stored.get(ev) ?? JSON.stringify(ev);
}
