/**
 * @module The relay: the store, the policies, the live-subscription index and fan-out, shared by
 * every connection of an isolate. Transport-free: connections plug in through `Connection`.
 */
import type { Config } from "../config.ts";
import { eventJson, type NStore } from "../kv/store.ts";
import { isExpired } from "../nostr/kinds.ts";
import { RecentIds } from "../nostr/recent_ids.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { inlineVerifier, type Verifier } from "../nostr/verifier.ts";
import type { Connection } from "./connection.ts";
import { type EventPolicy, type FilterPolicy, pipeEvent, pipeFilter } from "./policy.ts";
import { authForReads, authForWrites } from "./policies/auth.ts";
import { noAuthEvents } from "./policies/auth_events.ts";
import { notExpired } from "./policies/expiration.ts";
import { minPow } from "./policies/pow.ts";
import { canRead, privateNeedsAuth } from "./policies/privacy.ts";
import { protectedEvents } from "./policies/protected.ts";
import { eventRateLimit, reqRateLimit } from "./policies/rate_limit.ts";
import { createdAtWindow } from "./policies/timestamps.ts";
import { Stats } from "./stats.ts";
import { type Sub, SubIndex } from "./subscriptions.ts";

/** Called after an event is durably stored (or accepted, for ephemeral kinds). */
export type EventHook = (
  ev: NostrEvent,
  json: string,
  seq: number | undefined,
  at: number,
) => void;

/** Options for building a relay. */
export interface RelayOptions {
  config: Readonly<Config>;
  store: NStore;
  /** Extra event policies, run after the built-in ones. */
  eventPolicies?: EventPolicy[];
  /** Extra filter policies, run after the built-in ones. */
  filterPolicies?: FilterPolicy[];
  /** Where EVENT signatures are checked; on this thread by default. */
  verifier?: Verifier;
}

/** One isolate's relay. */
export class Relay {
  readonly config: Readonly<Config>;
  readonly store: NStore;
  readonly verifier: Verifier;
  readonly stats = new Stats();
  readonly subs = new SubIndex<Connection>();
  readonly connections = new Set<Connection>();
  /** Checks an EVENT passes before its signature is checked (cheap refusals first). */
  readonly eventPolicy: EventPolicy;
  /** Checks an EVENT passes once its signature is known good: those that trust its pubkey. */
  readonly signedEventPolicy: EventPolicy;
  /** Checks an AUTH passes before its signature is checked. */
  readonly authPolicy: EventPolicy;
  readonly filterPolicy: FilterPolicy;
  /** Hooks run after an event is accepted here (on-event-saved); e.g. cross-isolate broadcast. */
  readonly onAccepted: EventHook[] = [];
  /**
   * Hooks run once per event this isolate learns of, from any path (local, other isolates, feed),
   * with the time the accepting isolate took it in (the same on every isolate when known).
   */
  readonly onDelivered: Array<(ev: NostrEvent, at: number) => void> = [];
  #recent = new RecentIds(50_000);

  constructor(opts: RelayOptions) {
    this.config = opts.config;
    this.store = opts.store;
    this.verifier = opts.verifier ?? inlineVerifier;
    const c = opts.config;
    const rate = c.rateLimits ? eventRateLimit(c.eventRate) : undefined;
    this.eventPolicy = pipeEvent(
      noAuthEvents,
      authForWrites(c.auth),
      ...(rate ? [rate.perConnection] : []),
      protectedEvents,
      createdAtWindow(c.createdAtLowerLimit, c.createdAtUpperLimit),
      notExpired,
      minPow(c.minPowDifficulty),
      ...(opts.eventPolicies ?? []),
    );
    this.signedEventPolicy = pipeEvent(...(rate ? [rate.perPubkey] : []));
    this.authPolicy = pipeEvent(...(rate ? [rate.perConnection] : []));
    this.filterPolicy = pipeFilter(
      authForReads(c.auth),
      privateNeedsAuth,
      ...(c.rateLimits ? [reqRateLimit(c.reqRate)] : []),
      ...(opts.filterPolicies ?? []),
    );
  }

  /** An event this isolate accepted (`at`: when its store took it in): deliver it, run hooks. */
  accepted(ev: NostrEvent, seq: number | undefined, at = Date.now()): void {
    // The store kept the JSON it wrote; ephemeral events are serialised here.
    const json = eventJson(ev);
    this.deliver(ev, json, at);
    for (const h of this.onAccepted) h(ev, json, seq, at);
  }

  /** True when this isolate delivered the event lately (so a copy would reach no one). */
  deliveredLately(id: string): boolean {
    return this.#recent.has(id);
  }

  /** Deliver an event to every matching live subscription of this isolate, at most once per event. */
  deliver(ev: NostrEvent, json: string, at = Date.now()): void {
    if (!this.#recent.add(ev.id)) return;
    for (const h of this.onDelivered) h(ev, at);
    // NIP-40: relays SHOULD NOT send expired events. One can expire on its way here (a commit that
    // ends after its deadline, the feed's delay between processes): then it is not sent.
    if (isExpired(ev.tags)) return;
    for (const sub of this.subs.match(ev)) {
      if (!canRead(ev, sub.conn)) continue;
      sub.conn.pushEvent(sub as Sub<Connection>, ev, json);
    }
  }
}
