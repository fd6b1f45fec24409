/**
 * @module One client connection: parses NIP-01/42/45 messages, applies policies, answers with
 * OK, EOSE, CLOSED, COUNT and NOTICE. Knows nothing of sockets: it writes through a Transport.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { eventJson } from "../kv/store.ts";
import { codePoints, parseEvent } from "../nostr/event.ts";
import { parseFilter } from "../nostr/filter.ts";
import { isEphemeral, isExpired } from "../nostr/kinds.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { checkAuth } from "./auth.ts";
import type { ConnInfo } from "./policy.ts";
import { canRead, isPrivateKind } from "./policies/privacy.ts";
import { reason } from "./reason.ts";
import type { Relay } from "./relay.ts";
import type { Sub } from "./subscriptions.ts";

/** Where a connection's outgoing messages go. */
export interface Transport {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes sent but not yet written to the network (the socket's `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** False once a close has started (sends are then dropped). */
  readonly open: boolean;
}

interface LiveSub extends Sub<Connection> {
  /**
   * Live events held back while the stored query runs and its answer is sent, so EOSE comes first
   * and nothing repeats.
   */
  held: Array<[NostrEvent, string]> | undefined;
  /** Bytes of JSON in `held`: unsent bytes like any other, so they count against the cap. */
  heldBytes: number;
  /**
   * Ids sent from the store, kept for a while after EOSE: an event another isolate or process
   * stored just before the query can still arrive live (BroadcastChannel, or the feed up to a poll
   * later) and must not be sent twice.
   */
  sent?: Set<string>;
  /** Values in its filters' lists: what it holds in memory and in the live index. */
  values: number;
  /** Aborted when a REQ of the same id replaces it, or a CLOSE ends it, while it reads the store. */
  reading?: AbortController;
}

/**
 * The id of an EVENT, read without parsing. The event is the message's only object, so the first
 * `"id":` key is its id (an `"id"` inside a string has its quotes escaped).
 */
const ID_IN_MESSAGE = /"id"\s*:\s*"([0-9a-f]{64})"/;
const EVENT_VERB = /^\s*\[\s*"(EVENT|AUTH)"/;
/** How far from either end of an unparseable EVENT or AUTH its id is looked for. */
const ID_SCAN = 65536;
/**
 * The subscription id of a REQ or COUNT, read without parsing (plain ids only: 64 characters are
 * up to 128 UTF-16 units).
 */
const SUB_IN_MESSAGE = /^\s*\[\s*"(?:REQ|COUNT)"\s*,\s*"([^"\\]{1,128})"/;

/** The NOTICE a client gets before it is disconnected for leaving too much unread. */
export const SLOW_CONSUMER = "error: you are not reading fast enough, closing";

/** A client connection's protocol state. */
export class Connection implements ConnInfo {
  readonly challenge = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  readonly pubkeys = new Set<string>();
  readonly subs = new Map<string, LiveSub>();
  #closed = false;
  #opened = false;
  /** Aborts this connection's store reads when it closes: nobody is left to answer. */
  #reads = new AbortController();

  constructor(
    readonly relay: Relay,
    readonly transport: Transport,
    readonly ip: string,
    /** The relay URL the AUTH `relay` tag must name. */
    readonly relayUrl: string,
  ) {}

  /** Greet the client: every connection gets its own NIP-42 challenge at once. */
  open(): void {
    if (this.#closed || this.#opened) return;
    this.#opened = true;
    this.relay.connections.add(this);
    this.relay.stats.open();
    this.send(["AUTH", this.challenge]);
  }

  /** Free every subscription; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reads.abort();
    for (const sub of this.subs.values()) this.relay.subs.remove(sub);
    this.subs.clear();
    // A socket can fail before it ever opened: only what open() counted is uncounted.
    if (!this.#opened) return;
    this.relay.connections.delete(this);
    this.relay.stats.close(this.pubkeys);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Send a message (as a JSON value, or a pre-serialised string). */
  send(msg: unknown[] | string): void {
    if (this.#closed) return;
    this.transport.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Handle one incoming frame. */
  async message(data: string | ArrayBuffer | Blob | Uint8Array): Promise<void> {
    if (typeof data !== "string") {
      return this.notice(reason("invalid", "binary frames are not supported, send JSON text"));
    }
    if (data === "ping") return this.send("pong"); // Pylon clients keep alive with a text ping.
    const limit = this.relay.config.maxMessageLength;
    if (data.length > limit || (data.length * 3 > limit && utf8Length(data) > limit)) {
      return this.#refuseUnread(
        data,
        reason("invalid", `message is larger than ${limit} bytes`),
        false,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return this.#refuseUnread(data, reason("invalid", "message is not valid JSON"), true);
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== "string") {
      return this.notice(reason("invalid", "message must be a JSON array starting with a verb"));
    }
    try {
      switch (parsed[0]) {
        case "EVENT":
          return await this.#onEvent(parsed);
        case "REQ":
          return await this.#onReq(parsed);
        case "COUNT":
          return await this.#onCount(parsed);
        case "CLOSE":
          return this.#onClose(parsed);
        case "AUTH":
          return this.#onAuth(parsed);
        default:
          return this.notice(
            reason("invalid", `unknown message type ${JSON.stringify(parsed[0])}`),
          );
      }
    } catch (err) {
      console.error("error handling message:", err);
      this.notice(reason("error", "internal error handling the message"));
    }
  }

  /**
   * Refuse a message that cannot be parsed (too large, or not JSON) with the answer its client
   * waits for, read from the raw text: NIP-01 answers every EVENT with OK (NIP-42 asks the same for
   * AUTH) and a refused REQ or COUNT with CLOSED; a NOTICE for clients that watch notices. Issue 2
   * asks malformed JSON for a NOTICE, and a client may take the next frame for it, so there it goes
   * first (`noticeFirst`); an oversized message keeps the answers it always had: an OK alone, or
   * CLOSED then NOTICE.
   */
  #refuseUnread(data: string, msg: string, noticeFirst: boolean): void {
    if (noticeFirst) this.notice(msg);
    // Serialisers put the id before or after the content (as nostr-tools does): both ends.
    const verb = EVENT_VERB.exec(data.slice(0, 64))?.[1];
    const id = verb
      ? ID_IN_MESSAGE.exec(data.slice(0, ID_SCAN))?.[1] ??
        ID_IN_MESSAGE.exec(data.slice(-ID_SCAN))?.[1]
      : undefined;
    if (id) {
      // An EVENT, refused: received and refused add up. (An AUTH's refusal is not an event's.)
      if (verb === "EVENT") {
        this.relay.stats.receive();
        this.relay.stats.refuse(msg);
      }
      return this.send(["OK", id, false, msg]);
    }
    const sub = SUB_IN_MESSAGE.exec(data.slice(0, 300))?.[1];
    if (sub !== undefined) {
      // As for any refused REQ: the live subscription of that id ends too.
      const live = this.subs.get(sub);
      if (live) this.#end(live);
      this.relay.stats.refuse(msg);
      this.send(["CLOSED", sub, msg]);
    }
    if (!noticeFirst) this.notice(msg);
  }

  /** Queue a live event for a subscription (called by the relay's fan-out). */
  pushEvent(sub: Sub<Connection>, ev: NostrEvent, json: string): void {
    const live = sub as LiveSub;
    if (this.subs.get(live.id) !== live) return;
    if (live.held) {
      live.held.push([ev, json]);
      live.heldBytes += json.length;
      if (live.heldBytes > this.relay.config.maxBufferedBytes) this.#slowConsumer();
      return;
    }
    if (live.sent?.has(ev.id)) return;
    this.relay.stats.deliver();
    this.send(`["EVENT",${JSON.stringify(live.id)},${json}]`);
  }

  notice(message: string): void {
    this.send(["NOTICE", message]);
  }

  /** Tell a client that leaves too much unread why it is disconnected, and disconnect it. */
  #slowConsumer(): void {
    this.notice(SLOW_CONSUMER);
    this.transport.close(1008, "slow consumer");
  }

  async #onEvent(msg: unknown[]): Promise<void> {
    const relay = this.relay;
    relay.stats.receive();
    const raw = msg[1] as Record<string, unknown> | undefined;
    const ev = parseEvent(raw, relay.config);
    if (typeof ev === "string") {
      relay.stats.refuse(ev);
      const id = typeof raw?.id === "string" ? raw.id : undefined;
      return id ? this.send(["OK", id, false, ev]) : this.notice(ev);
    }
    const now = Math.floor(Date.now() / 1000);
    const refusal = relay.eventPolicy(ev, this, now);
    if (refusal) return this.#ok(ev.id, false, refusal);
    // Synchronous on this thread; a promise when worker threads check (see nostr/verifier.ts),
    // which serve connections in turns.
    const pending = relay.verifier.verify(ev, this);
    const verified = typeof pending === "boolean" ? pending : await pending;
    if (verified === undefined) {
      return this.#ok(ev.id, false, reason("error", "the relay is shutting down"));
    }
    if (!verified) {
      return this.#ok(ev.id, false, reason("invalid", "bad event id or signature"));
    }
    const late = relay.signedEventPolicy(ev, this, now);
    if (late) return this.#ok(ev.id, false, late);
    if (isEphemeral(ev.kind)) {
      // Delivered once only: a copy is answered and counted as the duplicate it is, like a stored
      // event's, rather than as a second event no subscriber will see.
      if (relay.deliveredLately(ev.id)) {
        relay.stats.duplicates++;
        return this.#ok(ev.id, true, "duplicate: already have this event");
      }
      relay.stats.accept(ev.kind, false);
      relay.accepted(ev, undefined);
      return this.#ok(ev.id, true, "");
    }
    const res = await relay.store.event(ev, { source: this });
    if (res.stored) {
      relay.stats.accept(ev.kind);
      relay.accepted(ev, res.seq, res.at);
    } else if (res.verdict[0]) relay.stats.duplicates++;
    this.#ok(ev.id, res.verdict[0], res.verdict[1]);
  }

  #ok(id: string, ok: boolean, message: string): void {
    if (!ok) this.relay.stats.refuse(message);
    this.send(["OK", id, ok, message]);
  }

  /** Validate a REQ/COUNT's id and filters; returns them, or undefined after answering. */
  #request(msg: unknown[], verb: "REQ" | "COUNT"): { id: string; filters: Filter[] } | undefined {
    const config = this.relay.config;
    const id = msg[1];
    if (typeof id !== "string") {
      this.notice(reason("invalid", `${verb} needs a subscription id string`));
      return undefined;
    }
    const closed = (why: string) => {
      this.relay.stats.refuse(why);
      // A refused REQ or COUNT that reuses a live id ends that subscription too: the client now
      // holds CLOSED for the id, so nothing more may arrive under it.
      const live = this.subs.get(id);
      if (live) this.#end(live);
      this.send(["CLOSED", id, why]);
      return undefined;
    };
    // NIP-01 counts the id's length in characters: code points, not UTF-16 units.
    const max = config.maxSubidLength;
    if (id.length < 1 || (id.length > max && codePoints(id, max) > max)) {
      return closed(
        reason("invalid", `subscription id must be 1 to ${config.maxSubidLength} characters`),
      );
    }
    const raw = msg.slice(2);
    if (raw.length === 0) return closed(reason("invalid", `${verb} needs at least one filter`));
    if (raw.length > config.maxFilters) {
      return closed(reason("invalid", `more than ${config.maxFilters} filters`));
    }
    const filters: Filter[] = [];
    for (const r of raw) {
      const f = parseFilter(r, { maxValues: config.maxFilterValues });
      if (typeof f === "string") return closed(f);
      filters.push(f);
    }
    const refusal = this.relay.filterPolicy(filters, this, verb);
    if (refusal) return closed(refusal);
    return { id, filters };
  }

  async #onReq(msg: unknown[]): Promise<void> {
    const req = this.#request(msg, "REQ");
    if (!req) return;
    const { config, subs, store } = this.relay;
    const previous = this.subs.get(req.id);
    if (!previous && this.subs.size >= config.maxSubscriptions) {
      const why = reason("rate-limited", `at most ${config.maxSubscriptions} open subscriptions`);
      this.relay.stats.refuse(why);
      return this.send(["CLOSED", req.id, why]);
    }
    // Each value of a live filter is held, and filed in the live index, until the subscription
    // closes: a connection's subscriptions together may hold only so many.
    const values = filterValues(req.filters);
    let open = values;
    for (const s of this.subs.values()) if (s !== previous) open += s.values;
    if (open > config.maxOpenFilterValues) {
      const why = reason(
        "rate-limited",
        `at most ${config.maxOpenFilterValues} filter values in open subscriptions; close some`,
      );
      this.relay.stats.refuse(why);
      // As for any refused REQ: the id it reused is closed too.
      if (previous) this.#end(previous);
      return this.send(["CLOSED", req.id, why]);
    }
    if (previous) this.#end(previous);
    const reading = new AbortController();
    const sub: LiveSub = {
      id: req.id,
      conn: this,
      filters: req.filters,
      held: [],
      heldBytes: 0,
      values,
      reading,
    };
    this.subs.set(req.id, sub);
    subs.add(sub);
    const anonymous = this.pubkeys.size === 0;
    const stored = req.filters
      // An anonymous connection can read no private event: skip filters that only match those
      // rather than scan every stored DM to hide each one.
      .filter((f) => !anonymous || !f.kinds || !f.kinds.every(isPrivateKind))
      .map((f) => ({ ...f, limit: Math.min(f.limit ?? config.defaultLimit, config.maxLimit) }));
    let events: NostrEvent[];
    // A store told to stop returns what it found so far: never sent as the answer (checked below).
    const signal = AbortSignal.any([this.#reads.signal, reading.signal]);
    try {
      // Hidden events are skipped before the limit counts them: a filter's limit applies after
      // every condition, privacy included, so a DM never displaces a readable match.
      events = await store.query(stored, {
        visible: (ev) => canRead(ev, this),
        signal,
      });
    } catch (err) {
      console.error("query failed:", err);
      if (this.subs.get(req.id) === sub) {
        this.#end(sub);
        this.send(["CLOSED", req.id, reason("error", "query failed")]);
      }
      return;
    }
    sub.reading = undefined;
    // Replaced or closed while querying.
    if (signal.aborted || this.subs.get(req.id) !== sub) return;
    const sent = new Set<string>();
    const prefix = `["EVENT",${JSON.stringify(req.id)},`;
    let paced = true;
    for (const ev of events) {
      if (!canRead(ev, this)) continue;
      // An answer larger than the unread-bytes cap (500 long-form events can be) goes out as the
      // client reads it: queued at once, it would close a client that reads as a slow consumer.
      // One too slow to take a quarter of the cap in half the idle timeout gets the rest at once,
      // which closes it at the cap (live events held meanwhile count against it too).
      if (paced && this.transport.bufferedAmount > config.maxBufferedBytes / 2) {
        paced = await this.#drained(config.maxBufferedBytes / 4, config.idleTimeoutSeconds * 500);
        if (!this.transport.open || this.subs.get(req.id) !== sub) return;
      }
      sent.add(ev.id);
      this.send(prefix + eventJson(ev) + "]");
    }
    this.send(["EOSE", req.id]);
    const held = sub.held ?? [];
    sub.held = undefined;
    sub.sent = sent;
    // Held while the stored part was read: one may have expired meanwhile (NIP-40).
    for (const [ev, json] of held) if (!isExpired(ev.tags)) this.pushEvent(sub, ev, json);
    if (sent.size > 0) {
      // Long enough for the change feed to bring another process's events this answer already
      // held (an audit measured up to 2 s on two saturated cores): sent again, they would be
      // duplicates.
      const forget = setTimeout(
        () => sub.sent = undefined,
        Math.max(10_000, 3 * this.relay.config.feedPollMs),
      );
      Deno.unrefTimer(forget);
    }
  }

  async #onCount(msg: unknown[]): Promise<void> {
    const req = this.#request(msg, "COUNT");
    if (!req) return;
    const store = this.relay.store;
    const opts = { signal: this.#reads.signal };
    let count: number;
    try {
      count = await store.count(req.filters, opts);
      // Private kinds count only where this connection could read them (NIP-45 over NIP-42).
      const priv = req.filters.map(privatePart).filter((f): f is Filter => f !== undefined);
      if (priv.length > 0) {
        count -= await store.count(priv, opts);
        if (this.pubkeys.size > 0) count += await this.#readable(priv, opts);
      }
    } catch (err) {
      // NIP-45: a COUNT the relay cannot fulfil MUST be answered with CLOSED.
      console.error("count failed:", err);
      const why = reason("error", "count failed");
      this.relay.stats.refuse(why);
      return this.send(["CLOSED", req.id, why]);
    }
    this.send(["COUNT", req.id, { count }]);
  }

  /**
   * Wait until the client has read its socket's buffer down to `low` bytes (true) or the socket is
   * closing; false when that took longer than `ms` (half the idle timeout, before unanswered pings
   * would end it): the client stopped reading, or reads a trickle that would hold the answer and
   * the live events held behind it for as long as it liked.
   */
  async #drained(low: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.transport.open && this.transport.bufferedAmount > low) {
      if (Date.now() > deadline) return false;
      // Often enough to move a quarter of even the smallest cap many times a second, and rare
      // enough that many paced answers at once cost little.
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * How many events private filters match that this connection may read: by index while every
   * `#p` asked for is one of its pubkeys. Otherwise it reads them only as a recipient by another
   * `p` tag, which no index answers, so those are checked one by one (as a REQ's are).
   */
  #readable(priv: Filter[], opts: { signal: AbortSignal }): Promise<number> {
    const store = this.relay.store;
    if (priv.every((f) => !f["#p"] || f["#p"].every((p) => this.pubkeys.has(p)))) {
      return store.count(readableParts(priv, this.pubkeys), opts);
    }
    return store.count(priv, { ...opts, visible: (ev) => canRead(ev, this) });
  }

  /** End a subscription: no more live events, and a stored read still running stops early. */
  #end(sub: LiveSub): void {
    if (this.subs.get(sub.id) === sub) this.subs.delete(sub.id);
    this.relay.subs.remove(sub);
    sub.reading?.abort();
  }

  #onClose(msg: unknown[]): void {
    const id = msg[1];
    if (typeof id !== "string") {
      return this.notice(reason("invalid", "CLOSE needs a subscription id"));
    }
    const sub = this.subs.get(id);
    if (sub) this.#end(sub);
  }

  #onAuth(msg: unknown[]): void {
    const ev = parseEvent(msg[1], this.relay.config);
    if (typeof ev === "string") {
      const id = (msg[1] as { id?: unknown } | undefined)?.id;
      return typeof id === "string" ? this.send(["OK", id, false, ev]) : this.notice(ev);
    }
    // An AUTH is not an EVENT: its refusals are answered but not counted as refused events.
    const failure = this.relay.authPolicy(ev, this, Math.floor(Date.now() / 1000)) ??
      checkAuth(ev, this.challenge, this.relay.config.relayUrl ?? this.relayUrl);
    if (failure) return this.send(["OK", ev.id, false, failure]);
    this.relay.stats.authenticate(ev.pubkey, this.pubkeys);
    this.pubkeys.add(ev.pubkey);
    this.send(["OK", ev.id, true, ""]);
  }
}

const PRIVATE = [4, 1059];

/** The values in the filters' lists (ids, authors, kinds, tags), plus one for each filter. */
function filterValues(filters: Filter[]): number {
  let n = 0;
  for (const f of filters) {
    n++;
    for (const v of Object.values(f)) if (Array.isArray(v)) n += v.length;
  }
  return n;
}

/** The part of a filter that can match private kinds, or undefined when it cannot. */
function privatePart(f: Filter): Filter | undefined {
  const kinds = f.kinds ? f.kinds.filter((k) => PRIVATE.includes(k)) : PRIVATE;
  return kinds.length > 0 ? { ...f, kinds, limit: undefined } : undefined;
}

/**
 * Narrow private filters to what a connection may read (author or `p` recipient is one of its
 * pubkeys), so counting them is an index scan rather than a read of every stored DM. Exact only
 * when every `#p` value of a filter is one of the pubkeys (see `#readable`).
 */
function readableParts(filters: Filter[], pubkeys: ReadonlySet<string>): Filter[] {
  const mine = [...pubkeys];
  const out: Filter[] = [];
  for (const f of filters) {
    const authors = f.authors ? f.authors.filter((a) => pubkeys.has(a)) : mine;
    if (authors.length > 0) out.push({ ...f, authors });
    const ps = f["#p"] ? f["#p"].filter((p) => pubkeys.has(p)) : mine;
    if (ps.length > 0) out.push({ ...f, "#p": ps });
  }
  return out;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
