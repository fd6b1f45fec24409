/** @module An in-memory NStore: the reference the Deno KV store is tested against. */
import { compareEvents, matchFilter } from "../nostr/filter.ts";
import { isEphemeral } from "../nostr/kinds.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { applyEvent, type Pointer, type Stored } from "./semantics.ts";
import type { NStore, RetentionFn, StoreOptions, WriteResult } from "./store.ts";

/** A store that keeps everything in maps; linear scans, so for tests and small relays. */
export class MemoryStore implements NStore {
  #events = new Map<string, Stored>();
  #pointers = new Map<string, Pointer>();
  // Deletion requests by (id, deleter): a stranger's request never replaces the author's.
  #tombstones = new Set<string>();
  #addrTombstones = new Map<string, number>();
  #retention: RetentionFn;

  constructor(opts: { retention?: RetentionFn } = {}) {
    this.#retention = opts.retention ?? (() => undefined);
  }

  event(ev: NostrEvent): Promise<WriteResult> {
    if (isEphemeral(ev.kind)) return Promise.resolve({ verdict: [true, ""], stored: false });
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = this.#retention(ev, now) ?? 0;
    const state = {
      event: (id: string) => this.#live(id, now),
      tombstone: (id: string, pk: string) => this.#tombstones.has(`${id}:${pk}`),
      pointer: (a: string) => {
        const p = this.#pointers.get(a);
        return p && this.#live(p.id, now) ? p : undefined;
      },
      addressTombstone: (a: string) => this.#addrTombstones.get(a),
    };
    const ops = {
      put: (s: Stored) => this.#events.set(s.event.id, s),
      delete: (s: Stored) => this.#events.delete(s.event.id),
      setPointer: (a: string, p: Pointer) => this.#pointers.set(a, p),
      deletePointer: (a: string) => this.#pointers.delete(a),
      setTombstone: (id: string, pk: string) => this.#tombstones.add(`${id}:${pk}`),
      setAddressTombstone: (a: string, t: number) => this.#addrTombstones.set(a, t),
    };
    return Promise.resolve(applyEvent(state, ops, ev, expiresAt));
  }

  query(filters: Filter[], opts: StoreOptions = {}): Promise<NostrEvent[]> {
    return Promise.resolve(this.#select(filters, true, opts.visible));
  }

  count(filters: Filter[], opts: StoreOptions = {}): Promise<number> {
    return Promise.resolve(this.#select(filters, false, opts.visible).length);
  }

  remove(filters: Filter[]): Promise<number> {
    const gone = this.#select(filters, false);
    for (const ev of gone) this.#events.delete(ev.id);
    return Promise.resolve(gone.length);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #live(id: string, now: number): Stored | undefined {
    const s = this.#events.get(id);
    if (!s) return undefined;
    if (s.expiresAt && s.expiresAt <= now) {
      this.#events.delete(id);
      return undefined;
    }
    return s;
  }

  #select(
    filters: Filter[],
    useLimit: boolean,
    visible: (ev: NostrEvent) => boolean = () => true,
  ): NostrEvent[] {
    const now = Math.floor(Date.now() / 1000);
    const all = [...this.#events.keys()].map((id) => this.#live(id, now)?.event)
      .filter((e): e is NostrEvent => e !== undefined).sort(compareEvents);
    const out = new Map<string, NostrEvent>();
    for (const f of filters) {
      let n = 0;
      const limit = useLimit ? f.limit ?? Infinity : Infinity;
      for (const ev of all) {
        if (n >= limit) break;
        if (matchFilter(f, ev) && visible(ev)) {
          out.set(ev.id, ev);
          n++;
        }
      }
    }
    return [...out.values()].sort(compareEvents);
  }
}
