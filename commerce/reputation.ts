/**
 * @module NIP-32 reputation: counts of labels (kind 1985) by namespace and value, per pubkey the
 * labels target with `p` tags. Only labels from someone other than the target count: a label a
 * provider puts on itself is a claim, not reputation.
 */
import type { NostrEvent } from "../nostr/types.ts";

/** namespace -> label value -> count. */
export type ReputationCounts = Record<string, Record<string, number>>;

interface Counted {
  author: string;
  targets: string[];
  pairs: Array<[string, string]>;
}

/** Label counts per target pubkey, bounded in both targets and remembered labels. */
export class Reputation {
  #byTarget = new Map<string, Map<string, Map<string, number>>>();
  #labels = new Map<string, Counted>();
  readonly maxTargets: number;
  readonly maxLabels: number;

  constructor(maxTargets = 10_000, maxLabels = 50_000) {
    this.maxTargets = maxTargets;
    this.maxLabels = maxLabels;
  }

  /** Count a kind 1985 label event. */
  add(ev: NostrEvent): void {
    if (ev.kind !== 1985 || this.#labels.has(ev.id)) return;
    const namespaces = ev.tags.filter((t) => t[0] === "L" && t[1]).map((t) => t[1]!);
    const pairs: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const t of ev.tags) {
      if (t[0] !== "l" || !t[1]) continue;
      // NIP-32: the mark names the namespace; without one, a lone L tag is meant, else "ugc".
      const ns = t[2] || (namespaces.length === 1 ? namespaces[0]! : "ugc");
      // One label event says a value once: repeating its tag is no second opinion.
      const key = `${ns}\u0000${t[1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push([ns, t[1]]);
    }
    const targets = [
      ...new Set(
        ev.tags.filter((t) => t[0] === "p" && t[1] && t[1] !== ev.pubkey).map((t) => t[1]!),
      ),
    ];
    if (pairs.length === 0 || targets.length === 0) return;
    this.#labels.set(ev.id, { author: ev.pubkey, targets, pairs });
    if (this.#labels.size > this.maxLabels) {
      this.#labels.delete(this.#labels.keys().next().value!);
    }
    for (const target of targets) this.#bump(target, pairs, 1);
  }

  /** Undo a label its author deleted (NIP-09). */
  remove(labelId: string, deleter: string): void {
    const c = this.#labels.get(labelId);
    if (!c || c.author !== deleter) return;
    this.#labels.delete(labelId);
    for (const target of c.targets) this.#bump(target, c.pairs, -1);
  }

  /** The counts for one pubkey (empty when nobody labelled it). */
  of(pubkey: string): ReputationCounts {
    const out: ReputationCounts = {};
    const m = this.#byTarget.get(pubkey);
    if (!m) return out;
    for (const [ns, values] of m) {
      const o: Record<string, number> = {};
      for (const [v, n] of values) if (n > 0) o[v] = n;
      if (Object.keys(o).length > 0) out[ns] = o;
    }
    return out;
  }

  #bump(target: string, pairs: Array<[string, string]>, by: number): void {
    let m = this.#byTarget.get(target);
    if (!m) {
      if (by < 0) return;
      m = new Map();
      this.#byTarget.set(target, m);
      if (this.#byTarget.size > this.maxTargets) {
        this.#byTarget.delete(this.#byTarget.keys().next().value!);
      }
    }
    for (const [ns, value] of pairs) {
      let values = m.get(ns);
      if (!values) m.set(ns, values = new Map());
      values.set(value, Math.max(0, (values.get(value) ?? 0) + by));
    }
  }
}
