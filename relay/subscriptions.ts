/**
 * @module The live-subscription index: each filter is filed under its most selective field
 * (id, tag value, author, kind), so a new event is tested only against filters that could match.
 */
import { matchFilter, tagConditions } from "../nostr/filter.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";

/** A subscription as the index sees it. */
export interface Sub<C = unknown> {
  readonly id: string;
  readonly conn: C;
  readonly filters: Filter[];
}

interface Entry<C> {
  sub: Sub<C>;
  filter: Filter;
  bucket: Set<Entry<C>>;
  key: string | undefined;
}

/** Filters of live subscriptions, indexed for matching incoming events. */
export class SubIndex<C = unknown> {
  #buckets = new Map<string, Set<Entry<C>>>();
  #all = new Set<Entry<C>>();
  #entries = new Map<Sub<C>, Entry<C>[]>();

  /** Number of live subscriptions. */
  get size(): number {
    return this.#entries.size;
  }

  /** Start matching a subscription's filters. */
  add(sub: Sub<C>): void {
    const entries: Entry<C>[] = [];
    for (const filter of sub.filters) {
      for (const key of bucketKeys(filter)) {
        const bucket = key === undefined ? this.#all : this.#bucket(key);
        const e = { sub, filter, bucket, key };
        bucket.add(e);
        entries.push(e);
      }
    }
    this.#entries.set(sub, entries);
  }

  /** Stop matching a subscription. */
  remove(sub: Sub<C>): void {
    for (const e of this.#entries.get(sub) ?? []) {
      e.bucket.delete(e);
      if (e.bucket.size === 0 && e.key !== undefined) this.#buckets.delete(e.key);
    }
    this.#entries.delete(sub);
  }

  /** Subscriptions with at least one filter matching the event, each once. */
  match(ev: NostrEvent): Set<Sub<C>> {
    const out = new Set<Sub<C>>();
    // A filter sits in one bucket per value of its indexed field, and an event carrying several
    // of those values reaches it through each: test it once.
    const tried = new Set<Filter>();
    const test = (bucket: Set<Entry<C>> | undefined) => {
      if (!bucket) return;
      for (const e of bucket) {
        if (out.has(e.sub) || tried.has(e.filter)) continue;
        tried.add(e.filter);
        if (matchFilter(e.filter, ev)) out.add(e.sub);
      }
    };
    test(this.#all);
    test(this.#buckets.get("i" + ev.id));
    test(this.#buckets.get("a" + ev.pubkey));
    test(this.#buckets.get("k" + ev.kind));
    const seen = new Set<string>();
    for (const t of ev.tags) {
      if (t[0] === undefined || t[0].length !== 1 || t[1] === undefined) continue;
      const key = "t" + t[0] + ":" + t[1];
      if (seen.has(key)) continue;
      seen.add(key);
      test(this.#buckets.get(key));
    }
    return out;
  }

  #bucket(key: string): Set<Entry<C>> {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, b = new Set());
    return b;
  }
}

/** The bucket keys a filter is filed under; `undefined` means the catch-all bucket. */
function bucketKeys(f: Filter): Array<string | undefined> {
  if (f.ids) return f.ids.map((id) => "i" + id);
  const tags = tagConditions(f);
  if (tags.length > 0) {
    const [letter, values] = tags.reduce((a, b) => (b[1].length < a[1].length ? b : a));
    return values.map((v) => "t" + letter + ":" + v);
  }
  if (f.authors) return f.authors.map((a) => "a" + a);
  if (f.kinds) return f.kinds.map((k) => "k" + k);
  return [undefined];
}
