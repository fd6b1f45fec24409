/**
 * @module The newest stored events, held in memory with their own small indexes so a REQ can be
 * answered without a KV scan (a `list` costs about 4.5 us an entry, most of a REQ's time). The
 * window holds every stored event with created_at >= `low`; it is fed by the change feed and the
 * store's own commits. Whether it is current is not this module's business: the store proves that
 * with one read before trusting it (see `KvStore`).
 */
import { compareEvents, matchFilter, tagConditions } from "../nostr/filter.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import type { FeedChange } from "./feed.ts";
import { isIndexedTag } from "./keys.ts";
import { KeyFilter } from "./key_filter.ts";

interface Hot {
  ev: NostrEvent;
  /** Expiry, unix seconds, 0 for none. */
  x: number;
  /** Where the change that stored it stands in commit order (see `order`). */
  order: string;
  /** Removed or evicted; left in the index lists until the next compaction. */
  gone: boolean;
}

/**
 * A sortable position of a change: the commit's versionstamp, then the entry's sequence number
 * and the change's place in it (both only compared within one commit).
 */
export function order(versionstamp: string, seq: number, index: number): string {
  return `${versionstamp}:${String(seq).padStart(16, "0")}:${String(index).padStart(6, "0")}`;
}

/** Oldest first; on equal created_at the highest id first, so walking back gives NIP-01 order. */
function ascending(a: Hot, b: Hot): number {
  return compareEvents(b.ev, a.ev);
}

/** The newest events in memory, indexed by kind, author and single-letter tag. */
export class HotEvents {
  readonly max: number;
  #byId = new Map<string, Hot>();
  /** Removals seen, by id, so a store of the same id that came earlier but arrives later loses. */
  #removed = new Map<string, string>();
  #lists = new Map<string, Hot[]>();
  #all: Hot[] = [];
  #low = -Infinity;
  #gone = 0;
  /** The index keys of every stored event below `low`, once `#belowDone` (see `startBelow`). */
  #below: KeyFilter | undefined;
  #belowDone = false;
  /** Filters found to match nothing below the window: answered whole from it. */
  answeredByBelow = 0;

  /** Hold at most `max` events; older ones are let go and `low` rises past them. */
  constructor(max: number) {
    this.max = max;
  }

  /** Every stored event with created_at at or above this is held (-Infinity: every event). */
  get low(): number {
    return this.#low;
  }

  /** Events held. */
  get size(): number {
    return this.#byId.size;
  }

  /** Removals remembered until the next `settle`. */
  get removals(): number {
    return this.#removed.size;
  }

  /**
   * Fill an empty window from a scan of the store: `items` oldest first, and `low` the created_at
   * from which the scan saw every event.
   */
  seed(items: Array<{ ev: NostrEvent; x: number; order: string }>, low: number): void {
    this.#low = low;
    for (const { ev, x, order } of items) {
      if (ev.created_at >= low && !this.#byId.has(ev.id)) {
        this.#insert({ ev, x, order, gone: false });
      }
    }
  }

  /** Apply one change; changes may arrive out of commit order, the latest `order` wins per id. */
  apply(change: FeedChange, at: string): void {
    if ("removed" in change) {
      const id = change.removed;
      const h = this.#byId.get(id);
      if (h && h.order > at) return;
      if (h) this.#drop(h);
      const seen = this.#removed.get(id);
      if (seen === undefined || seen < at) this.#removed.set(id, at);
      return;
    }
    const { ev, expiresAt } = change;
    const removedAt = this.#removed.get(ev.id);
    if (removedAt !== undefined && removedAt > at) return;
    const h = this.#byId.get(ev.id);
    if (h) {
      if (h.order < at) {
        h.order = at;
        h.x = expiresAt;
      }
      return;
    }
    if (ev.created_at < this.#low) return this.#noteBelow(ev);
    this.#insert({ ev, x: expiresAt, order: at, gone: false });
    if (this.#byId.size > this.max) this.#evict();
  }

  /**
   * Begin a filter of the keys below the window. From this call on, every event seen to fall
   * below `low` (stored there, or let go by eviction) is added to it; the caller adds every event
   * a scan of the store below `low`, begun after this call, finds (`addBelow`), then calls
   * `finishBelow`. Only then does the filter vouch for anything. Returns the filter as a token.
   */
  startBelow(capacity: number): KeyFilter {
    this.#below = new KeyFilter(capacity);
    this.#belowDone = false;
    return this.#below;
  }

  /** Add an event found below the window by the scan begun with `token`. */
  addBelow(token: KeyFilter, ev: Pick<NostrEvent, "kind" | "pubkey" | "tags">): void {
    if (token === this.#below) this.#noteBelow(ev);
  }

  /** Give up the filter begun with `token` (the store below is too large to keep one). */
  dropBelow(token: KeyFilter): void {
    if (token !== this.#below) return;
    this.#below = undefined;
    this.#belowDone = false;
  }

  /** The scan begun with `token` saw every event below the window. */
  finishBelow(token: KeyFilter): void {
    if (token === this.#below) this.#belowDone = true;
  }

  /** True once the filter of keys below the window vouches (see `startBelow`). */
  get belowKnown(): boolean {
    return this.#belowDone;
  }

  /**
   * True when a scan below the window is due: none finished yet (none begun, or one failed), or
   * the filter is too full. The caller runs one scan at a time.
   */
  get belowWanted(): boolean {
    return this.#low !== -Infinity && (!this.#belowDone || !!this.#below?.full);
  }

  #noteBelow(ev: Pick<NostrEvent, "kind" | "pubkey" | "tags">): void {
    if (this.#below) { for (const key of listKeys(ev)) this.#below.add(key); }
  }

  /**
   * True when no stored event below the window can match the filter: for one of its conditions,
   * none of the values is a key of an event below.
   */
  #noneBelow(f: Filter): boolean {
    const below = this.#below;
    if (!below || !this.#belowDone) return false;
    const absent = (keys: string[]) => keys.every((k) => !below.mayHave(k));
    for (const [letter, values] of tagConditions(f)) {
      // Only indexed tag names have their keys in the filter.
      if (isIndexedTag([letter, ""]) && absent(values.map((v) => tagKey(letter, v)))) return true;
    }
    if (f.authors && absent(f.authors.map(authorKey))) return true;
    return !!f.kinds && absent(f.kinds.map(kindKey));
  }

  /**
   * Forget the removals seen. Safe once every change up to now has been applied: whatever comes
   * later is ordered after all of them.
   */
  settle(): void {
    this.#removed.clear();
  }

  /**
   * True when the window holds every event the filter could match, whatever its limit: what a
   * COUNT needs, checked before paying for a proof read.
   */
  covers(f: Filter): boolean {
    if (this.#low === -Infinity) return true;
    if (f.ids) return f.ids.every((id) => this.#byId.has(id));
    return (f.since ?? 0) >= this.#low || (f.since ?? 0) > (f.until ?? Infinity) ||
      this.#noneBelow(f);
  }

  /**
   * One filter's events, newest first and limited, or undefined when the answer may reach below
   * the window. `visible` skips events before the limit counts them, as `NStore.query` does.
   * `unordered` skips the sort, for a caller that only counts; it applies only without a limit.
   * `counted` false leaves `answeredByBelow` alone (a read of the relay's own, not a client's).
   */
  query(
    f: Filter,
    now: number,
    visible?: (ev: NostrEvent) => boolean,
    unordered = false,
    counted = true,
  ): NostrEvent[] | undefined {
    const limit = f.limit ?? Infinity;
    const keep = (h: Hot) =>
      !h.gone && !(h.x && h.x <= now) && matchFilter(f, h.ev) && (!visible || visible(h.ev));
    if (f.ids) {
      const out: NostrEvent[] = [];
      for (const id of new Set(f.ids)) {
        const h = this.#byId.get(id);
        // Not held: older than the window, unless the window is the whole store.
        if (!h) {
          if (this.#low !== -Infinity) return undefined;
        } else if (keep(h)) out.push(h.ev);
      }
      return unordered && limit === Infinity ? out : out.sort(compareEvents).slice(0, limit);
    }
    const since = f.since ?? 0;
    // The KV scan's bound, so both answer alike even for absurd timestamps.
    const until = f.until ?? Number.MAX_SAFE_INTEGER - 1;
    if (since > until) return [];
    let complete = since >= this.#low;
    if (!complete && this.#noneBelow(f)) {
      complete = true;
      if (counted) this.answeredByBelow++;
    }
    const lists = this.#candidates(f);
    // Each list is in order and holds an event once (`listKeys` is a set), so one list's walk is
    // the answer as it is; several are merged through a map and sorted.
    const one: NostrEvent[] | undefined = lists.length === 1 ? [] : undefined;
    const found = one ? undefined : new Map<string, NostrEvent>();
    for (const list of lists) {
      let n = 0;
      for (let i = lastAtOrBefore(list, until); i >= 0 && n < limit; i--) {
        const h = list[i]!;
        const t = h.ev.created_at;
        if (t < since || t < this.#low) break;
        if (!keep(h)) continue;
        if (one) one.push(h.ev);
        else found!.set(h.ev.id, h.ev);
        n++;
      }
      // This list ran out above `since` without filling the limit: older events may exist below.
      if (n < limit && !complete) return undefined;
    }
    if (one) return one;
    const out = [...found!.values()];
    if (out.length <= 1 || (unordered && limit === Infinity)) return out;
    return out.sort(compareEvents).slice(0, limit);
  }

  /** The index lists whose union holds every match of the filter, the shortest choice. */
  #candidates(f: Filter): Hot[][] {
    const options: Hot[][][] = [];
    for (const [letter, values] of tagConditions(f)) {
      options.push(values.map((v) => this.#lists.get(tagKey(letter, v)) ?? []));
    }
    if (f.authors) options.push(f.authors.map((a) => this.#lists.get(authorKey(a)) ?? []));
    if (f.kinds) options.push(f.kinds.map((k) => this.#lists.get(kindKey(k)) ?? []));
    let best: Hot[][] = [this.#all];
    let cost = this.#all.length;
    for (const lists of options) {
      const c = lists.reduce((n, l) => n + l.length, 0);
      if (c < cost) [best, cost] = [lists, c];
    }
    return best;
  }

  #insert(h: Hot): void {
    this.#byId.set(h.ev.id, h);
    insertSorted(this.#all, h);
    for (const key of listKeys(h.ev)) {
      let list = this.#lists.get(key);
      if (!list) this.#lists.set(key, list = []);
      insertSorted(list, h);
    }
  }

  #drop(h: Hot, compact = true): void {
    h.gone = true;
    this.#byId.delete(h.ev.id);
    if (++this.#gone > 1000 && this.#gone > this.#byId.size && compact) this.#compact();
  }

  /** Evict one event: it is below the window from now on. */
  #letGo(h: Hot): void {
    this.#noteBelow(h.ev);
    this.#drop(h, false);
  }

  /** Let the oldest tenth go, whole created_at seconds at a time, and raise `low` past them. */
  #evict(): void {
    const target = Math.floor(this.max * 0.9);
    // Drops here must not compact: that would replace the array under the walk.
    const all = this.#all;
    let i = 0;
    let cut = this.#low;
    while (i < all.length && this.#byId.size > target) {
      const h = all[i++]!;
      cut = h.ev.created_at;
      if (!h.gone) this.#letGo(h);
    }
    // Every event of the last second let go goes too: the window must hold a second whole.
    while (i < all.length && all[i]!.ev.created_at === cut) {
      const h = all[i++]!;
      if (!h.gone) this.#letGo(h);
    }
    this.#low = cut + 1;
    this.#compact();
  }

  #compact(): void {
    const low = this.#low;
    const live = (h: Hot) => !h.gone && h.ev.created_at >= low;
    this.#all = this.#all.filter(live);
    for (const [key, list] of this.#lists) {
      const kept = list.filter(live);
      if (kept.length === 0) this.#lists.delete(key);
      else this.#lists.set(key, kept);
    }
    this.#gone = 0;
  }
}

/** Index of the last element with created_at <= t, or -1. */
function lastAtOrBefore(list: Hot[], t: number): number {
  if (list.length === 0 || list[list.length - 1]!.ev.created_at <= t) {
    return list.length - 1;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.ev.created_at <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Insert in ascending order; events mostly arrive newest, so this is mostly a push. */
function insertSorted(list: Hot[], h: Hot): void {
  if (list.length === 0 || ascending(list[list.length - 1]!, h) < 0) {
    list.push(h);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ascending(list[mid]!, h) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, h);
}

const kindKey = (k: number) => `k${k}`;
const authorKey = (pk: string) => `a${pk}`;
const tagKey = (letter: string, value: string) => `t${letter}\u0000${value}`;

/** The lists an event is indexed in: the same conditions the KV indexes answer. */
function listKeys(ev: Pick<NostrEvent, "kind" | "pubkey" | "tags">): Set<string> {
  const keys = new Set([kindKey(ev.kind), authorKey(ev.pubkey)]);
  for (const t of ev.tags) if (isIndexedTag(t)) keys.add(tagKey(t[0], t[1]));
  return keys;
}
