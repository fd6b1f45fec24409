/** @module Counters kept as messages flow, so reading them never scans anything. Pure: no IO. */
import { kindClass, kindRole } from "../nostr/kinds.ts";
import { prefixOf } from "./reason.ts";
import { SecondWindow } from "./stats_window.ts";

/** Kind classes the HUD breaks events down by: NIP-01 storage classes, then commerce roles. */
export const KIND_CLASSES = [
  "regular",
  "replaceable",
  "ephemeral",
  "addressable",
  "job_request",
  "job_result",
  "job_feedback",
  "handler",
  "label",
] as const;

/** One of KIND_CLASSES. */
export type KindClassName = typeof KIND_CLASSES[number];

/** The event flows that get a per-second window. */
export const FLOWS = ["received", "stored", "delivered", "refused"] as const;

/** One of FLOWS. */
export type Flow = typeof FLOWS[number];

/** Live counters of one isolate. */
export class Stats {
  readonly startedAt: number;
  connections = 0;
  peakConnections = 0;
  /** Connections that completed AUTH at least once. */
  authenticatedConnections = 0;
  received = 0;
  stored = 0;
  /** Ephemeral events accepted (delivered live, never stored). */
  ephemeral = 0;
  duplicates = 0;
  delivered = 0;
  refusedTotal = 0;
  readonly refused = new Map<string, number>();
  readonly kinds = new Map<number, number>();
  readonly classes = new Map<KindClassName, number>();
  /** Per-second counts of each flow over the last hour. */
  readonly windows: Record<Flow, SecondWindow>;
  // Pubkey -> how many open connections are authenticated as it, for "distinct agents now".
  readonly #agents = new Map<string, number>();

  constructor(readonly clock: () => number = Date.now) {
    this.startedAt = clock();
    this.windows = {
      received: new SecondWindow(),
      stored: new SecondWindow(),
      delivered: new SecondWindow(),
      refused: new SecondWindow(),
    };
  }

  /** Distinct pubkeys authenticated on open connections. */
  get agents(): number {
    return this.#agents.size;
  }

  /** Up to `max` of those pubkeys, each cut to `chars` hex characters, end to end in one string. */
  agentKeys(max: number, chars: number): string {
    const out: string[] = [];
    for (const pk of this.#agents.keys()) {
      if (out.length >= max) break;
      out.push(pk.slice(0, chars));
    }
    return out.join("");
  }

  #tick(flow: Flow): void {
    this.windows[flow].add(Math.floor(this.clock() / 1000));
  }

  /** Count an EVENT message received. */
  receive(): void {
    this.received++;
    this.#tick("received");
  }

  /** Count an event sent to a live subscription. */
  deliver(): void {
    this.delivered++;
    this.#tick("delivered");
  }

  /** Count a refusal under its reason prefix. */
  refuse(reason: string): void {
    const p = prefixOf(reason) || "other";
    this.refused.set(p, (this.refused.get(p) ?? 0) + 1);
    this.refusedTotal++;
    this.#tick("refused");
  }

  /** Count a connection opening. */
  open(): void {
    this.connections++;
    if (this.connections > this.peakConnections) this.peakConnections = this.connections;
  }

  /** Count a connection closing, with the pubkeys it had authenticated as. */
  close(pubkeys: Iterable<string> = []): void {
    this.connections--;
    let any = false;
    for (const pk of pubkeys) {
      any = true;
      const n = (this.#agents.get(pk) ?? 0) - 1;
      if (n > 0) this.#agents.set(pk, n);
      else this.#agents.delete(pk);
    }
    if (any) this.authenticatedConnections--;
  }

  /** Count a successful AUTH; call before adding the pubkey to the connection's set. */
  authenticate(pubkey: string, connPubkeys: ReadonlySet<string>): void {
    if (connPubkeys.has(pubkey)) return;
    if (connPubkeys.size === 0) this.authenticatedConnections++;
    this.#agents.set(pubkey, (this.#agents.get(pubkey) ?? 0) + 1);
  }

  /** Count an accepted event of a kind: stored, or (ephemeral) delivered live only. */
  accept(kind: number, stored = true): void {
    if (stored) {
      this.stored++;
      this.#tick("stored");
    } else this.ephemeral++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    this.#count(kindClass(kind));
    const role = kindRole(kind);
    if (role) this.#count(role.replace("-", "_") as KindClassName);
  }

  #count(c: KindClassName): void {
    this.classes.set(c, (this.classes.get(c) ?? 0) + 1);
  }
}
