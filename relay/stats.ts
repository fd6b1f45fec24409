/** @module Counters kept as messages flow, so reading them never scans anything. */
import { prefixOf } from "./reason.ts";

/** Live counters of one isolate. */
export class Stats {
  readonly startedAt = Date.now();
  connections = 0;
  peakConnections = 0;
  received = 0;
  stored = 0;
  duplicates = 0;
  delivered = 0;
  refused = new Map<string, number>();
  kinds = new Map<number, number>();

  /** Count a refusal under its reason prefix. */
  refuse(reason: string): void {
    const p = prefixOf(reason) || "other";
    this.refused.set(p, (this.refused.get(p) ?? 0) + 1);
  }

  /** Count a connection opening. */
  open(): void {
    this.connections++;
    if (this.connections > this.peakConnections) this.peakConnections = this.connections;
  }

  /** Count a connection closing. */
  close(): void {
    this.connections--;
  }

  /** Count an accepted event of a kind. */
  accept(kind: number): void {
    this.stored++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
}
