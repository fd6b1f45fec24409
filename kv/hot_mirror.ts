/**
 * @module Keeps a HotEvents window in step with the KV and proves, before each use, that it is
 * current. The window is loaded from the created index, then follows the change feed from the
 * writer heads read before the load, plus the store's own commits as they resolve. `["fb"]` counts
 * every feed entry ever written (each commit adds its own number in the same atomic), so one read
 * of it tells whether every change committed so far has been applied: the entries passed since the
 * heads were read must equal its growth since then, and none of them may come from a commit newer
 * than the one that last wrote it. Only then is the window used; otherwise the store scans KV as
 * before, and the window catches up in the background. Read-your-writes holds across isolates,
 * processes and Deploy instances, because the proof is a strongly consistent read.
 */
import { type FeedBatch, type FeedChange, feedHeads, FeedTailer } from "./feed.ts";
import { FreshRead } from "./fresh_read.ts";
import { HotEvents, order } from "./hot_events.ts";
import { decodeEntry } from "./entry.ts";
import { decodeEvent, getManyAll, readEvents } from "./kv_query.ts";
import { P, uninvertId } from "./keys.ts";
import { isLocked } from "./locked.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";

interface State {
  events: HotEvents;
  tailer: FeedTailer;
  /** `["fb"]` when the writer heads were read. */
  base: bigint;
  /** The versionstamp of `base`: changes of commits up to it were in place before the load. */
  start: string;
  /** The newest commit versionstamp whose changes were applied. */
  top: string;
  /** Feed entries applied since the heads were read, each counted once. */
  applied: number;
}

const decoder = new TextDecoder();

/** Most keys a filter below the window is sized for (1.25 bytes each: 40 MB). */
const MAX_BELOW_KEYS = 32_000_000;

/** Removals remembered while unproven beyond this many make the window load again. */
const MAX_REMOVALS = 200_000;

/** Options of a hot window. */
export interface HotMirrorOptions {
  /** Most events held. */
  max: number;
  /** How often the feed is read when nothing asks sooner, in ms. */
  pollMs?: number;
  /** Most events below the window whose keys are scanned into a filter (0: none). */
  belowMax?: number;
  /** Keys the first such filter is sized for (it grows as needed). */
  belowCapacity?: number;
}

/** A HotEvents window that follows the KV and answers only when proven current. */
export class HotMirror {
  #kv: Deno.Kv;
  #max: number;
  #pollMs: number;
  #state: State | undefined;
  #syncing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Set for good once an earlier version's feed entry is seen (see FeedBatch.legacy). */
  #unprovable = false;
  /** REQ filters answered from memory. */
  hits = 0;
  /** COUNT filters answered from memory. */
  countHits = 0;
  /** The scan filling the filter of keys below the window, while it runs. */
  #belowScan: Promise<void> | undefined;
  /** Keys the next such filter is sized for; grows when one fills up. */
  #belowCapacity: number;
  /** Most events below the window worth a scan. */
  #belowMax: number;
  /** The store below the window was too large to scan: do not try again. */
  #belowTooLarge = false;
  /** Scans below that failed in a row, and when the next may begin (Date.now()). */
  #belowFailures = 0;
  #belowRetryAt = 0;
  /** The proof read: REQs that arrive together share one `kv.get`. */
  #feedCount: FreshRead<Deno.KvEntryMaybe<Deno.KvU64>>;

  constructor(kv: Deno.Kv, opts: HotMirrorOptions) {
    this.#kv = kv;
    this.#feedCount = new FreshRead(() => kv.get<Deno.KvU64>([P.feedBump]));
    this.#max = opts.max;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#belowCapacity = opts.belowCapacity ?? Math.max(100_000, 16 * opts.max);
    this.#belowMax = opts.belowMax ?? 1_000_000;
  }

  /** Load the window and begin following the feed; resolves once it is in step (or closed). */
  start(): Promise<void> {
    if (this.#state || this.#closed) return Promise.resolve();
    return this.#syncing ??= this.#sync().finally(() => this.#syncing = undefined);
  }

  /** Stop following the feed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#syncing;
    await this.#belowScan;
    await this.#state?.tailer.close();
    this.#state = undefined;
  }

  /** Read the feed now; resolves once every change committed before the call is applied. */
  async poll(): Promise<void> {
    await this.#state?.tailer.poll();
  }

  /** Proof reads made: fewer than queries asked when queries arrive together. */
  get proofReads(): number {
    return this.#feedCount.reads;
  }

  /** True once the keys of every event below the window are known (see HotEvents.startBelow). */
  get belowKnown(): boolean {
    return this.#state?.events.belowKnown ?? false;
  }

  /** Filters answered whole from memory because nothing below the window could match them. */
  get answeredByBelow(): number {
    return this.#state?.events.answeredByBelow ?? 0;
  }

  /** Removals remembered for ordering until the window is next proven current. */
  get removals(): number {
    return this.#state?.events.removals ?? 0;
  }

  /** Events held now (0 while loading). */
  get size(): number {
    return this.#state?.events.size ?? 0;
  }

  /** Apply a commit of this store's own writer as soon as it resolves. */
  applyOwn(
    writer: string,
    versionstamp: string,
    entries: Array<{ seq: number; changes: FeedChange[] }>,
  ): void {
    const s = this.#state;
    if (!s) return;
    for (const { seq, changes } of entries) {
      const pos = s.tailer.position(writer);
      // Already read from the feed (the response came late): applying it again could bring back
      // an event removed since.
      if (seq <= pos) continue;
      // A number skipped (a commit whose outcome was unknown, a window loaded after this writer's
      // head expired): the feed must say what happened there, so leave the rest to the tailer.
      if (seq !== pos + 1) return void s.tailer.poll();
      this.#apply(s, { writer, seq, versionstamp, changes, legacy: false });
      s.tailer.advance(writer, seq);
    }
  }

  /**
   * Each filter's answer from memory, or undefined for a filter the window cannot answer; all
   * undefined when the window is not proven current.
   */
  query(
    filters: Filter[],
    now: number,
    visible?: (ev: NostrEvent) => boolean,
    counted = true,
  ): Promise<Array<NostrEvent[] | undefined> | undefined> {
    return this.#whenProven((events) =>
      filters.map((f) => {
        const got = events.query(f, now, visible, false, counted);
        if (got && counted) this.hits++;
        return got;
      })
    );
  }

  /**
   * Each filter's matches, unordered and with no limit (a COUNT's), or undefined as for `query`.
   */
  matches(filters: Filter[], now: number): Promise<Array<NostrEvent[] | undefined> | undefined> {
    // The usual COUNT (no `since`) of a store larger than the window: not worth a proof read.
    const events = this.#state?.events;
    if (!events || !filters.some((f) => events.covers(f))) return Promise.resolve(undefined);
    return this.#whenProven((events) =>
      filters.map((f) => {
        const got = events.query({ ...f, limit: undefined }, now, undefined, true);
        if (got) this.countHits++;
        return got;
      })
    );
  }

  /** `answer` run on the window once one proof read shows it current; undefined otherwise. */
  async #whenProven<T>(answer: (events: HotEvents) => T): Promise<T | undefined> {
    // The proof holds only for the window that existed before the read: one loaded while it was
    // pending was not a snapshot, and its own base could match a stale read.
    const s = this.#state;
    if (!s) return undefined;
    let fb: Deno.KvEntryMaybe<Deno.KvU64>;
    try {
      fb = await this.#feedCount.get();
    } catch {
      return undefined; // the KV scan will say what is wrong
    }
    // Everything from here to the answers is synchronous: no change can land in between.
    if (this.#state !== s) return undefined;
    if (!this.#proven(s, fb)) {
      void s.tailer.poll();
      return undefined;
    }
    return answer(s.events);
  }

  /**
   * True when the window holds exactly the changes counted in `fb`: as many entries applied as
   * were written since the heads were read, none of them from a commit after `fb`'s last write.
   * Then every change still to come is ordered after every change seen, so the removals
   * remembered for ordering can go.
   */
  #proven(s: State, fb: Deno.KvEntryMaybe<Deno.KvU64>): boolean {
    if (this.#unprovable) return false;
    const grown = (fb.value?.value ?? 0n) - s.base;
    if (grown !== BigInt(s.applied) || s.top > (fb.versionstamp ?? "")) return false;
    s.events.settle();
    return true;
  }

  /** The background round: read the feed, then settle if proven (so removals do not pile up). */
  async #tick(): Promise<void> {
    const s = this.#state;
    if (!s) return;
    this.#scanBelow(s);
    await s.tailer.poll();
    if (this.#state !== s || s.events.removals === 0) return;
    try {
      this.#proven(s, await this.#feedCount.get());
    } catch { /* the next round tries again */ }
    if (s.events.removals > MAX_REMOVALS) this.#rebuild(s);
  }

  #apply(s: State, b: FeedBatch): void {
    // Its writer records no removals, so the window can never be proven again.
    if (b.legacy) this.#refuseForGood();
    // A writer missing from the heads read at the start (its head expired) has its surviving log
    // read from the beginning: entries from before the load are in the window and in `base`
    // already, and applying them again could bring back an event removed since.
    if (b.versionstamp <= s.start) return;
    s.applied++;
    b.changes.forEach((c, i) => s.events.apply(c, order(b.versionstamp, b.seq, i)));
    if (b.versionstamp > s.top) s.top = b.versionstamp;
  }

  async #sync(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        // The heads and the count must come from the same moment: read the count on both sides.
        const before = await this.#kv.get<Deno.KvU64>([P.feedBump]);
        const heads = await feedHeads(this.#kv);
        const after = await this.#kv.get<Deno.KvU64>([P.feedBump]);
        if (before.versionstamp !== after.versionstamp) {
          await pause(attempt);
          continue;
        }
        await this.#refuseEarlierBuilds(heads);
        if (this.#unprovable) return; // a window never used is not worth its memory
        const events = await this.#load();
        if (this.#closed) return;
        // The handlers run only once the tailer starts, after `state` exists.
        const tailer = new FeedTailer(this.#kv, (b) => this.#apply(state, b), {
          watch: false,
          yieldBetween: false,
          pollMs: 0, // see #tick
          onGap: () => this.#rebuild(state),
        });
        const state: State = {
          events,
          tailer,
          base: after.value?.value ?? 0n,
          start: after.versionstamp ?? "",
          top: after.versionstamp ?? "",
          applied: 0,
        };
        await tailer.start(heads);
        if (this.#closed) return void await tailer.close();
        this.#state = state;
        this.#timer ??= setInterval(() => void this.#tick(), this.#pollMs);
        // Changes committed during the load are on the feed: take them in now.
        await tailer.poll();
        this.#scanBelow(state);
        return;
      } catch (err) {
        if (this.#closed) return;
        if (!isLocked(err)) console.error("hot events: load failed, retrying:", err);
        await pause(attempt);
      }
    }
  }

  /**
   * An earlier build writes no feed entry at all for a commit that only removes events, so no
   * proof can see those: if any writer's newest entry is in its format, never answer from memory.
   */
  async #refuseEarlierBuilds(heads: Map<string, number>): Promise<void> {
    const keys = [...heads].map(([w, seq]) => [P.feed, w, seq]);
    for (const e of await getManyAll<unknown>(this.#kv, keys)) {
      if (Array.isArray(e.value)) this.#refuseForGood();
    }
  }

  #refuseForGood(): void {
    if (this.#unprovable) return;
    this.#unprovable = true;
    console.warn("hot events: an earlier Nexus build writes to this KV; REQs go to KV");
  }

  /** Entries expired before they were read: the window can no longer be proven; load it again. */
  #rebuild(s: State): void {
    if (this.#state !== s) return;
    this.#state = undefined;
    void s.tailer.close();
    // A gap found by the first read happens while the sync that loaded this state still runs.
    void (this.#syncing ?? Promise.resolve()).then(() => this.start());
  }

  /**
   * Start filling the filter of keys below the window, unless one is running, or the window
   * holds the whole store, or the last filter still has room. Runs in the background: until it
   * finishes, filters reaching below the window go to KV as before.
   */
  #scanBelow(s: State): void {
    if (this.#belowScan || this.#belowTooLarge || this.#closed || this.#belowMax === 0) return;
    if (!s.events.belowWanted || Date.now() < this.#belowRetryAt) return;
    this.#belowScan = this.#fillBelow(s)
      .then(() => {
        this.#belowFailures = 0;
      })
      .catch((err) => {
        if (this.#closed) return;
        // The unfinished filter vouches for nothing; a later round tries again, backing off.
        this.#belowFailures++;
        this.#belowRetryAt = Date.now() + Math.min(60_000, 100 * 2 ** this.#belowFailures);
        if (!isLocked(err)) console.error("hot events: scan below failed, will retry:", err);
      })
      .finally(() => this.#belowScan = undefined);
  }

  async #fillBelow(s: State): Promise<void> {
    const events = s.events;
    const token = events.startBelow(this.#belowCapacity);
    // Everything below `low` as it is now; whatever falls below later is added as it happens.
    const iter = this.#kv.list<Uint8Array>(
      { start: [P.created], end: [P.created, events.low] },
      // Small batches: the work between two reads holds the event loop, REQs wait behind it.
      { batchSize: 100 },
    );
    let scanned = 0;
    let large: string[] = [];
    const addLarge = async () => {
      for (const e of await readEvents(this.#kv, large)) {
        if (e?.j) events.addBelow(token, JSON.parse(decoder.decode(e.j)));
      }
      large = [];
    };
    for await (const entry of iter) {
      if (this.#closed || this.#state !== s) return;
      if (++scanned > this.#belowMax || 4 * token.added > MAX_BELOW_KEYS) {
        this.#belowTooLarge = true;
        events.dropBelow(token);
        return void console.warn(
          `hot events: more than NEXUS_HOT_BELOW_MAX=${this.#belowMax} events, or more than ` +
            `${MAX_BELOW_KEYS / 4} keys, below the window; filters reaching below it scan KV`,
        );
      }
      const v = decodeEntry(entry.value);
      if (v.j) events.addBelow(token, JSON.parse(decoder.decode(v.j)));
      else large.push(uninvertId(entry.key[2] as Uint8Array)); // its JSON is in the id entry
      if (large.length >= 100) await addLarge();
      if (token.full) {
        // More below than it was sized for: start again with room to spare (each restart at
        // least quadruples, so the wasted scans cost less than the last one).
        this.#belowCapacity = 4 * token.added;
        if (this.#closed || this.#state !== s) return;
        return this.#fillBelow(s);
      }
    }
    await addLarge();
    if (this.#closed || this.#state !== s) return;
    events.finishBelow(token);
    // Room for three times as many keys again before eviction fills it and a new scan is due.
    this.#belowCapacity = Math.min(MAX_BELOW_KEYS, Math.max(this.#belowCapacity, 4 * token.added));
  }

  /** The newest events from the created index, as many as the window holds. */
  async #load(): Promise<HotEvents> {
    const now = Math.floor(Date.now() / 1000);
    const items: Array<{ ev: NostrEvent | undefined; x: number; order: string }> = [];
    const large: Array<{ i: number; id: string }> = [];
    let scanned = 0;
    let oldest = -Infinity;
    const iter = this.#kv.list<Uint8Array>({ prefix: [P.created] }, {
      reverse: true,
      limit: this.#max + 1,
      batchSize: 1000,
    });
    for await (const entry of iter) {
      if (this.#closed) break;
      scanned++;
      oldest = entry.key[1] as number;
      const v = decodeEntry(entry.value);
      if (v.x && v.x <= now) continue;
      // A load is older than every change of the same commit that the feed may still bring.
      const at = entry.versionstamp;
      if (v.j) items.push({ ev: decodeEvent(v.j), x: v.x, order: at });
      else {
        // Too large to copy into index entries: the id entry holds the JSON.
        large.push({ i: items.length, id: uninvertId(entry.key[2] as Uint8Array) });
        items.push({ ev: undefined, x: v.x, order: at });
      }
    }
    const read = await readEvents(this.#kv, large.map((l) => l.id));
    large.forEach(({ i }, k) => {
      const e = read[k];
      if (e?.j) items[i]!.ev = decodeEvent(e.j);
    });
    const events = new HotEvents(this.#max);
    // A full window may have cut a second in two: it holds only the seconds it saw whole.
    const low = scanned > this.#max ? oldest + 1 : -Infinity;
    // (An event whose id entry was gone by the time it was read was removed meanwhile.)
    const found = items.filter((it): it is { ev: NostrEvent; x: number; order: string } => !!it.ev);
    events.seed(found.reverse(), low);
    return events;
  }
}

function pause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** Math.min(attempt, 7))));
}
