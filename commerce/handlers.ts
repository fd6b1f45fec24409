/**
 * @module NIP-89 handler announcements (kind 31990) of job providers: the newest version per
 * author and `d`, the job kinds announced in `k` tags, and name/about from the content metadata.
 */
import { dTag } from "../nostr/kinds.ts";
import type { NostrEvent } from "../nostr/types.ts";

/** One provider's handler announcement. */
export interface Handler {
  id: string;
  pubkey: string;
  d: string;
  kinds: number[];
  name?: string;
  about?: string;
  created_at: number;
}

/** True for NIP-90 job request kinds. */
export function isJobRequestKind(kind: number): boolean {
  return kind >= 5000 && kind <= 5999;
}

/** Current handlers of job kinds, keyed by author and `d`, bounded in number. */
export class Handlers {
  #byAddr = new Map<string, Handler>();
  readonly max: number;

  constructor(max = 5_000) {
    this.max = max;
  }

  /** Apply a 31990 announcement; older versions than the one held are ignored. */
  add(ev: NostrEvent): void {
    if (ev.kind !== 31990) return;
    const d = dTag(ev.tags);
    const addr = `${ev.pubkey}:${d}`;
    const cur = this.#byAddr.get(addr);
    if (
      cur &&
      (cur.created_at > ev.created_at || (cur.created_at === ev.created_at && cur.id <= ev.id))
    ) {
      return;
    }
    const kinds = [
      ...new Set(
        ev.tags.filter((t) => t[0] === "k" && /^\d{1,5}$/.test(t[1] ?? "")).map((t) =>
          Number(t[1])
        ),
      ),
    ].sort((a, b) => a - b);
    this.#byAddr.delete(addr);
    // Only announcements of job kinds make an agent a provider; other handlers are apps.
    if (!kinds.some(isJobRequestKind)) return;
    this.#byAddr.set(addr, {
      id: ev.id,
      pubkey: ev.pubkey,
      d,
      kinds,
      ...metadata(ev.content),
      created_at: ev.created_at,
    });
    if (this.#byAddr.size > this.max) this.#byAddr.delete(this.#byAddr.keys().next().value!);
  }

  /** Apply a kind 5 deletion: by event id or by `31990:<author>:<d>` address, author only. */
  remove(del: NostrEvent): void {
    for (const t of del.tags) {
      if (t[0] === "e" && t[1]) {
        for (const [addr, h] of this.#byAddr) {
          if (h.id === t[1] && h.pubkey === del.pubkey) this.#byAddr.delete(addr);
        }
      } else if (t[0] === "a" && t[1]?.startsWith(`31990:${del.pubkey}:`)) {
        const addr = `${del.pubkey}:${t[1].slice(6 + 65)}`;
        const h = this.#byAddr.get(addr);
        if (h && h.created_at <= del.created_at) this.#byAddr.delete(addr);
      }
    }
  }

  /** Every current handler. */
  all(): Handler[] {
    return [...this.#byAddr.values()];
  }
}

/** name and about from kind-0 style JSON content, if present and sane. */
function metadata(content: string): { name?: string; about?: string } {
  if (!content.startsWith("{")) return {};
  try {
    const m = JSON.parse(content);
    const out: { name?: string; about?: string } = {};
    if (typeof m?.name === "string") out.name = m.name.slice(0, 100);
    else if (typeof m?.display_name === "string") out.name = m.display_name.slice(0, 100);
    if (typeof m?.about === "string") out.about = m.about.slice(0, 500);
    return out;
  } catch {
    return {};
  }
}
