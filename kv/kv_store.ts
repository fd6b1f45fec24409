/**
 * @module The Deno KV store. Writes go through one group-commit loop per store: the events waiting
 * when a commit starts join one atomic, which also appends this writer's change-feed log. The
 * atomic checks the versionstamp of every key its decisions read (the event, its tombstone, the
 * replaceable pointer, deletion targets), so writers in other isolates, processes or instances
 * only collide when they touch the same event or address, and a write never acts on state
 * another writer changed underneath it. New regular events are planned without reading at all:
 * the atomic checks instead that they and their tombstones are absent.
 */
import { compareEvents } from "../nostr/filter.ts";
import { addressOf, isEphemeral } from "../nostr/kinds.ts";
import { RecentIds } from "../nostr/recent_ids.ts";
import type { Filter, NostrEvent, Verdict } from "../nostr/types.ts";
import {
  addrTombstoneKey,
  idBytes,
  indexKeys,
  keySize,
  legacyIndexKeys,
  P,
  pointerKey,
} from "./keys.ts";
import { encodeEntry, encodeInCreated, type Entry } from "./entry.ts";
import { decodeEvent, getManyAll, readEvents, scanFilter, withJson } from "./kv_query.ts";
import { FairQueue } from "../lib/fair_queue.ts";
import { isLocked } from "./locked.ts";
import { type EntryValue, type FeedChange, type FeedOp, putOp, removeOp } from "./feed.ts";
import { HotMirror } from "./hot_mirror.ts";
import {
  applyEvent,
  deleteTargets,
  type Pointer,
  readSet,
  type Stored,
  type WriteOps,
} from "./semantics.ts";
import {
  type CacheStats,
  type NStore,
  rememberJson,
  type RetentionFn,
  type StoreOptions,
  type WriteResult,
} from "./store.ts";

/** Events up to this many bytes of JSON are copied into every index entry, saving a get per hit. */
const INLINE_MAX = 1536;
/** Stay under Deno KV's per-atomic limits (1000 mutations, 800 KiB, 80 KiB of keys). */
const BUDGET = { mutations: 900, bytes: 700_000, keyBytes: 72_000, checks: 100 };
const MAX_BATCH = 128;
/** Deno KV's limit on one key's bytes; an address's pointer and tombstone keys hold its `d` whole. */
const MAX_KEY_BYTES = 2048;
/**
 * Target checks kept when a lone deletion has too many to check them all. The ones given up only
 * guard against a target being stored at the very moment it is deleted; its tombstone is written
 * either way, so a later re-send is still refused.
 */
const RELAXED_CHECKS = 60;
/** Tags of an oversized deletion handled per commit (each target may own a dozen keys). */
const PURGE_SLICE = 40;
/** How long a batch keeps retrying while other writers keep changing the keys it read. */
const MAX_RETRY_MS = 10_000;
const FEED_CHUNK = 60_000;

/** Settings of a KV store. */
export interface KvStoreOptions {
  retention?: RetentionFn;
  /** How long change-feed entries live, in milliseconds. */
  feedTtlMs?: number;
  /** Newest events held in memory to answer queries without a KV scan (0 or absent: none). */
  hotEvents?: number;
  /** Most events below that window whose keys it scans into a filter (default 1,000,000). */
  hotBelowMax?: number;
  /** Keys that filter is first sized for (it grows as needed). */
  hotBelowCapacity?: number;
  /** How often that window reads the change feed when no query asks sooner, in ms. */
  feedPollMs?: number;
}

type Job =
  | { type: "event"; ev: NostrEvent; json: Uint8Array; resolve: (r: WriteResult) => void }
  /** Part of a deletion too large for one atomic: its targets, applied ahead of the deletion. */
  | { type: "purge"; del: NostrEvent; resolve: (r: WriteResult) => void }
  | { type: "remove"; id: string; resolve: (r: WriteResult) => void };

const encoder = new TextEncoder();

/** An NStore over Deno KV with composite indexes and a change feed. */
export class KvStore implements NStore {
  readonly kv: Deno.Kv;
  #retention: RetentionFn;
  #feedTtlMs: number;
  /** Writes waiting for a commit, taken in turns between their sources (connections). */
  #queue = new FairQueue<Job>();
  #draining = false;
  #closed = false;
  /** This store's own change-feed log (`["f", writerId, seq]`). */
  readonly writerId = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  #seq = 0;
  /** Ids this store has written or found stored: a re-send goes straight to the reading plan. */
  #known = new RecentIds(50_000);
  #hot: HotMirror | undefined;
  #scanned = 0;
  #countsScanned = 0;

  constructor(kv: Deno.Kv, opts: KvStoreOptions = {}) {
    this.kv = kv;
    this.#retention = opts.retention ?? (() => undefined);
    this.#feedTtlMs = opts.feedTtlMs ?? 10 * 60_000;
    if (opts.hotEvents) {
      this.#hot = new HotMirror(kv, {
        max: opts.hotEvents,
        pollMs: opts.feedPollMs,
        belowMax: opts.hotBelowMax,
        belowCapacity: opts.hotBelowCapacity,
      });
      this.#hot.start().catch((err) => console.error("hot events: not kept:", err));
    }
  }

  /** Filters answered from the window and by KV scans (all of them, without a window). */
  cacheStats(): CacheStats {
    return {
      held: this.#hot?.size ?? 0,
      fromMemory: this.#hot?.hits ?? 0,
      fromStorage: this.#scanned,
      countsFromMemory: this.#hot?.countHits ?? 0,
      countsFromStorage: this.#countsScanned,
      provenBelow: this.#hot?.answeredByBelow ?? 0,
    };
  }

  /** The in-memory window of newest events, when one is kept (see HotMirror). */
  get hot(): HotMirror | undefined {
    return this.#hot;
  }

  event(ev: NostrEvent, opts?: StoreOptions): Promise<WriteResult> {
    if (isEphemeral(ev.kind)) return Promise.resolve({ verdict: [true, ""], stored: false });
    if (this.#closed) return Promise.resolve(fail("error: the relay is shutting down"));
    // A replacement commit deletes the old version's keys and writes the new one's, so a
    // replaceable event may use only half the key budget; otherwise it could be stored once and
    // never replaced.
    const keyBytes = indexKeys(ev).reduce((n, k) => n + keySize(k), 0);
    if (keyBytes > (addressOf(ev) ? BUDGET.keyBytes / 2 - 1000 : BUDGET.keyBytes - 2000)) {
      return Promise.resolve(fail("invalid: event has too many tags to index in one commit"));
    }
    // Refused here, or its batch's reads fail and it gets `error:`, which invites a retry.
    const tooLong = (a: string) =>
      keySize(pointerKey(a)) > MAX_KEY_BYTES || keySize(addrTombstoneKey(a)) > MAX_KEY_BYTES;
    if (readSet(ev).addrs.some(tooLong)) {
      return Promise.resolve(
        fail(`invalid: a "d" tag (or an "a" tag's identifier) is too long to index`),
      );
    }
    const json = JSON.stringify(ev);
    // Kept for the relay's fan-out, which sends the same text.
    rememberJson(ev, json);
    return new Promise((resolve) => {
      const job: Job = { type: "event", ev, json: encoder.encode(json), resolve };
      this.#queue.push(opts?.source ?? this, job);
      this.#drain();
    });
  }

  async query(filters: Filter[], opts: StoreOptions = {}): Promise<NostrEvent[]> {
    const now = nowSec();
    const out = new Map<string, NostrEvent>();
    const held = await this.#hot?.query(filters, now, opts.visible, !opts.internal);
    // The window's answer to a lone filter is already in order, limited and without repeats.
    if (filters.length === 1 && held?.[0]) return held[0];
    await Promise.all(filters.map(async (f, i) => {
      const limit = f.limit ?? Infinity;
      if (limit <= 0) return;
      const answer = held?.[i];
      if (answer) {
        for (const ev of answer) out.set(ev.id, ev);
        return;
      }
      if (!opts.internal) this.#scanned++;
      let n = 0;
      await scanFilter(this.kv, f, now, Math.min(Math.max(limit + 1, 16), 500), (ev, json) => {
        rememberJson(ev, json);
        if (opts.signal?.aborted) return false;
        if (opts.visible && !opts.visible(ev)) return true;
        out.set(ev.id, ev);
        return ++n < limit;
      });
    }));
    return [...out.values()].sort(compareEvents);
  }

  async count(filters: Filter[], opts: StoreOptions = {}): Promise<number> {
    const now = nowSec();
    const ids = new Set<string>();
    const held = await this.#hot?.matches(filters, now);
    for (const [i, f] of filters.entries()) {
      const answer = held?.[i];
      if (answer) {
        for (const ev of answer) if (!opts.visible || opts.visible(ev)) ids.add(ev.id);
        continue;
      }
      this.#countsScanned++;
      await scanFilter(this.kv, { ...f, limit: undefined }, now, 1000, (ev) => {
        if (!opts.visible || opts.visible(ev)) ids.add(ev.id);
        return !opts.signal?.aborted;
      });
    }
    return ids.size;
  }

  async remove(filters: Filter[]): Promise<number> {
    const evs = await this.query(filters.map((f) => ({ ...f, limit: undefined })), {
      internal: true,
    });
    const results = await Promise.all(evs.map((ev) =>
      new Promise<WriteResult>((resolve) => {
        this.#queue.push(this, { type: "remove", id: ev.id, resolve });
        this.#drain();
      })
    ));
    return results.filter((r) => r.stored).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await new Promise((r) => setTimeout(r, 5));
    await this.#hot?.close();
    try {
      this.kv.close();
    } catch { /* already closed (e.g. the KV failed underneath): shutdown must still finish */ }
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) await this.#commit(this.#take());
    } finally {
      this.#draining = false;
    }
  }

  /**
   * True for a write that may be planned without reading: a regular event (no deletion, nothing
   * to replace) not known to be stored. Its atomic instead checks that neither the event nor its
   * deletion tombstone exists; if either does, or another writer got there first, the commit
   * fails and the batch is planned again the reading way. Skipping the reads saves a round of
   * `getMany` calls (two per ten events) on the KV's one writer thread before every commit.
   */
  #unread(j: Job): boolean {
    return j.type === "event" && j.ev.kind !== 5 && !addressOf(j.ev) && !this.#known.has(j.ev.id);
  }

  /** Take the next batch off the queue: as many writes as one atomic's 100 checks allow. */
  #take(): Job[] {
    let checks = 0;
    return this.#queue.take(
      MAX_BATCH,
      (j) => (checks += this.#unread(j) ? 2 : checkCost(j)) <= BUDGET.checks,
    );
  }

  /** Commit a batch, splitting it when it would exceed an atomic's limits. */
  async #commit(batch: Job[]): Promise<void> {
    const deadline = Date.now() + MAX_RETRY_MS;
    // A lone deletion naming more targets than one atomic may check gives up the per-target
    // checks beyond the first ones rather than being refused (see #plan), and one naming more
    // than it can remove has them removed in slices first.
    let relaxed = false;
    let purged = false;
    let unread = batch.every((j) => this.#unread(j));
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      let planned: Planned;
      try {
        planned = await this.#plan(batch, relaxed, unread);
      } catch (err) {
        if (batch.length > 1) {
          // One write's fault must not fail the writes that happened to share its batch.
          const half = Math.ceil(batch.length / 2);
          await this.#commit(batch.slice(0, half));
          await this.#commit(batch.slice(half));
          return;
        }
        for (const j of batch) j.resolve(fail(`error: storage read failed: ${message(err)}`));
        return;
      }
      if (planned.overBudget) {
        if (batch.length === 1 && planned.overChecksOnly && !relaxed) {
          relaxed = true;
          continue;
        }
        const only = batch[0]!;
        if (batch.length === 1 && only.type === "event" && only.ev.kind === 5 && !purged) {
          // A deletion naming more events than one atomic can remove: remove them in slices
          // first (NIP-09 asks nothing atomic of them), then store the deletion itself. (Also
          // when an earlier plan went relaxed: its targets may have been stored since.)
          await this.#purgeInSlices(only.ev);
          purged = relaxed = true;
          continue;
        }
        if (batch.length === 1 && only.type === "purge" && only.del.tags.length > 1) {
          // Targets with many tags each: halve the slice until each part fits.
          const half = Math.ceil(only.del.tags.length / 2);
          for (const tags of [only.del.tags.slice(0, half), only.del.tags.slice(half)]) {
            await new Promise<WriteResult>((resolve) =>
              this.#commit([{ type: "purge", del: { ...only.del, tags }, resolve }])
            );
          }
          only.resolve({ verdict: [true, ""], stored: false });
          return;
        }
        if (batch.length === 1) {
          batch[0]!.resolve(fail("invalid: event has too many tags to index in one commit"));
          return;
        }
        const half = Math.ceil(batch.length / 2);
        await this.#commit(batch.slice(0, half));
        await this.#commit(batch.slice(half));
        return;
      }
      let res: Deno.KvCommitResult | Deno.KvCommitError;
      let locked = false;
      try {
        res = await planned.atomic.commit();
      } catch (err) {
        if (!isLocked(err)) {
          // The outcome is unknown (a remote KV may have applied it): never reuse its feed numbers.
          this.#seq = planned.seq;
          if (batch.length > 1) {
            // One write's fault (say, a key size the estimate missed) must not fail the others.
            const half = Math.ceil(batch.length / 2);
            await this.#commit(batch.slice(0, half));
            await this.#commit(batch.slice(half));
            return;
          }
          for (const j of batch) j.resolve(fail(`error: storage write failed: ${message(err)}`));
          return;
        }
        // SQLite busy (another isolate's connection holds the file's write lock): nothing was
        // written, so the same plan may simply be tried again after a pause.
        res = { ok: false };
        locked = true;
      }
      if (res.ok) {
        this.#seq = planned.seq;
        this.#hot?.applyOwn(this.writerId, res.versionstamp, planned.entries);
        const only = batch[0]!;
        if (relaxed && only.type === "event" && only.ev.kind === 5 && planned.results[0]!.stored) {
          // Relaxed, the commit checked only the first targets: one another writer stored between
          // our read and our commit survived it. Our tombstones refuse any later one (their
          // commits check them), so one more pass now removes every target there will ever be.
          await this.#purgeInSlices(only.ev);
        }
        batch.forEach((j, i) => {
          if (j.type === "event") this.#known.add(j.ev.id);
          j.resolve(planned.results[i]!);
        });
        return;
      }
      if (planned.unread && !locked) {
        // Something exists that an unread plan assumed absent (a duplicate, a tombstone, a
        // racing writer): plan again, reading.
        unread = false;
        continue;
      }
      // Another writer changed a key we read: read again and plan again, backing off at random
      // so two writers on the same keys stop colliding.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 ** attempt)));
    }
    for (const j of batch) j.resolve(fail("error: storage is busy, try again"));
  }

  /** Delete a large deletion's targets, a slice of its tags per commit. */
  async #purgeInSlices(del: NostrEvent): Promise<void> {
    const targets = del.tags.filter((t) => (t[0] === "e" || t[0] === "a") && t[1]);
    for (let i = 0; i < targets.length; i += PURGE_SLICE) {
      const slice = { ...del, tags: targets.slice(i, i + PURGE_SLICE) };
      await new Promise<WriteResult>((resolve) =>
        this.#commit([{ type: "purge", del: slice, resolve }])
      );
    }
  }

  async #plan(batch: Job[], relaxed: boolean, unread = false): Promise<Planned> {
    const kv = this.kv;
    const ids = new Set<string>();
    const addrs = new Set<string>();
    // Tombstones matter only for the events being written, not for deletion targets.
    const own = new Set<string>();
    const ownAuthor = new Map<string, string>();
    const targets = new Set<string>();
    for (const j of batch) {
      if (j.type === "remove") targets.add(j.id);
      else if (j.type === "event") {
        own.add(j.ev.id);
        ownAuthor.set(j.ev.id, j.ev.pubkey);
      }
    }
    for (const j of batch) {
      if (j.type === "remove") ids.add(j.id);
      else {
        const ev = j.type === "event" ? j.ev : j.del;
        const rs = readSet(ev);
        rs.ids.forEach((i) => {
          if (j.type === "purge" && i === ev.id) return; // the deletion itself is stored later
          ids.add(i);
          if (i !== ev.id) targets.add(i);
        });
        rs.addrs.forEach((a) => addrs.add(a));
      }
    }
    // Every key a decision reads is checked at commit: unchanged since read, or no commit.
    const checks: Deno.AtomicCheck[] = [];
    const events = new Map<string, Stored | undefined>();
    const tombs = new Set<string>();
    const pointers = new Map<string, Pointer | undefined>();
    const addrTombs = new Map<string, number | undefined>();
    const idList = [...ids];
    const addrList = [...addrs];
    const ownList = [...own];
    if (unread) {
      for (const id of ownList) {
        checks.push({ key: [P.event, idBytes(id)], versionstamp: null });
        checks.push({ key: tombKey(id, ownAuthor.get(id)!), versionstamp: null });
      }
    }
    const idValues: (Uint8Array | null)[] = [];
    await Promise.all([
      // Every id read is checked: a deletion target or a removal, and a new event's own key, so
      // that a copy another writer stores meanwhile sends this plan back to read it as a
      // duplicate rather than be written (and OK'd as new) twice. (The id key changes with every
      // write or delete of its event, so checking it also covers the created index entry that
      // may hold the JSON.)
      unread ? undefined : getAll<Uint8Array>(
        kv,
        idList.map((id) => [P.event, idBytes(id)]),
        checks,
        (i, v) => idValues[i] = v,
        (i) => !relaxed || i < RELAXED_CHECKS,
      ),
      // Deletion requests are keyed by (id, deleter): only the author's own one refuses a re-send.
      unread ? undefined : getAll<string>(
        kv,
        ownList.map((id) => tombKey(id, ownAuthor.get(id)!)),
        checks,
        (i, v) => {
          if (v !== null) tombs.add(`${ownList[i]!}:${ownAuthor.get(ownList[i]!)!}`);
        },
      ),
      getAll<Pointer>(
        kv,
        addrList.map(pointerKey),
        checks,
        (i, v) => pointers.set(addrList[i]!, v ?? undefined),
      ),
      getAll<number>(kv, addrList.map(addrTombstoneKey), checks, (i, v) => {
        addrTombs.set(addrList[i]!, v ?? undefined);
      }),
    ]);
    if (!unread) {
      const read = await withJson(kv, idList, idValues);
      read.forEach((e, i) => events.set(idList[i]!, storedOf(e)));
    }
    // A pointer naming an event that read as absent is read again: the reads are not one
    // snapshot, so another writer's commit of that very event may have landed between the id read
    // and the pointer read, and the copy would be taken for new (stored and OK'd twice).
    const missing = [...pointers.values()].filter((p): p is Pointer => !!p && !events.get(p.id))
      .map((p) => p.id);
    // The versions a pointer names are covered by the pointer's own check.
    // A deletion target or removal that is some address's current version takes the pointer with
    // it; the pointer is read (and checked) here, since only the event's content names the address.
    const targetAddrs = [...targets].map((id) => events.get(id)).map((s) => s && addressOf(s.event))
      .filter((a): a is string => !!a && !pointers.has(a));
    await Promise.all([
      readEvents(kv, missing).then((read) =>
        read.forEach((e, i) => events.set(missing[i]!, storedOf(e)))
      ),
      getAll<Pointer>(kv, targetAddrs.map(pointerKey), checks, (i, v) => {
        pointers.set(targetAddrs[i]!, v ?? undefined);
      }),
    ]);

    const at = Date.now();
    const now = Math.floor(at / 1000);
    const live = (
      s: Stored | undefined,
    ) => (s && (!s.expiresAt || s.expiresAt > now) ? s : undefined);
    const atomic = kv.atomic().check(...checks);
    const budget = { mutations: 2, bytes: 0, keyBytes: 0 };
    const add = (key: Deno.KvKey, bytes: number) => {
      budget.mutations++;
      budget.keyBytes += keySize(key);
      budget.bytes += bytes + keySize(key);
    };
    const jsonOf = new Map<string, Uint8Array>();
    for (const j of batch) if (j.type === "event") jsonOf.set(j.ev.id, j.json);
    // Every change to the set of stored events, in order, for this writer's change-feed log.
    const changes: Array<{ op: FeedOp; size: number; change: FeedChange }> = [];
    const ops: WriteOps = {
      put: (s) => {
        const json = jsonOf.get(s.event.id) ?? encoder.encode(JSON.stringify(s.event));
        const opt = expireOpt(s.expiresAt);
        // The JSON goes where reads find it: into every index entry when it is small (the id
        // entry then only names the created index entry that holds it), else into the id entry.
        const inline = json.length <= INLINE_MAX;
        const value = inline
          ? encodeInCreated(s.expiresAt, s.event.created_at)
          : encodeEntry(s.expiresAt, json);
        atomic.set([P.event, idBytes(s.event.id)], value, opt);
        add([P.event, idBytes(s.event.id)], value.length);
        const iv = encodeEntry(s.expiresAt, inline ? json : undefined);
        for (const k of indexKeys(s.event)) {
          atomic.set(k, iv, opt);
          add(k, iv.length);
        }
        events.set(s.event.id, s);
        changes.push({
          op: putOp(json, s.expiresAt),
          size: json.length,
          change: { ev: s.event, expiresAt: s.expiresAt },
        });
      },
      delete: (s) => {
        atomic.delete([P.event, idBytes(s.event.id)]);
        add([P.event, idBytes(s.event.id)], 0);
        for (const k of [...indexKeys(s.event), ...legacyIndexKeys(s.event)]) {
          atomic.delete(k);
          add(k, 0);
        }
        events.set(s.event.id, undefined);
        changes.push({ op: removeOp(s.event.id), size: 40, change: { removed: s.event.id } });
      },
      setPointer: (a, p, expiresAt) => {
        atomic.set(pointerKey(a), p, expireOpt(expiresAt));
        add(pointerKey(a), 80);
        pointers.set(a, p);
      },
      deletePointer: (a) => {
        atomic.delete(pointerKey(a));
        add(pointerKey(a), 0);
        pointers.set(a, undefined);
      },
      setTombstone: (id, pk) => {
        atomic.set(tombKey(id, pk), 1);
        add(tombKey(id, pk), 8);
        tombs.add(`${id}:${pk}`);
      },
      setAddressTombstone: (a, t) => {
        atomic.set(addrTombstoneKey(a), t);
        add(addrTombstoneKey(a), 10);
        addrTombs.set(a, t);
      },
    };
    const state = {
      event: (id: string) => live(events.get(id)),
      tombstone: (id: string, pk: string) => tombs.has(`${id}:${pk}`),
      pointer: (a: string) => {
        const p = pointers.get(a);
        return p && live(events.get(p.id)) ? p : undefined;
      },
      addressTombstone: (a: string) => addrTombs.get(a),
    };
    const results: WriteResult[] = [];
    for (const j of batch) {
      if (j.type === "purge") {
        deleteTargets(state, ops, j.del);
        results.push({ verdict: [true, ""], stored: false });
        continue;
      }
      if (j.type === "remove") {
        const s = state.event(j.id);
        if (!s) {
          results.push({ verdict: [true, ""], stored: false });
          continue;
        }
        ops.delete(s);
        const addr = addressOf(s.event);
        if (addr && pointers.get(addr)?.id === j.id) ops.deletePointer(addr);
        results.push({ verdict: [true, ""], stored: true });
        continue;
      }
      const expiresAt = this.#retention(j.ev, now) ?? 0;
      results.push(applyEvent(state, ops, j.ev, expiresAt));
    }
    // Feed: one entry per chunk of changes, numbered after this writer's last commit.
    let seq = this.#seq;
    const seqOf = new Map<string, number>();
    const entries: Array<{ seq: number; changes: FeedChange[] }> = [];
    for (let i = 0; i < changes.length;) {
      const chunk: FeedOp[] = [];
      const entry = { seq: ++seq, changes: [] as FeedChange[] };
      let size = 0;
      // A feed entry must not keep a job's JSON past the job's own retention.
      let expireIn = this.#feedTtlMs;
      while (i < changes.length && (chunk.length === 0 || size + changes[i]!.size < FEED_CHUNK)) {
        const { op, size: n, change } = changes[i++]!;
        size += n;
        if ("ev" in change) {
          seqOf.set(change.ev.id, seq);
          if (change.expiresAt) {
            // Floor of a minute, so one short-lived job cannot hurry its chunk-mates out of the
            // feed.
            expireIn = Math.min(expireIn, Math.max(60_000, change.expiresAt * 1000 - Date.now()));
          }
        }
        chunk.push(op);
        entry.changes.push(change);
      }
      atomic.set([P.feed, this.writerId, seq], { ops: chunk, t: at } satisfies EntryValue, {
        expireIn,
      });
      add([P.feed, this.writerId, seq], size);
      entries.push(entry);
    }
    if (seq > this.#seq) {
      // The head outlives the entries so tailers keep their place across quiet spells.
      atomic.set([P.feedHead, this.writerId], seq, { expireIn: 24 * 3600_000 });
      // A sum never conflicts. It wakes the watchers of every isolate, and it counts the entries
      // ever written, which tells a reader whether it has seen every change (see HotMirror).
      atomic.sum([P.feedBump], BigInt(seq - this.#seq));
    }
    batch.forEach((j, i) => {
      if (j.type === "event" && results[i]!.stored) {
        results[i]!.seq = seqOf.get(j.ev.id);
        results[i]!.at = at;
      }
    });
    const overOthers = budget.mutations > BUDGET.mutations || budget.bytes > BUDGET.bytes ||
      budget.keyBytes > BUDGET.keyBytes;
    const overChecks = checks.length > BUDGET.checks;
    return {
      atomic,
      results,
      overBudget: overOthers || overChecks,
      overChecksOnly: overChecks && !overOthers,
      unread,
      seq,
      entries,
    };
  }
}

interface Planned {
  atomic: Deno.AtomicOperation;
  /** Planned without reading: the atomic checks the events and their tombstones are absent. */
  unread: boolean;
  /** This writer's feed position once the atomic commits. */
  seq: number;
  /** The feed entries the atomic writes. */
  entries: Array<{ seq: number; changes: FeedChange[] }>;
  results: WriteResult[];
  overBudget: boolean;
  /** Over the 100-check limit but within every other limit. */
  overChecksOnly: boolean;
}

/** The stored event of an id entry read with its JSON (see readEvents), if any. */
function storedOf(e: Entry | undefined): Stored | undefined {
  return e?.j ? { event: decodeEvent(e.j), expiresAt: e.x } : undefined;
}

/**
 * Deno KV refuses an expireIn much beyond 3e4 years (1e13 s from now failed, 1e12 passed), and a
 * refused mutation fails the whole commit, so an expiry past this one is left to the read-time check.
 */
const MAX_EXPIRE_IN_MS = 1000 * 365 * 24 * 3600_000;

function expireOpt(expiresAt: number): { expireIn: number } | undefined {
  if (!expiresAt) return undefined;
  const ms = expiresAt * 1000 - Date.now();
  return ms > MAX_EXPIRE_IN_MS ? undefined : { expireIn: Math.max(1000, ms) };
}

/** The key recording that `pubkey` asked to delete event `id`. */
function tombKey(id: string, pubkey: string): Deno.KvKey {
  return [P.tombstone, idBytes(id), idBytes(pubkey)];
}

/** Read keys (see getManyAll), recording a check of each one read when asked. */
async function getAll<T>(
  kv: Deno.Kv,
  keys: Deno.KvKey[],
  checks: Deno.AtomicCheck[] | undefined,
  each: (i: number, v: T | null) => void,
  checked: (i: number) => boolean = () => true,
): Promise<void> {
  (await getManyAll<T>(kv, keys)).forEach((r, i) => {
    if (checked(i)) checks?.push({ key: r.key, versionstamp: r.versionstamp });
    each(i, r.value);
  });
}

/** How many checks a write adds to an atomic (see #plan), to fill batches up to the limit. */
function checkCost(j: Job): number {
  if (j.type === "remove") return 1;
  const rs = readSet(j.type === "event" ? j.ev : j.del);
  // The event's own key and tombstone, each deletion target, and pointer + tombstone per address.
  return rs.ids.length + (j.type === "event" ? 1 : 0) + rs.addrs.length * 2;
}

function fail(msg: string): WriteResult {
  const verdict: Verdict = [false, msg];
  return { verdict, stored: false };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
